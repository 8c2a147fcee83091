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
	// TripletCosine is the paper's loss (Singh et al., ECCV 2020, Eq. 5) as
	// the authors' code computes it (cifar/loss_art.py of
	// nupurkmr9/Attributional-Robustness): softplus(d(x̂, g_y) - d(x̂, g_n))
	// with d(u, v) = 1 - cos(u, v), x̂ = (x - mean)/std the normalised image,
	// g_c the gradient of logit c with respect to x̂ and n the
	// highest-scoring wrong class, over the batch [x; x'] with hard mining
	// across each pair: the positive distance of an anchor is the larger of
	// its distances to g_y(x) and g_y(x'), the negative the smaller of those
	// to g_n(x) and g_n(x') (the cross term is the bound of Eq. 4).
	TripletCosine Objective = iota
	// TripletL2 is the same soft-margin triplet with the Euclidean distance
	// between the unit-normalised vectors (Table 5's "Eq. 4 with L2").
	TripletL2
	// Distance drops the negative: d(x̂, g_y) alone (the larger over the
	// pair), the plain alignment of Eq. 2 (Table 5's first ablation).
	Distance
	// TripletCosineRaw is the project's first formulation, kept as an
	// ablation: the cosine against the raw [0,1] image (every entry
	// positive, so it mostly rewards a gradient with a positive mean) and
	// the gradient with respect to it, each row of [x; x'] scored on its own;
	// its inner attack takes the top-k entries from the softplus model at
	// the clean image.
	TripletCosineRaw
)

var objectiveNames = []string{"triplet-cos", "triplet-l2", "distance", "triplet-cos-raw"}

func (o Objective) String() string {
	if o < 0 || int(o) >= len(objectiveNames) {
		return fmt.Sprintf("Objective(%d)", int(o))
	}
	return objectiveNames[o]
}

// ParseObjective parses triplet-cos, triplet-l2, distance or triplet-cos-raw.
func ParseObjective(s string) (Objective, error) {
	for i, n := range objectiveNames {
		if strings.EqualFold(s, n) {
			return Objective(i), nil
		}
	}
	return 0, fmt.Errorf("unknown ART objective %q (want one of %s)", s, strings.Join(objectiveNames, ", "))
}

// distance returns the objective's distance between rows.
func (o Objective) distance() func(u, v *graph.Node) *graph.Node {
	switch o {
	case TripletL2:
		return unitL2Distance
	case TripletCosineRaw:
		return cosineDistance
	}
	return refCosineDistance
}

// gradients returns the logits of x under pass p and the input gradients
// of the true-class logit and of the hardest wrong class's, with respect to
// x itself (raw) or, with normalised, to the model's normalised input x̂
// (then anchor is x̂; otherwise x).
func gradients(net *model.Net, x, labels *graph.Node, p model.Pass, normalised bool) (anchor, gy, gn *graph.Node) {
	logits := net.Logits(x, p)
	classes := logits.Shape().Dimensions[1]
	neg := HardestNegative(logits, labels, classes)
	gy = graph.Gradient(attribution.TargetLogitSum(logits, labels), x)[0]
	gn = graph.Gradient(attribution.TargetLogitSum(logits, neg), x)[0]
	if !normalised {
		return x, gy, gn
	}
	xn, std := net.Config.Standardise(x)
	return xn, graph.Mul(gy, std), graph.Mul(gn, std)
}

// AttributionLoss is ART's attribution term for a batch x [N,H,W,C], its
// attacked copy xadv and int32 labels [N], computed with the forward pass p
// (the softplus model, so the result is differentiable with respect to the
// weights). It returns the per-anchor loss [2N] over the anchors [x; xadv],
// as the reference computes it for obj (see Objective), mined across each
// pair (x_i, x'_i) except for TripletCosineRaw.
func AttributionLoss(net *model.Net, x, xadv, labels *graph.Node, p model.Pass, obj Objective) *graph.Node {
	both := graph.Concatenate([]*graph.Node{x, xadv}, 0)
	l2 := graph.Concatenate([]*graph.Node{labels, labels}, 0)
	raw := obj == TripletCosineRaw
	anchor, gy, gn := gradients(net, both, l2, p, !raw)
	dist := obj.distance()
	if raw {
		return softplus(graph.Sub(dist(anchor, gy), dist(anchor, gn)))
	}
	anchor = graph.StopGradient(anchor)
	n := x.Shape().Dimensions[0]
	// swap pairs each row of [x; x'] with its partner in the other half.
	swap := func(v *graph.Node) *graph.Node {
		return graph.Concatenate([]*graph.Node{graph.Slice(v, graph.AxisRange(n, 2*n)), graph.Slice(v, graph.AxisRange(0, n))}, 0)
	}
	dPos := graph.Max(dist(anchor, gy), dist(anchor, swap(gy)))
	if obj == Distance {
		return dPos
	}
	dNeg := graph.Min(dist(anchor, gn), dist(anchor, swap(gn)))
	return softplus(graph.Sub(dPos, dNeg))
}

// attackLoss is the per-example loss the inner attack of ART maximises on
// x [N,...] (saliency_pgd.py's topk_alignment_saliency_attack): the
// objective's distances between the normalised image and the input
// gradients (with respect to x, as the reference takes them), unmined,
// restricted to the entries where mask is 1 (nil: all). Differentiable
// with respect to x through the anchor and the gradients.
func attackLoss(net *model.Net, x, labels, mask *graph.Node, p model.Pass, obj Objective) *graph.Node {
	_, gy, gn := gradients(net, x, labels, p, false)
	anchor := x
	if obj != TripletCosineRaw {
		anchor, _ = net.Config.Standardise(x)
	}
	if mask != nil {
		anchor, gy, gn = graph.Mul(anchor, mask), graph.Mul(gy, mask), graph.Mul(gn, mask)
	}
	dist := obj.distance()
	dPos := dist(anchor, gy)
	if obj == Distance {
		return dPos
	}
	return softplus(graph.Sub(dPos, dist(anchor, gn)))
}

// softplus is log(1 + e^x)// softplus is log(1 + e^x) computed as max(x, 0) + log1p(e^-|x|), stable
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

// refCosineDistance is 1 - cos(u_i, v_i) per row as loss_art.py's
// cosine_dist computes it: u·v / (|u| + 1e-8) / (|v| + 1e-8).
func refCosineDistance(u, v *graph.Node) *graph.Node {
	uf, vf := flat(u), flat(v)
	dot := graph.ReduceSum(graph.Mul(uf, vf), 1)
	nu := graph.AddScalar(graph.Sqrt(graph.ReduceSum(graph.Square(uf), 1)), 1e-8)
	nv := graph.AddScalar(graph.Sqrt(graph.ReduceSum(graph.Square(vf), 1)), 1e-8)
	return graph.OneMinus(graph.Div(graph.Div(dot, nu), nv))
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
