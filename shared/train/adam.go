package train

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Optimizer is the update rule of a training step.
type Optimizer string

const (
	// SGD is SGD with momentum and weight decay (Trainer.sgd), the ART
	// paper's optimiser.
	SGD Optimizer = "sgd"
	// Adam is Kingma and Ba's Adam in TensorFlow's form
	// (tf.train.AdamOptimizer), which Madry et al. and Chen et al. train
	// their MNIST and Fashion-MNIST models with (lr 1e-4).
	Adam Optimizer = "adam"
)

// ParseOptimizer parses sgd or adam.
func ParseOptimizer(s string) (Optimizer, error) {
	switch o := Optimizer(strings.ToLower(s)); o {
	case SGD, Adam:
		return o, nil
	}
	return "", fmt.Errorf("unknown optimizer %q (want sgd or adam)", s)
}

// OptimizerConfig selects the update rule; Momentum, Nesterov and
// WeightDecay of Config are SGD's (weight decay also adds to Adam's
// gradient, as an L2 term).
type OptimizerConfig struct {
	// Optimizer is SGD when empty.
	Optimizer Optimizer
	// AdamBeta1, AdamBeta2 and AdamEpsilon are Adam's moment decays and
	// denominator offset (TensorFlow's defaults: 0.9, 0.999, 1e-8).
	AdamBeta1, AdamBeta2, AdamEpsilon float64
}

// DefaultOptimizerConfig is SGD, with TensorFlow's Adam settings ready.
func DefaultOptimizerConfig() OptimizerConfig {
	return OptimizerConfig{Optimizer: SGD, AdamBeta1: 0.9, AdamBeta2: 0.999, AdamEpsilon: 1e-8}
}

func (c OptimizerConfig) validate() error {
	if c.Optimizer == "" || c.Optimizer == SGD {
		return nil
	}
	if _, err := ParseOptimizer(string(c.Optimizer)); err != nil {
		return err
	}
	switch {
	case !(c.AdamBeta1 >= 0 && c.AdamBeta1 < 1) || !(c.AdamBeta2 >= 0 && c.AdamBeta2 < 1):
		return fmt.Errorf("Adam betas %g and %g must lie in [0,1)", c.AdamBeta1, c.AdamBeta2)
	case !(c.AdamEpsilon > 0):
		return fmt.Errorf("Adam epsilon %g must be positive", c.AdamEpsilon)
	}
	return nil
}

// The optimiser's state lives in the model's store under /optimizer/: the
// momentum buffer of each trainable variable (SGD's, and Adam's first
// moment), and for Adam the second moments and the step count. Checkpoints
// hold them under these names; OptimizerState keys them without the
// /optimizer prefix.
const (
	optimizerRoot = "/optimizer"
	adamStepPath  = optimizerRoot + "/adam/step"
)

func adamSecondPath(path string) string { return optimizerRoot + "/adam/second" + path }

// optimizerVar is one variable of the optimiser's state.
type optimizerVar struct {
	path  string
	shape []int
}

// optimizerVars lists the state variables of the configured optimiser.
func (t *Trainer) optimizerVars() []optimizerVar {
	var out []optimizerVar
	for _, v := range t.Net.Config.Variables() {
		if v.Kind.Trainable() {
			out = append(out, optimizerVar{momentumPath(v.Path), v.Shape})
		}
	}
	if t.Config.Optimizer != Adam {
		return out
	}
	for _, v := range t.Net.Config.Variables() {
		if v.Kind.Trainable() {
			out = append(out, optimizerVar{adamSecondPath(v.Path), v.Shape})
		}
	}
	return append(out, optimizerVar{adamStepPath, nil})
}

// initOptimizer creates the optimiser's state variables that do not exist
// yet, zeroed.
func (t *Trainer) initOptimizer() error {
	for _, v := range t.optimizerVars() {
		if t.Net.Store.GetVariable(v.path) != nil {
			continue
		}
		zeros := tensors.FromFlatDataAndDimensions(make([]float32, product(v.shape)), v.shape...)
		mv, err := t.Net.Store.CreateVariable(v.path, zeros)
		if err != nil {
			return fmt.Errorf("creating optimizer state %s: %w", v.path, err)
		}
		mv.SetTrainable(false)
	}
	return nil
}

