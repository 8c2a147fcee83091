package attack

import (
	"fmt"

	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Manipulation is the targeted explanation manipulation of Dombrowski et
// al. ("Explanations can be manipulated and geometry is to blame", NeurIPS
// 2019, Eq. 4): move x' so that its map h(x') approaches a target map h_t
// (another image's) while the output g stays that of x,
//
//	L(x') = ||h(x') - h_t||^2 + Gamma * ||g(x') - g(x)||^2,
//
// with h = attribution.Saliency of the method's map on the softplus (Beta)
// model, the first term a mean over pixels, and g the softmax output of the
// same model. Dombrowski et al. minimise L with Adam and no bound on the
// perturbation; here, for comparison with IFIA under one threat model, L is
// minimised by Steps signed steps of size Step projected onto the L-inf
// Eps-ball and [0,1], and the returned iterate is, among those the ReLU
// model still assigns the label, the one whose evaluation map has the best
// Keep score (the smallest mean squared difference to the target by
// default). Stats.TargetMSE and Stats.TargetCorr report the match.
//
// The zero value is not the default: start from DefaultManipulation.
type Manipulation struct {
	// Eps is the L-inf radius (8/255) and Step the step size (1/255).
	Eps, Step float64
	// Steps is the number of iterations per restart (50).
	Steps int
	// Gamma weighs the output term. 0 selects the weight of the reference
	// code's prefactors (1e11 on the mean squared difference of maps that
	// sum to 1, 1e6 on the mean squared difference of the K softmax
	// outputs), converted to maps that sum to H*W: 1e-5 * (H*W)^2 / K, about
	// 1 for 32x32 images and 10 classes.
	Gamma float64
	// K is the k of Stats.TopK; 0 selects DefaultTopK.
	K int
	// Restarts, Beta, Keep (KeepTargetMSE), Seed and Observe are as in IFIA.
	Restarts int
	Beta     float64
	Keep     Criterion
	Seed     uint64
	Observe  Observer
}

// DefaultManipulation returns the attack with IFIA's budget (Eps 8/255, 50
// steps of 1/255), the reference output weight and softplus beta 50.
func DefaultManipulation() Manipulation {
	return Manipulation{Eps: 8.0 / 255, Step: 1.0 / 255, Steps: 50, Restarts: 1, Beta: model.DefaultBeta, Keep: KeepTargetMSE}
}

func (a Manipulation) String() string {
	return fmt.Sprintf("manipulation/eps=%g/step=%g/n=%d/gamma=%g/beta=%g", a.Eps, a.Step, a.Steps, a.Gamma, a.Beta)
}

// Validate checks the settings.
func (a Manipulation) Validate() error {
	if err := checkSteps("Manipulation", a.Eps, a.Step, a.Steps, a.Restarts, a.Beta); err != nil {
		return err
	}
	if !(a.Gamma >= 0) || a.K < 0 {
		return fmt.Errorf("Manipulation: gamma (%g) and k (%d) must not be negative", a.Gamma, a.K)
	}
	return nil
}

// gamma is Gamma or the reference weight for h x w maps and the given
// number of classes.
func (a Manipulation) gamma(h, w, classes int) float64 {
	if a.Gamma > 0 {
		return a.Gamma
	}
	hw := float64(h * w)
	return 1e-5 * hw * hw / float64(classes)
}

// ManipulationLoss is L(x') of the doc comment of Manipulation summed over
// the batch: sal and target are [N,H,W] maps, probs and cleanProbs [N,K]
// softmax outputs.
func ManipulationLoss(sal, target, probs, cleanProbs *graph.Node, gamma float64) *graph.Node {
	mapTerm := graph.ReduceSum(graph.ReduceMean(graph.Square(graph.Sub(sal, target)), 1, 2))
	outTerm := graph.ReduceAllSum(graph.Square(graph.Sub(probs, cleanProbs)))
	return graph.Add(mapTerm, graph.MulScalar(outTerm, gamma))
}

func (a Manipulation) objective(gamma float64) objective {
	return func(net *model.Net, x, adv, _, target, sal *graph.Node) *graph.Node {
		pass := model.Pass{Act: model.Softplus(a.Beta)}
		probs := graph.Softmax(net.Logits(adv, pass), 1)
		clean := graph.StopGradient(graph.Softmax(net.Logits(x, pass), 1))
		return graph.Neg(ManipulationLoss(sal, target, probs, clean, gamma))
	}
}

// StepGraph is one iteration in a graph: x and adv [N,H,W,C], labels int32
// [N], target maps [N,H,W], m the differentiable (softplus) method, gamma
// the output weight. The result carries no gradient.
func (a Manipulation) StepGraph(net *model.Net, m attribution.Method, x, adv, labels, target *graph.Node, gamma float64) *graph.Node {
	return stepGraph(net, m, a.objective(gamma), a.Eps, a.Step, x, adv, labels, target)
}

// Attack runs the attack on an NHWC batch with the clean labels; targets
// holds one H*W target map per image, post-processed like the evaluation
// maps (for another image's map, take it from SaliencyMaps). m is the
// evaluated method on the ReLU model.
func (a Manipulation) Attack(net *model.Net, m attribution.Method, x []float32, labels []int, targets []float32) (*Result, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	attackM, err := WithActivation(m, model.Softplus(a.Beta))
	if err != nil {
		return nil, err
	}
	size := net.Config.InputSize
	if len(targets) != len(labels)*size*size {
		return nil, fmt.Errorf("Manipulation: %d target map values for %d maps of %dx%d", len(targets), len(labels), size, size)
	}
	k := a.K
	if k == 0 {
		k = DefaultTopK(size, size)
	}
	gamma := a.gamma(size, size, net.Config.NumClasses)
	it := iterative{
		name:     a.String(),
		graphKey: fmt.Sprintf("manipulation-step/eps=%g/step=%g/gamma=%g", a.Eps, a.Step, gamma),
		eps:      a.Eps, step: a.Step, steps: a.Steps, restarts: a.Restarts,
		seed: a.Seed, keep: a.Keep, k: k, attackM: attackM, evalM: m, obj: a.objective(gamma),
		targets: targets, observe: a.Observe,
		aux: func(_ []float32, n, h, w int) *tensors.Tensor {
			return tensors.FromFlatDataAndDimensions(append([]float32(nil), targets...), n, h, w)
		},
	}
	return it.run(net, x, labels)
}
