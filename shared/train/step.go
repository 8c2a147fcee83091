// Package train implements the training steps of the project: natural
// training, PGD adversarial training (Madry et al., 2018), Attributional
// Robustness Training (Singh et al., ECCV 2020, Algorithm 1) and Chen et
// al.'s IG-NORM and IG-SUM-NORM (NeurIPS 2019; ignorm.go), each compiled
// into one GoMLX graph per batch shape, with SGD (Nesterov momentum and
// weight decay) written as graph operations on the model's variables.
package train

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// Method is the training objective.
type Method string

const (
	Natural Method = "natural"
	PGD     Method = "pgd"
	ART     Method = "art"
)

// ParseMethod parses natural, pgd, art, ig-norm or ig-sum-norm.
func ParseMethod(s string) (Method, error) {
	switch m := Method(strings.ToLower(s)); m {
	case Natural, PGD, ART, IGNorm, IGSumNorm:
		return m, nil
	}
	return "", fmt.Errorf("unknown training method %q (want natural, pgd, art, ig-norm or ig-sum-norm)", s)
}

// Config holds the hyper-parameters of a training step. Zero values are not
// defaults: start from DefaultConfig.
type Config struct {
	Method Method

	// SGD: lr is given per step (schedules live outside the graph).
	// OptimizerConfig selects Adam instead (adam.go).
	OptimizerConfig
	Momentum    float64
	Nesterov    bool
	WeightDecay float64
	// HeadLRFactor multiplies the learning rate of the variables in the
	// model's fine-tuning head (model.Config.InHead: the last stage and the
	// classifier), as the ART paper's CUB code does with 10; 0 or 1 give
	// every variable the same rate.
	HeadLRFactor float64

	// PGD adversarial training (and ART's optional adversarial CE).
	PGDSteps        int
	PGDEps, PGDStep float64

	// ART (Algorithm 1): the inner attack maximising the attribution loss,
	// then CE(f_relu(x'), y) + Lambda * mean L_attr over [x, x'].
	ARTSteps        int
	ARTEps, ARTStep float64
	Lambda          float64
	Beta            float64 // softplus beta of every double-backprop pass
	// AttackTopK restricts the inner attack's distances to the k input
	// entries of largest |g_y| at the clean image (0: all entries).
	AttackTopK int
	Objective  Objective
	// AdvCE replaces the CE term on x' with CE on a PGD adversarial example
	// (the paper's Appendix C combination of ART and adversarial training).
	AdvCE bool

	// IG-NORM and IG-SUM-NORM (ignorm.go), with Lambda.
	IGNormConfig

	Conv model.ConvImpl
}

// DefaultConfig returns the paper's reference settings for 32x32 data.
func DefaultConfig(m Method) Config {
	return Config{
		Method: m, Momentum: 0.9, Nesterov: true, WeightDecay: 2e-4,
		PGDSteps: 7, PGDEps: 8.0 / 255, PGDStep: 2.0 / 255,
		ARTSteps: 3, ARTEps: 8.0 / 255, ARTStep: 5.0 / 255,
		Lambda: 0.5, Beta: model.DefaultBeta, AttackTopK: 1000, Objective: TripletCosine,
		IGNormConfig: DefaultIGNormConfig(), OptimizerConfig: DefaultOptimizerConfig(),
	}
}

// Validate checks the settings.
func (c Config) Validate() error {
	if _, err := ParseMethod(string(c.Method)); err != nil {
		return err
	}
	switch {
	case c.Momentum < 0 || c.Momentum >= 1:
		return fmt.Errorf("momentum %g outside [0,1)", c.Momentum)
	case c.WeightDecay < 0:
		return fmt.Errorf("weight decay %g is negative", c.WeightDecay)
	case c.HeadLRFactor < 0:
		return fmt.Errorf("head learning-rate factor %g is negative", c.HeadLRFactor)
	case c.PGDEps < 0 || c.PGDStep < 0 || c.PGDSteps < 0:
		return fmt.Errorf("PGD eps, step and steps must not be negative")
	case c.ARTEps < 0 || c.ARTStep < 0 || c.ARTSteps < 0:
		return fmt.Errorf("ART attack eps, step and steps must not be negative")
	case c.Lambda < 0:
		return fmt.Errorf("lambda %g is negative", c.Lambda)
	case c.Method == ART && c.Beta <= 0:
		return fmt.Errorf("ART needs a softplus beta > 0 (ReLU has no second derivative), got %g", c.Beta)
	case c.AttackTopK < 0:
		return fmt.Errorf("attack top-k %d is negative", c.AttackTopK)
	case c.Method.isIGNorm():
		if err := c.IGNormConfig.validate(); err != nil {
			return err
		}
	}
	return c.OptimizerConfig.validate()
}