// OptimizerState returns the optimiser's state for checkpoints, keyed by
// store path without the /optimizer prefix ("/momentum/conv1/weights",
// and for Adam "/adam/second/..." and "/adam/step").
func (t *Trainer) OptimizerState() (map[string][]float32, error) {
	out := make(map[string][]float32)
	for _, v := range t.optimizerVars() {
		val, err := t.Net.Store.GetVariable(v.path).Value()
		if err != nil {
			return nil, err
		}
		key := strings.TrimPrefix(v.path, optimizerRoot)
		if out[key], err = tensors.CopyFlatData[float32](val); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SetOptimizerState restores a state saved by OptimizerState.
func (t *Trainer) SetOptimizerState(state map[string][]float32) error {
	for _, v := range t.optimizerVars() {
		key := strings.TrimPrefix(v.path, optimizerRoot)
		x, ok := state[key]
		if !ok || len(x) != product(v.shape) {
			return fmt.Errorf("optimizer state %s missing or of the wrong size (a checkpoint of another optimizer?)", key)
		}
		t.Net.Store.GetVariable(v.path).MustSetValue(
			tensors.FromFlatDataAndDimensions(append([]float32(nil), x...), v.shape...))
	}
	return nil
}

// update applies the configured optimiser to every trainable variable.
func (t *Trainer) update(loss, lr *graph.Node) {
	if t.Config.Optimizer == Adam {
		t.adam(loss, lr)
		return
	}
	t.sgd(loss, lr)
}

// adam applies TensorFlow's Adam (tf.train.AdamOptimizer, the "epsilon hat"
// form of Kingma and Ba's Algorithm 1, end of their Sec. 2):
//
//	t += 1;  lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
//	m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g^2
//	w -= lr_t * m / (sqrt(v) + epsilon)
//
// with g the gradient plus WeightDecay*w, and lr times HeadLRFactor for the
// model's head.
func (t *Trainer) adam(loss, lr *graph.Node) {
	c := t.Config
	g := loss.Graph()
	vars, nodes, grads := t.trainableGradients(loss)
	stepVar := t.Net.Store.GetVariable(adamStepPath)
	step := graph.AddScalar(stepVar.NodeValue(g), 1)
	stepVar.SetNodeValue(step)
	dt := nodes[0].DType()
	step = graph.ConvertDType(step, dt)
	pow := func(b float64) *graph.Node { return graph.Pow(graph.Scalar(g, dt, b), step) }
	corr := graph.Div(graph.Sqrt(graph.OneMinus(pow(c.AdamBeta2))), graph.OneMinus(pow(c.AdamBeta1)))
	lrT := graph.Mul(graph.ConvertDType(lr, dt), corr)
	for i, v := range vars {
		w := nodes[i]
		d := graph.ConvertDType(grads[i], dt)
		if c.WeightDecay > 0 {
			d = graph.Add(d, graph.MulScalar(w, c.WeightDecay))
		}
		mv := t.Net.Store.GetVariable(momentumPath(v.Path()))
		vv := t.Net.Store.GetVariable(adamSecondPath(v.Path()))
		m := graph.Add(graph.MulScalar(mv.NodeValue(g), c.AdamBeta1), graph.MulScalar(d, 1-c.AdamBeta1))
		s := graph.Add(graph.MulScalar(vv.NodeValue(g), c.AdamBeta2), graph.MulScalar(graph.Square(d), 1-c.AdamBeta2))
		mv.SetNodeValue(m)
		vv.SetNodeValue(s)
		rate := lrT
		if c.HeadLRFactor > 0 && c.HeadLRFactor != 1 && t.Net.Config.InHead(v.Path()) {
			rate = graph.MulScalar(lrT, c.HeadLRFactor)
		}
		upd := graph.Div(m, graph.AddScalar(graph.Sqrt(s), c.AdamEpsilon))
		v.SetNodeValue(graph.Sub(w, graph.Mul(rate, upd)))
	}
}
