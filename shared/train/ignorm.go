package train

import (
	"errors"
	"fmt"
	"math"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/graph"
)

// IG-NORM and IG-SUM-NORM are the robust attribution regularisation of Chen,
// Wu, Rastogi, Liang and Jha ("Robust Attribution Regularization", NeurIPS
// 2019), transcribed from their code (github.com/jfc43/robust-attribution-
// regularization, MNIST/ and Fashion-MNIST/: model.py, pgd_attack.py,
// train_attribution.py, *-config.json; the two folders are identical but for
// the data and the configs):
//
//	IG-NORM (Eq. 6 of the paper; "training_objective": "ar"):
//	  min_w  CE(x, y) + lambda * max_{x' in N(x, eps)} || IG(x, x') ||_1
//	IG-SUM-NORM (Eq. 7; "adv_ar"):
//	  min_w  max_{x' in N(x, eps)} [ CE(x', y) + lambda * || IG(x, x') ||_1 ]
//
// where IG(x, x') is the Integrated Gradients of the example's loss l along
// the straight path from x to x' (model.py, mode "train"):
//
//	IG(x, x') = (x' - x) / m * sum_{k=1..m} grad_z l(z_k, y),  z_k = x + k/m (x' - x)
//	l(z, y)   = -log(clip(softmax(f(z))_y, 1e-10, 1))
//
// The inner maximisation is pgd_attack.py's LinfPGDAttack with loss_func
// "ar_approx" (IG-NORM) or "adv_ar_approx" (IG-SUM-NORM): from x plus
// uniform noise in [-eps, eps] (not clipped), IGAttackSteps steps
// x' <- clip_[0,1](clip_{x +- eps}(x' + a * sign(grad_x' objective))), the
// objective's IG approximated by every IGApprox-th point of the path
// ("IG_approx": the points k = IGApprox, 2*IGApprox, ..., m, scaled by
// 1/(m/IGApprox)). The training term uses all m points ("IG"). x' carries no
// gradient into the weights (it is fed back as a placeholder there).
//
// Chen et al. sum CE and ||IG||_1 over the batch and train with Adam; here
// both are averaged over the batch, which keeps their ratio (lambda) and only
// rescales the step (Adam is invariant to it). Their forward passes use ReLU
// in every term: the weight gradient of a ReLU network's input gradient is
// not zero (only its second derivative in the input is), so IGBeta 0 keeps
// ReLU, and IGBeta > 0 switches the IG passes to softplus(beta).
const (
	IGNorm    Method = "ig-norm"
	IGSumNorm Method = "ig-sum-norm"
)

// IGNormConfig holds the settings of IG-NORM and IG-SUM-NORM beside
// Config.Lambda (their "lambda", the paper's lambda and beta). The names of
// Chen et al.'s config.json are in brackets.
type IGNormConfig struct {
	// IGSteps is m, the points of the training term's IG ["m": 50].
	IGSteps int
	// IGApprox is the attack's approximation factor: its IG uses every
	// IGApprox-th of the m points; it must divide IGSteps ["approx_factor": 5].
	IGApprox int
	// IGAttackSteps, IGAttackEps and IGAttackStep are the inner PGD: steps,
	// L-inf radius and step size ["k": 40 on MNIST, 20 on Fashion-MNIST;
	// "epsilon": 0.3 and 0.1; "a": 0.01].
	IGAttackSteps             int
	IGAttackEps, IGAttackStep float64
	// IGBeta is the softplus beta of the passes IG differentiates (the
	// training term and the attack's); 0 is ReLU, as Chen et al.
	IGBeta float64
}

// DefaultIGNormConfig returns Chen et al.'s MNIST settings.
func DefaultIGNormConfig() IGNormConfig {
	return IGNormConfig{IGSteps: 50, IGApprox: 5, IGAttackSteps: 40, IGAttackEps: 0.3, IGAttackStep: 0.01}
}

func (c IGNormConfig) validate() error {
	switch {
	case c.IGSteps < 1:
		return fmt.Errorf("IG-NORM: need at least one IG step, got %d", c.IGSteps)
	case c.IGApprox < 1 || c.IGSteps%c.IGApprox != 0:
		return fmt.Errorf("IG-NORM: the approximation factor %d must divide the %d IG steps", c.IGApprox, c.IGSteps)
	case c.IGAttackSteps < 0 || !(c.IGAttackEps >= 0) || !(c.IGAttackStep >= 0):
		return errors.New("IG-NORM: attack eps, step and steps must not be negative")
	case c.IGBeta < 0 || math.IsNaN(c.IGBeta):
		return fmt.Errorf("IG-NORM: softplus beta %g is negative (0 is ReLU)", c.IGBeta)
	}
	return nil
}