// Metrics are the batch statistics a step returns.
type Metrics struct {
	Loss, CE, Attr, Acc float64
}

// Trainer runs training steps on a model, keeping the optimiser's state as
// variables of the model's store (under /optimizer/).
type Trainer struct {
	Net    *model.Net
	Config Config
	key    string
}

// momentumPath is the store path of a variable's momentum buffer.
func momentumPath(path string) string { return "/optimizer/momentum" + path }

// NewTrainer prepares net for training with c, creating zeroed optimiser
// state (momentum buffers; Adam's moments) where it does not exist yet.
func NewTrainer(net *model.Net, c Config) (*Trainer, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	net.Conv = c.Conv
	t := &Trainer{Net: net, Config: c, key: fmt.Sprintf("train/%+v", c)}
	if err := t.initOptimizer(); err != nil {
		return nil, err
	}
	return t, nil
}

func product(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

// Noise draws the random starts the step's attacks need for a batch of n
// values (images of per values each), from rng.
func (t *Trainer) Noise(rng *rand.Rand, n, per int) []float32 {
	c := t.Config
	switch c.Method {
	case PGD:
		return attack.PGD{Eps: c.PGDEps, RandomStart: true}.Noise(rng, n, per)
	case ART:
		noise := attack.PGD{Eps: c.ARTEps, RandomStart: true}.Noise(rng, n, per)
		if c.AdvCE {
			noise = append(noise, attack.PGD{Eps: c.PGDEps, RandomStart: true}.Noise(rng, n, per)...)
		}
		return noise
	case IGNorm, IGSumNorm:
		return attack.PGD{Eps: c.IGAttackEps, RandomStart: true}.Noise(rng, n, per)
	}
	return make([]float32, n)
}

// Step runs one training step on the NHWC batch x with labels y at learning
// rate lr; noise comes from Noise.
func (t *Trainer) Step(x []float32, y []int32, lr float64, noise []float32) (Metrics, error) {
	xt, err := t.Net.Batch(x)
	if err != nil {
		return Metrics{}, err
	}
	d := xt.Shape().Dimensions
	if len(y) != d[0] {
		return Metrics{}, fmt.Errorf("train step: %d labels for %d images", len(y), d[0])
	}
	nd := append([]int(nil), d...)
	nd[0] = len(noise) / (d[1] * d[2] * d[3])
	if nd[0]*d[1]*d[2]*d[3] != len(noise) {
		return Metrics{}, fmt.Errorf("train step: noise of %d values does not match the batch", len(noise))
	}
	out, err := t.Net.Call(t.key, func() (*gmodel.Exec, error) {
		return gmodel.NewExec(t.Net.Backend, t.Net.Store, t.graph)
	}, xt, tensors.FromFlatDataAndDimensions(y, d[0]), tensors.FromScalar(float32(lr)),
		tensors.FromFlatDataAndDimensions(noise, nd...))
	if err != nil {
		return Metrics{}, err
	}
	v := make([]float64, 4)
	for i := range v {
		f, err := tensors.CopyFlatData[float32](out[i])
		if err != nil {
			return Metrics{}, err
		}
		v[i] = float64(f[0])
	}
	return Metrics{Loss: v[0], CE: v[1], Attr: v[2], Acc: v[3]}, nil
}

// graph builds one whole training step: attack, loss, gradients, SGD update.
func (t *Trainer) graph(scope *gmodel.Scope, x, y, lr, noise *graph.Node) []*graph.Node {
	c, net := t.Config, t.Net
	g := x.Graph()
	relu := model.Pass{Act: model.ReLU, Train: true}
	soft := model.Pass{Act: model.Softplus(c.Beta), Train: true}
	zero := graph.ScalarZero(g, x.DType())
	var ceInput *graph.Node
	attr := zero
	switch c.Method {
	case Natural:
		ceInput = x
	case PGD:
		ceInput = t.pgd().Graph(net, x, y, noise, relu)
	case ART:
		n := x.Shape().Dimensions[0]
		artNoise := graph.Slice(noise, graph.AxisRange(0, n))
		adv := t.artAttack(x, y, artNoise, soft, relu)
		ceInput = adv
		if c.AdvCE {
			ceInput = t.pgd().Graph(net, x, y, graph.Slice(noise, graph.AxisRange(n, 2*n)), relu)
		}
		attr = graph.ReduceAllMean(AttributionLoss(net, x, adv, y, soft, c.Objective))
	case IGNorm, IGSumNorm:
		ceInput, attr = t.igNormTerms(x, y, noise)
	}
	relu.UpdateStats = true
	logits := net.Logits(ceInput, relu)
	ce := attack.CrossEntropy(logits, y)
	loss := graph.Add(ce, graph.MulScalar(attr, c.Lambda))
	t.update(loss, lr)
	pred := graph.ConvertDType(graph.ArgMax(logits, 1), y.DType())
	acc := graph.ReduceAllMean(graph.ConvertDType(graph.Equal(pred, y), x.DType()))
	return []*graph.Node{loss, ce, attr, acc}
}

func (t *Trainer) pgd() attack.PGD {
	c := t.Config
	return attack.PGD{Norm: attack.LInf, Eps: c.PGDEps, Step: c.PGDStep, Steps: c.PGDSteps, RandomStart: true}
}

// artAttack finds x' in the ARTEps L-inf ball around x that maximises the
// attribution loss by ARTSteps sign-gradient steps from x + noise, as the
// reference's topk_alignment_saliency_attack does: the AttackTopK entries
// are those of largest |g_y| of the ReLU model at the random start, and
// each step ascends the unmined loss on them with the softplus model.
// (TripletCosineRaw keeps the project's first choice: the entries of the
// softplus model's gradient at the clean image.)
func (t *Trainer) artAttack(x, y, noise *graph.Node, soft, relu model.Pass) *graph.Node {
	c := t.Config
	x = attack.Detach(x)
	adv := attack.Detach(attack.Project(attack.LInf, graph.Add(x, noise), x, c.ARTEps))
	var mask *graph.Node
	if c.AttackTopK > 0 {
		at, p := adv, relu
		if c.Objective == TripletCosineRaw {
			at, p = x, soft
		}
		gy := graph.Gradient(attribution.TargetLogitSum(t.Net.Logits(at, p), y), at)[0]
		mask = graph.StopGradient(TopKMask(gy, c.AttackTopK))
	}
	for range c.ARTSteps {
		loss := graph.ReduceAllSum(attackLoss(t.Net, adv, y, mask, soft, c.Objective))
		g := graph.Gradient(loss, adv)[0]
		adv = attack.Detach(attack.Project(attack.LInf, graph.Add(adv, attack.Direction(attack.LInf, g, c.ARTStep)), x, c.ARTEps))
	}
	return adv
}

// trainableGradients returns the model's trainable variables, their values
// in loss's graph and the gradients of loss with respect to them, the
// common start of every optimiser's update.
func (t *Trainer) trainableGradients(loss *graph.Node) (vars []*gmodel.Variable, nodes, grads []*graph.Node) {
	g := loss.Graph()
	for _, spec := range t.Net.Config.Variables() {
		if !spec.Kind.Trainable() {
			continue
		}
		v := t.Net.Store.GetVariable(spec.Path)
		vars = append(vars, v)
		nodes = append(nodes, v.NodeValue(g))
	}
	return vars, nodes, graph.Gradient(loss, nodes...)
}

// sgd applies SGD with momentum and weight decay (PyTorch's formulation,
// Nesterov optional) to every trainable variable:
//
//	d = g + wd*w;  b = mu*b + d;  w -= lr * (nesterov ? d + mu*b : b)
//
// with lr times HeadLRFactor for the variables of the model's head.
func (t *Trainer) sgd(loss, lr *graph.Node) {
	c := t.Config
	g := loss.Graph()
	vars, nodes, grads := t.trainableGradients(loss)
	lr = graph.ConvertDType(lr, nodes[0].DType())
	for i, v := range vars {
		w := nodes[i]
		d := graph.ConvertDType(grads[i], w.DType())
		if c.WeightDecay > 0 {
			d = graph.Add(d, graph.MulScalar(w, c.WeightDecay))
		}
		mv := t.Net.Store.GetVariable(momentumPath(v.Path()))
		buf := graph.Add(graph.MulScalar(mv.NodeValue(g), c.Momentum), d)
		mv.SetNodeValue(buf)
		upd := buf
		if c.Nesterov {
			upd = graph.Add(d, graph.MulScalar(buf, c.Momentum))
		}
		rate := lr
		if c.HeadLRFactor > 0 && c.HeadLRFactor != 1 && t.Net.Config.InHead(v.Path()) {
			rate = graph.MulScalar(lr, c.HeadLRFactor)
		}
		v.SetNodeValue(graph.Sub(w, graph.Mul(rate, upd)))
	}
}
