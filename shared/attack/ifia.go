package attack

import (
	"fmt"
	"math"
	"strings"

	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/metric"
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Objective is what an IFIA step pushes on.
type Objective int

const (
	// TopKObjective pushes the saliency mass out of the clean map's top-k
	// pixels: the "top-k attack" of Ghorbani et al. (AAAI 2019, Sec. 3).
	TopKObjective Objective = iota
	// CenterObjective pushes the saliency map's centre of mass away from
	// the clean one: their "mass-center attack".
	CenterObjective
)

var objectiveNames = []string{"topk", "center"}

func (o Objective) String() string {
	if o < 0 || int(o) >= len(objectiveNames) {
		return fmt.Sprintf("Objective(%d)", int(o))
	}
	return objectiveNames[o]
}

// ParseObjective parses topk or center.
func ParseObjective(s string) (Objective, error) {
	for i, n := range objectiveNames {
		if strings.EqualFold(s, n) {
			return Objective(i), nil
		}
	}
	return 0, fmt.Errorf("unknown IFIA objective %q (want topk or center)", s)
}

// IFIA is the iterative feature-importance attack of Ghorbani, Abid and Zou
// ("Interpretation of neural networks is fragile", AAAI 2019, Sec. 3), the
// attack of the ART paper's attributional-robustness evaluation (Singh et
// al., ECCV 2020, Sec. 5): starting from x (and, for restarts r > 0, from a
// uniform random point of the ball), Steps iterations of
//
//	x' <- Proj_{||x'-x||_inf <= Eps, [0,1]} ( x' + Step * sign(grad_x' D(x')) )
//
// where D is the dissimilarity of the objective: minus the saliency mass
// on the clean map's top-k pixels (TopKObjective), or the squared distance
// of the saliency map's centre of mass from the clean one (CenterObjective).
// The saliency map is attribution.Saliency of the method's map computed with
// the softplus (Beta) twin of the model, so that the map has a gradient; the
// clean top-k set is that of the evaluation map (the method as given, on the
// ReLU model). After every step, the ReLU model's prediction and evaluation
// map of x' are compared with the clean ones, and the attack returns, among
// the iterates still classified as the label, the one with the best Keep
// score (lowest Kendall's tau by default).
//
// The zero value is not the default: start from DefaultIFIA.
type IFIA struct {
	Objective Objective
	// Eps is the L-inf radius (8/255) and Step the step size (1/255).
	Eps, Step float64
	// Steps is the number of iterations per restart (50).
	Steps int
	// K is the number of pixels in the top-k set of the objective and of
	// Stats.TopK; 0 selects DefaultTopK (100 at 32x32).
	K int
	// AttackK, when not 0, is the size of the objective's top-k set instead
	// of K (Chen et al. attack the top 200 pixels of MNIST maps and report
	// the top-100 intersection).
	AttackK int
	// Restarts is the number of runs (1): the first starts at x, the others
	// at uniform random points of the ball drawn from Seed; the worst case
	// over all runs is kept.
	Restarts int
	// RandomStart starts the first run at a uniform random point of the
	// ball too, as the ART reference's evaluation (saliency_attackIG) does.
	RandomStart bool
	// Beta is the softplus beta of the attack's maps (50).
	Beta float64
	// Keep selects the returned iterate (KeepKendall).
	Keep Criterion
	Seed uint64
	// Observe, if set, sees every iterate.
	Observe Observer
}

// DefaultIFIA returns the ART evaluation's top-k attack: Eps 8/255, 50
// steps of 1/255, k = 100 at 32x32, one run from x, softplus beta 50, and
// the iterate with the lowest Kendall's tau kept.
func DefaultIFIA() IFIA {
	return IFIA{Objective: TopKObjective, Eps: 8.0 / 255, Step: 1.0 / 255, Steps: 50, Restarts: 1,
		Beta: model.DefaultBeta, Keep: KeepKendall}
}

// DefaultCenterAttack returns DefaultIFIA with the mass-centre objective,
// keeping the iterate whose centre moved farthest.
func DefaultCenterAttack() IFIA {
	a := DefaultIFIA()
	a.Objective, a.Keep = CenterObjective, KeepCenterShift
	return a
}

func (a IFIA) String() string {
	s := fmt.Sprintf("ifia/%s/eps=%g/step=%g/n=%d/k=%d/beta=%g", a.Objective, a.Eps, a.Step, a.Steps, a.K, a.Beta)
	if a.AttackK != 0 {
		s += fmt.Sprintf("/attack-k=%d", a.AttackK)
	}
	return s
}

// Validate checks the settings.
func (a IFIA) Validate() error {
	if err := checkSteps("IFIA", a.Eps, a.Step, a.Steps, a.Restarts, a.Beta); err != nil {
		return err
	}
	if a.K < 0 || a.AttackK < 0 {
		return fmt.Errorf("IFIA: k = %d or attack k = %d is negative", a.K, a.AttackK)
	}
	if a.Objective != TopKObjective && a.Objective != CenterObjective {
		return fmt.Errorf("IFIA: unknown objective %v", a.Objective)
	}
	return nil
}

// StepGraph is one IFIA iteration in a graph: x and adv [N,H,W,C], labels
// int32 [N], m the differentiable (softplus) attribution method. aux is the
// clean top-k mask [N,H,W] (1 on the top-k pixels, TopKObjective) or the
// reference centres [N,2] (rows, columns; CenterObjective). The result
// carries no gradient.
func (a IFIA) StepGraph(net *model.Net, m attribution.Method, x, adv, labels, aux *graph.Node) *graph.Node {
	return stepGraph(net, m, a.objective(), a.Eps, a.Step, x, adv, labels, aux)
}

func (a IFIA) objective() objective {
	if a.Objective == CenterObjective {
		return func(_ *model.Net, _, _, _, ref, sal *graph.Node) *graph.Node {
			return graph.ReduceAllSum(graph.Square(graph.Sub(CenterOfMass(sal), ref)))
		}
	}
	return func(_ *model.Net, _, _, _, mask, sal *graph.Node) *graph.Node {
		return graph.Neg(TopKMass(sal, mask))
	}
}

// TopKMass is the saliency mass on the masked pixels, summed over the
// batch: sum_n sum_ij sal[n,i,j] * mask[n,i,j] (Ghorbani et al.'s top-k
// attack lowers it). sal and mask are [N,H,W].
func TopKMass(sal, mask *graph.Node) *graph.Node {
	return graph.ReduceAllSum(graph.Mul(sal, mask))
}

// CenterOfMass is the centre of mass of each non-negative map of sal
// [N,H,W], as [N,2] (row, column) in pixel coordinates: the graph form of
// metric.CenterOfMass.
func CenterOfMass(sal *graph.Node) *graph.Node {
	d := sal.Shape().Dimensions
	g := sal.Graph()
	rows := graph.Iota(g, shapes.Make(sal.DType(), 1, d[1], d[2]), 1)
	cols := graph.Iota(g, shapes.Make(sal.DType(), 1, d[1], d[2]), 2)
	mass := graph.MaxScalar(graph.ReduceSum(sal, 1, 2), 1e-30)
	r := graph.Div(graph.ReduceSum(graph.Mul(sal, rows), 1, 2), mass)
	c := graph.Div(graph.ReduceSum(graph.Mul(sal, cols), 1, 2), mass)
	return graph.Stack([]*graph.Node{r, c}, 1)
}

// Attack runs the attack on an NHWC batch with the clean labels (images the
// model misclassifies are returned unchanged), m being the evaluated
// attribution method on the ReLU model (e.g. attribution.IntegratedGradients
// with 100 steps and a zero baseline); the attack's maps use m with softplus
// Beta. Each step is one graph call on the whole batch, compiled once per
// (settings, methods, batch shape).
func (a IFIA) Attack(net *model.Net, m attribution.Method, x []float32, labels []int) (*Result, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	attackM, err := WithActivation(m, model.Softplus(a.Beta))
	if err != nil {
		return nil, err
	}
	size := net.Config.InputSize
	k := a.K
	if k == 0 {
		k = DefaultTopK(size, size)
	}
	it := iterative{
		name:     a.String(),
		graphKey: fmt.Sprintf("ifia-step/%s/eps=%g/step=%g", a.Objective, a.Eps, a.Step),
		eps:      a.Eps, step: a.Step, steps: a.Steps, restarts: a.Restarts,
		seed: a.Seed, keep: a.Keep, k: k, attackM: attackM, evalM: m, obj: a.objective(), observe: a.Observe,
		randomStart: a.RandomStart,
	}
	if a.Objective == CenterObjective {
		it.aux = centerReference
	} else {
		ak := k
		if a.AttackK > 0 {
			ak = a.AttackK
		}
		if ak > size*size {
			return nil, fmt.Errorf("IFIA: attack k = %d exceeds the %d pixels", ak, size*size)
		}
		it.aux = func(clean []float32, n, h, w int) *tensors.Tensor { return topKMasks(clean, n, h*w, ak, h, w) }
	}
	return it.run(net, x, labels)
}

// topKMasks marks the k largest values of each of the n maps (ties broken
// as metric.TopKIndices does).
func topKMasks(maps []float32, n, hw, k, h, w int) *tensors.Tensor {
	mask := make([]float32, n*hw)
	for i := range n {
		for j, in := range metric.TopKMask(maps[i*hw:(i+1)*hw], k) {
			if in {
				mask[i*hw+j] = 1
			}
		}
	}
	return tensors.FromFlatDataAndDimensions(mask, n, h, w)
}

// centerReference is the reference point of the mass-centre attack: the
// clean map's centre of mass rounded down to whole pixels, as in Ghorbani
// et al.'s code. At the exact centre the squared distance would have a zero
// gradient and the first sign step would not move; the rounding gives the
// attack a direction from the start. The returned centre shift is still
// measured from the exact clean centre.
func centerReference(clean []float32, n, h, w int) *tensors.Tensor {
	ref := make([]float32, 2*n)
	for i := range n {
		r, c, err := metric.CenterOfMass(clean[i*h*w:(i+1)*h*w], h, w)
		if err != nil || math.IsNaN(r) || math.IsNaN(c) {
			// A zero map has no centre: push away from the image's middle.
			r, c = float64(h-1)/2, float64(w-1)/2
		}
		ref[2*i], ref[2*i+1] = float32(math.Floor(r)), float32(math.Floor(c))
	}
	return tensors.FromFlatDataAndDimensions(ref, n, 2)
}