func (m Method) isIGNorm() bool { return m == IGNorm || m == IGSumNorm }

// igPass is the forward pass of the IG terms: ReLU (in the form whose
// gradient has a gradient), or softplus with IGBeta, in training mode.
func (c IGNormConfig) igPass() model.Pass {
	p := model.Pass{Act: model.ReLUTwice, Train: true}
	if c.IGBeta > 0 {
		p.Act = model.Softplus(c.IGBeta)
	}
	return p
}

// LossIntegratedGradients is IG(x, x') above in a graph: the Integrated
// Gradients of the per-example loss l along the path from x to adv
// ([N,H,W,C] both, labels int32 [N]), with the points k = every, 2*every,
// ..., m of the m-point right Riemann sum, scaled by every/m. It is
// differentiable in adv and in the weights. Batch norm, if the network has
// it, normalises all the points of the path together.
func LossIntegratedGradients(net *model.Net, x, adv, labels *graph.Node, m, every int, p model.Pass) *graph.Node {
	d := x.Shape().Dimensions
	n := d[0]
	delta := graph.Sub(adv, x)
	var points []*graph.Node
	for k := every; k <= m; k += every {
		points = append(points, graph.Add(x, graph.MulScalar(delta, float64(k)/float64(m))))
	}
	count := len(points)
	z := graph.Concatenate(points, 0)
	ys := make([]*graph.Node, count)
	for i := range ys {
		ys[i] = labels
	}
	logits := net.Logits(z, p)
	logp := graph.LogSoftmax(logits, 1)
	onehot := graph.OneHot(graph.Concatenate(ys, 0), logits.Shape().Dimensions[1], logits.DType())
	// -log(clip(p_y, 1e-10, 1)): p_y <= 1, so only the lower clip acts,
	// and below it the loss is flat (its gradient zero), as tf.clip_by_value.
	logpy := graph.MaxScalar(graph.ReduceSum(graph.Mul(logp, onehot), 1), math.Log(1e-10))
	grads := graph.Gradient(graph.Neg(graph.ReduceAllSum(logpy)), z)[0]
	sum := graph.ReduceSum(graph.Reshape(grads, append([]int{count, n}, d[1:]...)...), 0)
	return graph.MulScalar(graph.Mul(delta, sum), 1/float64(count))
}

// IGNorm1 is ||IG||_1 per example: the sum of |ig| over each image of
// [N,H,W,C], as [N].
func IGNorm1(ig *graph.Node) *graph.Node {
	return graph.ReduceSum(graph.Abs(flat(ig)), 1)
}

// igNormTerms builds the two terms of IG-NORM or IG-SUM-NORM for the batch
// x, y: the input of the cross-entropy term (x, or the attack's x' for
// IG-SUM-NORM) and the batch mean of ||IG(x, x')||_1 with all m points.
func (t *Trainer) igNormTerms(x, y, noise *graph.Node) (ceInput, attr *graph.Node) {
	c := t.Config
	adv := t.igAttack(x, y, noise)
	ig := LossIntegratedGradients(t.Net, attack.Detach(x), adv, y, c.IGSteps, 1, c.igPass())
	attr = graph.ReduceAllMean(IGNorm1(ig))
	if c.Method == IGSumNorm {
		return adv, attr
	}
	return x, attr
}

// igAttack is the inner maximisation: IGAttackSteps sign steps of size
// IGAttackStep from x + noise, each clipped to the eps-ball around x and to
// [0,1], ascending ||IG_approx(x, x')||_1, plus CE(x', y) for IG-SUM-NORM,
// summed over the batch as Chen et al.'s attack does. The result carries no
// gradient.
func (t *Trainer) igAttack(x, y, noise *graph.Node) *graph.Node {
	c := t.Config
	x = attack.Detach(x)
	adv := attack.Detach(graph.Add(x, noise))
	relu := model.Pass{Act: model.ReLU, Train: true}
	for range c.IGAttackSteps {
		obj := graph.ReduceAllSum(IGNorm1(LossIntegratedGradients(t.Net, x, adv, y, c.IGSteps, c.IGApprox, c.igPass())))
		if c.Method == IGSumNorm {
			n := float64(x.Shape().Dimensions[0])
			ce := graph.MulScalar(attack.CrossEntropy(t.Net.Logits(adv, relu), y), n) // the batch sum
			obj = graph.Add(ce, graph.MulScalar(obj, c.Lambda))
		}
		g := graph.Gradient(obj, adv)[0]
		adv = attack.Detach(attack.Project(attack.LInf, graph.Add(adv, attack.Direction(attack.LInf, g, c.IGAttackStep)), x, c.IGAttackEps))
	}
	return adv
}
