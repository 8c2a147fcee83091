package train

import (
	"fmt"
	"strings"

	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/graph"
)

// Objective selects the attribution term of ART.
type Objective int

const (
	// TripletCosine is the paper's loss (Singh et al., ECCV 2020, Eq. 5):
	// softplus(d(x, g_y) - d(x, g_n)) with d(u, v) = 1 - cos(u, v), g_c the
	// input gradient of logit c and n the highest-scoring wrong class.
	TripletCosine Objective = iota
	// TripletL2 is the same soft-margin triplet with the Euclidean distance
	// between the unit-normalised vectors (Table 5's "Eq. 4 with L2").
	TripletL2
	// Distance drops the negative: d(x, g_y) alone, the plain alignment of
	// Eq. 2 (Table 5's first ablation).
	Distance
)

var objectiveNames = []string{"triplet-cos", "triplet-l2", "distance"}

func (o Objective) String() string {
	if o < 0 || int(o) >= len(objectiveNames) {
		return fmt.Sprintf("Objective(%d)", int(o))
	}
	return objectiveNames[o]
}

// ParseObjective parses triplet-cos, triplet-l2 or distance.
func ParseObjective(s string) (Objective, error) {
	for i, n := range objectiveNames {
		if strings.EqualFold(s, n) {
			return Objective(i), nil
		}
	}
	return 0, fmt.Errorf("unknown ART objective %q (want one of %s)", s, strings.Join(objectiveNames, ", "))
}

// AttributionLoss is the per-example attribution term of ART for inputs x
// [N,H,W,C] and int32 labels [N], computed with the forward pass p (the
// softplus model, so the result is differentiable with respect to the
// weights and the input). mask, if not nil, is a 0/1 tensor like x that
// restricts the distances to the selected input entries (the reference
// code's top-k variant). The result is [N].
func AttributionLoss(net *model.Net, x, labels, mask *graph.Node, p model.Pass, obj Objective) *graph.Node {
	logits := net.Logits(x, p)
	classes := logits.Shape().Dimensions[1]
	gy := graph.Gradient(attribution.TargetLogitSum(logits, labels), x)[0]
	u := x
	if mask != nil {
		u, gy = graph.Mul(u, mask), graph.Mul(gy, mask)
	}
	dist := cosineDistance
	if obj == TripletL2 {
		dist = unitL2Distance
	}
	dPos := dist(u, gy)
	if obj == Distance {
		return dPos
	}
	neg := HardestNegative(logits, labels, classes)
	gn := graph.Gradient(attribution.TargetLogitSum(logits, neg), x)[0]
	if mask != nil {
		gn = graph.Mul(gn, mask)
	}
	return softplus(graph.Sub(dPos, dist(u, gn)))
}

// softplus is log(1 + e^x) computed as max(x, 0) + log1p(e^-|x|), stable
// for every finite x. (GoMLX's Softplus masks with IsFinite, which ONNX
// Runtime does not implement.)
func softplus(x *graph.Node) *graph.Node {
	return graph.Add(graph.MaxScalar(x, 0), graph.Log1p(graph.Exp(graph.Neg(graph.Abs(x)))))
}

// HardestNegative returns, per row, the highest-scoring class other than the
// label (int32 [N]); no gradient flows through the choice.
func HardestNegative(logits, labels *graph.Node, classes int) *graph.Node {
	l := graph.StopGradient(logits)
	onehot := graph.OneHot(labels, classes, l.DType())
	// Push the true class far below every other logit.
	masked := graph.Sub(l, graph.MulScalar(onehot, 1e9))
	return graph.ConvertDType(graph.ArgMax(masked, 1), labels.DType())
}

// flat reshapes [N,...] to [N, D].
func flat(v *graph.Node) *graph.Node { return graph.Reshape(v, v.Shape().Dimensions[0], -1) }

// cosineDistance is 1 - cos(u_i, v_i) per row of the flattened inputs.
func cosineDistance(u, v *graph.Node) *graph.Node {
	uf, vf := flat(u), flat(v)
	dot := graph.ReduceSum(graph.Mul(uf, vf), 1)
	nu := graph.Sqrt(graph.ReduceSum(graph.Square(uf), 1))
	nv := graph.Sqrt(graph.ReduceSum(graph.Square(vf), 1))
	den := graph.MaxScalar(graph.Mul(nu, nv), 1e-12)
	return graph.OneMinus(graph.Div(dot, den))
}

// unitL2Distance is || u_i/|u_i| - v_i/|v_i| ||_2 per row.
func unitL2Distance(u, v *graph.Node) *graph.Node {
	unit := func(a *graph.Node) *graph.Node {
		af := flat(a)
		n := graph.MaxScalar(graph.Sqrt(graph.ReduceAndKeep(graph.Square(af), graph.ReduceSum, 1)), 1e-12)
		return graph.Div(af, n)
	}
	d := graph.Sub(unit(u), unit(v))
	return graph.Sqrt(graph.AddScalar(graph.ReduceSum(graph.Square(d), 1), 1e-12))
}

// TopKMask returns a 0/1 mask like g marking, per image, the k entries of
// largest |g| (all ones if k <= 0 or k >= the image size). Entries tied with
// the k-th largest are all included.
//
// The k-th largest value is found by bisection on a threshold (30 halvings
// of [0, max|g|], so float32-exact): GoMLX's TopKMask compares every
// position with every top-k index ([N, D, k] booleans) and its sort runs
// single-threaded, which made it the most expensive part of an ART step.
func TopKMask(g *graph.Node, k int) *graph.Node {
	d := g.Shape().Dimensions
	a := flat(graph.StopGradient(graph.Abs(g)))
	if k <= 0 || k >= a.Shape().Dimensions[1] {
		return graph.OnesLike(g)
	}
	kf := graph.Scalar(a.Graph(), a.DType(), float64(k))
	lo := graph.ZerosLike(graph.ReduceAndKeep(a, graph.ReduceMax, 1))
	hi := graph.ReduceAndKeep(a, graph.ReduceMax, 1)
	for range 30 {
		mid := graph.MulScalar(graph.Add(lo, hi), 0.5)
		count := graph.ReduceAndKeep(graph.ConvertDType(graph.GreaterOrEqual(a, mid), a.DType()), graph.ReduceSum, 1)
		enough := graph.GreaterOrEqual(count, kf)
		lo = graph.Where(enough, mid, lo)
		hi = graph.Where(enough, hi, mid)
	}
	m := graph.ConvertDType(graph.GreaterOrEqual(a, lo), g.DType())
	return graph.Reshape(m, d...)
}
