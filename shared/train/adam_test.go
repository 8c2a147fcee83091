package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// Two Adam steps on the same batch follow TensorFlow's formula, computed
// here on the host from the gradients of each step's weights.
func TestAdamStepsMatchTensorFlowsFormula(t *testing.T) {
	n := testNet(t, 1)
	x, y := batch(2, 6)
	const path = "/group2/block0/conv1/weights"
	xt := tensors.FromFlatDataAndDimensions(x, 6, size, size, 3)
	yt := tensors.FromFlatDataAndDimensions(y, 6)
	grad := func() []float32 {
		out := gmodel.MustCallOnceN(n.Backend, n.Store, func(scope *gmodel.Scope, x, y *graph.Node) []*graph.Node {
			logits := n.Logits(x, model.Pass{Act: model.ReLU, Train: true})
			return graph.Gradient(attack.CrossEntropy(logits, y), n.Store.GetVariable(path).NodeValue(x.Graph()))
		}, xt, yt)
		return tensors.MustCopyFlatData[float32](out[0])
	}
	c := DefaultConfig(Natural)
	c.Optimizer, c.WeightDecay = Adam, 0
	tr, err := NewTrainer(n, c)
	if err != nil {
		t.Fatal(err)
	}
	const lr = 1e-3
	vals, _ := n.Values()
	w := make([]float64, len(vals[path]))
	for i, v := range vals[path] {
		w[i] = float64(v)
	}
	m, v := make([]float64, len(w)), make([]float64, len(w))
	for step := 1; step <= 2; step++ {
		g := grad()
		if _, err := tr.Step(x, y, lr, make([]float32, len(x))); err != nil {
			t.Fatal(err)
		}
		lrT := lr * math.Sqrt(1-math.Pow(0.999, float64(step))) / (1 - math.Pow(0.9, float64(step)))
		for i := range w {
			m[i] = 0.9*m[i] + 0.1*float64(g[i])
			v[i] = 0.999*v[i] + 0.001*float64(g[i])*float64(g[i])
			w[i] -= lrT * m[i] / (math.Sqrt(v[i]) + 1e-8)
		}
		after, _ := n.Values()
		for i := range w {
			if d := math.Abs(float64(after[path][i]) - w[i]); d > 1e-6 {
				t.Fatalf("step %d, %s[%d]: %g, formula %g", step, path, i, after[path][i], w[i])
			}
		}
	}
	st, err := tr.OptimizerState()
	if err != nil {
		t.Fatal(err)
	}
	if s := st["/adam/step"]; len(s) != 1 || s[0] != 2 {
		t.Errorf("step count %v, want [2]", s)
	}
	if len(st["/momentum"+path]) != len(w) || len(st["/adam/second"+path]) != len(w) {
		t.Errorf("state keys: want /momentum%s and /adam/second%s", path, path)
	}
}

// The optimiser state saved by one trainer restores into another: SGD's
// under the checkpoint names of before Adam existed (/optimizer/momentum/...),
// Adam's with its moments and step; an SGD state does not restore into Adam.
func TestOptimizerStateRoundTrip(t *testing.T) {
	x, y := batch(3, 4)
	for _, o := range []Optimizer{SGD, Adam} {
		n := testNet(t, 2)
		c := DefaultConfig(Natural)
		c.Optimizer = o
		tr, err := NewTrainer(n, c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Step(x, y, 0.01, tr.Noise(rand.New(rand.NewPCG(1, 1)), len(x), size*size*3)); err != nil {
			t.Fatal(err)
		}
		st, err := tr.OptimizerState()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := st["/momentum/head/fc/weights"]; !ok {
			t.Errorf("%s: no /momentum/head/fc/weights in the state", o)
		}
		n2 := testNet(t, 2)
		tr2, err := NewTrainer(n2, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr2.SetOptimizerState(st); err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		back, _ := tr2.OptimizerState()
		for k, v := range st {
			for i := range v {
				if back[k][i] != v[i] {
					t.Fatalf("%s: %s[%d] = %v after the round trip, want %v", o, k, i, back[k][i], v[i])
				}
			}
		}
		if o == SGD {
			ca := c
			ca.Optimizer = Adam
			tra, err := NewTrainer(testNet(t, 2), ca)
			if err != nil {
				t.Fatal(err)
			}
			if err := tra.SetOptimizerState(st); err == nil {
				t.Error("an SGD state restored into an Adam trainer")
			}
		}
	}
	if _, err := ParseOptimizer("rmsprop"); err == nil {
		t.Error("rmsprop accepted")
	}
}
