package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

const igSize, igClasses = 8, 3

// igNet is an MNIST-CNN on 8x8 grey images.
func igNet(t testing.TB) *model.Net {
	t.Helper()
	cfg, err := model.ParseArch("MNIST-CNN", igClasses, igSize, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := compute.New()
	if err != nil {
		t.Fatal(err)
	}
	n, err := model.NewNet(b, cfg, cfg.InitValues(4))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// igPair returns n grey images x, points adv within 0.3 of them, and labels.
func igPair(seed uint64, n int) (x, adv []float64, y []int32) {
	rng := rand.New(rand.NewPCG(seed, 5))
	x = make([]float64, n*igSize*igSize)
	adv = make([]float64, len(x))
	for i := range x {
		x[i] = rng.Float64()
		adv[i] = min(1, max(0, x[i]+0.6*rng.Float64()-0.3))
	}
	y = make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(igClasses))
	}
	return x, adv, y
}

func imgTensor(v []float64) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(v, len(v)/(igSize*igSize), igSize, igSize, 1)
}

// lossF64 is the per-example loss -log softmax_y of the model in float64.
func lossF64(t *testing.T, net *model.Net, x []float64, y []int32, p model.Pass) []float64 {
	t.Helper()
	out := gmodel.MustCallOnceN(net.Backend, net.Store, func(scope *gmodel.Scope, x, y *graph.Node) []*graph.Node {
		logits := net.Logits(x, p)
		lp := graph.LogSoftmax(logits, 1)
		return []*graph.Node{graph.Neg(graph.ReduceSum(graph.Mul(lp, graph.OneHot(y, igClasses, lp.DType())), 1))}
	}, imgTensor(x), tensors.FromFlatDataAndDimensions(y, len(y)))
	return tensors.MustCopyFlatData[float64](out[0])
}

func lossIG(t *testing.T, net *model.Net, x, adv []float64, y []int32, m, every int, p model.Pass) []float64 {
	t.Helper()
	out := gmodel.MustCallOnceN(net.Backend, net.Store, func(scope *gmodel.Scope, x, adv, y *graph.Node) []*graph.Node {
		return []*graph.Node{LossIntegratedGradients(net, x, adv, y, m, every, p)}
	}, imgTensor(x), imgTensor(adv), tensors.FromFlatDataAndDimensions(y, len(y)))
	return tensors.MustCopyFlatData[float64](out[0])
}

// Completeness (Sundararajan et al., Prop. 1): the IG of the loss along the
// path from x to x' sums to l(x') - l(x), up to the right Riemann sum's
// error, which shrinks like 1/m: 8 times more points leave at most a
// quarter of the error, and under 5e-4.
func TestLossIGSumsToTheLossDifference(t *testing.T) {
	net := igNet(t)
	x, adv, y := igPair(1, 3)
	p := model.Pass{Act: model.Softplus(5)}
	lx, ladv := lossF64(t, net, x, y, p), lossF64(t, net, adv, y, p)
	per := igSize * igSize
	errs := map[int][]float64{}
	for _, m := range []int{50, 400} {
		ig := lossIG(t, net, x, adv, y, m, 1, p)
		for i := range y {
			s := 0.0
			for _, v := range ig[i*per : (i+1)*per] {
				s += v
			}
			errs[m] = append(errs[m], math.Abs(s-(ladv[i]-lx[i])))
		}
	}
	for i := range y {
		if e50, e400 := errs[50][i], errs[400][i]; e400 > e50/4 || e400 > 5e-4 {
			t.Errorf("image %d: |sum IG - (l(x') - l(x))| = %.3g with 50 points, %.3g with 400", i, e50, e400)
		}
	}
}

// The attack's approximation takes the points k = every, 2*every, ..., m
// scaled by every/m: with m = 10 and every 5, the points 1/2 and 1 of the
// 2-point sum.
func TestLossIGApproximationUsesEveryKthPoint(t *testing.T) {
	net := igNet(t)
	x, adv, y := igPair(2, 2)
	p := model.Pass{Act: model.ReLU}
	a := lossIG(t, net, x, adv, y, 10, 5, p)
	b := lossIG(t, net, x, adv, y, 2, 1, p)
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-12 {
			t.Fatalf("value %d: every 5th of 10 points %g, 2 points %g", i, a[i], b[i])
		}
	}
}

// The gradient of mean ||IG(x, x')||_1 with respect to the weights, which
// IG-NORM's update follows, matches central finite differences, for every
// layer of the MNIST-CNN, with softplus and with ReLU (Chen et al.'s
// choice). The term is a gradient, so it jumps wherever a max pool's winner
// or a ReLU's sign changes: the differences are taken over 1e-5, across
// which none does here.
func TestIGNormWeightGradientMatchesFiniteDifferences(t *testing.T) {
	net := igNet(t)
	x, adv, y := igPair(3, 2)
	xt, advt, yt := imgTensor(x), imgTensor(adv), tensors.FromFlatDataAndDimensions(y, len(y))
	paths := []string{"/conv1/weights", "/conv1/bias", "/conv2/weights", "/fc1/weights", "/fc2/weights", "/fc2/bias"}
	term := func(p model.Pass, x, adv, y *graph.Node) *graph.Node {
		return graph.ReduceAllMean(IGNorm1(LossIntegratedGradients(net, x, adv, y, 4, 1, p)))
	}
	for _, p := range []model.Pass{{Act: model.Softplus(4), Train: true}, {Act: model.ReLUTwice, Train: true}} {
		grads := gmodel.MustCallOnceN(net.Backend, net.Store, func(scope *gmodel.Scope, x, adv, y *graph.Node) []*graph.Node {
			var ws []*graph.Node
			for _, path := range paths {
				ws = append(ws, net.Store.GetVariable(path).NodeValue(x.Graph()))
			}
			return graph.Gradient(term(p, x, adv, y), ws...)
		}, xt, advt, yt)
		value, err := gmodel.NewExec(net.Backend, net.Store, func(scope *gmodel.Scope, x, adv, y *graph.Node) *graph.Node {
			return term(p, x, adv, y)
		})
		if err != nil {
			t.Fatal(err)
		}
		f := func() float64 {
			o, err := value.Call(xt, advt, yt)
			if err != nil {
				t.Fatal(err)
			}
			return tensors.MustCopyFlatData[float64](o[0])[0]
		}
		rng := rand.New(rand.NewPCG(7, 7))
		for pi, path := range paths {
			g := tensors.MustCopyFlatData[float32](grads[pi])
			v := net.Store.GetVariable(path)
			orig := tensors.MustCopyFlatData[float32](v.MustValue())
			// The entry of largest gradient and two random ones.
			idx := []int{argMaxAbs(g), rng.IntN(len(g)), rng.IntN(len(g))}
			for _, i := range idx {
				set := func(d float32) float64 {
					w := append([]float32(nil), orig...)
					w[i] += d
					v.MustSetValue(tensors.FromFlatDataAndDimensions(w, v.Shape().Dimensions...))
					return float64(w[i])
				}
				const h = 1e-5
				wp := set(h)
				fp := f()
				wm := set(-h)
				fm := f()
				set(0)
				fd := (fp - fm) / (wp - wm)
				if math.Abs(fd-float64(g[i])) > 2e-3*math.Abs(fd)+1e-4*maxAbs(g) {
					t.Errorf("%s, %s[%d]: d mean||IG||_1 / dw = %.6g, finite differences %.6g", p.Act, path, i, g[i], fd)
				}
			}
		}
	}
}

// The inner attack ascends ||IG_approx(x, x')||_1: its gradient with
// respect to x' matches finite differences (softplus), and the attack's
// result stays within eps of x and in [0,1].
func TestIGAttackGradientAndBounds(t *testing.T) {
	net := igNet(t)
	x, adv, y := igPair(4, 2)
	p := model.Pass{Act: model.Softplus(4), Train: true}
	obj := func(x, adv, y *graph.Node) *graph.Node {
		return graph.ReduceAllSum(IGNorm1(LossIntegratedGradients(net, x, adv, y, 10, 5, p)))
	}
	yt := tensors.FromFlatDataAndDimensions(y, len(y))
	out := gmodel.MustCallOnceN(net.Backend, net.Store, func(scope *gmodel.Scope, x, adv, y *graph.Node) []*graph.Node {
		return []*graph.Node{graph.Gradient(obj(x, adv, y), adv)[0]}
	}, imgTensor(x), imgTensor(adv), yt)
	g := tensors.MustCopyFlatData[float64](out[0])
	value, err := gmodel.NewExec(net.Backend, net.Store, func(scope *gmodel.Scope, x, adv, y *graph.Node) *graph.Node {
		return obj(x, adv, y)
	})
	if err != nil {
		t.Fatal(err)
	}
	f := func(a []float64) float64 {
		o, err := value.Call(imgTensor(x), imgTensor(a), yt)
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float64](o[0])[0]
	}
	for _, i := range []int{0, 17, 64 + 40, len(adv) - 1} {
		const h = 1e-6
		ap, am := append([]float64(nil), adv...), append([]float64(nil), adv...)
		ap[i] += h
		am[i] -= h
		fd := (f(ap) - f(am)) / (2 * h)
		if math.Abs(fd-g[i]) > 1e-4*math.Max(1, math.Abs(fd)) {
			t.Errorf("d obj / d x'[%d] = %.8g, finite differences %.8g", i, g[i], fd)
		}
	}

	c := DefaultConfig(IGNorm)
	c.IGSteps, c.IGApprox, c.IGAttackSteps, c.IGAttackEps, c.IGAttackStep = 10, 5, 5, 0.1, 0.03
	tr, err := NewTrainer(net, c)
	if err != nil {
		t.Fatal(err)
	}
	noise := tr.Noise(rand.New(rand.NewPCG(1, 1)), len(x), igSize*igSize)
	res := gmodel.MustCallOnceN(net.Backend, net.Store, func(scope *gmodel.Scope, x, y, noise *graph.Node) []*graph.Node {
		a := tr.igAttack(x, y, noise)
		start := graph.ClipScalar(graph.Add(x, noise), 0, 1)
		return []*graph.Node{a, obj(x, a, y), obj(x, start, y)}
	}, imgTensor(x), yt, tensors.FromFlatDataAndDimensions(toF64(noise), len(y), igSize, igSize, 1))
	a := tensors.MustCopyFlatData[float64](res[0])
	for i := range a {
		if a[i] < 0 || a[i] > 1 || math.Abs(a[i]-x[i]) > 0.1+1e-12 {
			t.Fatalf("x'[%d] = %g leaves [0,1] or the 0.1-ball around x = %g", i, a[i], x[i])
		}
	}
	after, before := tensors.MustCopyFlatData[float64](res[1])[0], tensors.MustCopyFlatData[float64](res[2])[0]
	if !(after > before) {
		t.Errorf("the attack did not raise ||IG||_1: %g at the start, %g after", before, after)
	}
}

// One IG-NORM and one IG-SUM-NORM step: finite loss CE + lambda * attr with
// a positive attribution term, changed weights; IG-SUM-NORM's CE is that of
// x', not of x.
func TestIGNormStepsRun(t *testing.T) {
	x32, _, y := igPair(5, 4)
	x := make([]float32, len(x32))
	for i, v := range x32 {
		x[i] = float32(v)
	}
	var ce [2]float64
	for mi, m := range []Method{IGNorm, IGSumNorm} {
		net := igNet(t)
		before, _ := net.Values()
		c := DefaultConfig(m)
		c.IGSteps, c.IGApprox, c.IGAttackSteps, c.IGAttackEps, c.IGAttackStep, c.Lambda = 4, 2, 2, 0.3, 0.1, 0.7
		tr, err := NewTrainer(net, c)
		if err != nil {
			t.Fatal(err)
		}
		met, err := tr.Step(x, y, 1e-3, tr.Noise(rand.New(rand.NewPCG(2, 2)), len(x), igSize*igSize))
		if err != nil {
			t.Fatal(err)
		}
		if !(met.Attr > 0) || math.Abs(met.Loss-(met.CE+0.7*met.Attr)) > 1e-4*met.Loss {
			t.Errorf("%s: metrics %+v, want loss = CE + 0.7 attr with attr > 0", m, met)
		}
		ce[mi] = met.CE
		after, _ := net.Values()
		if maxAbs(after["/fc1/weights"])-maxAbs(before["/fc1/weights"]) == 0 && after["/conv1/weights"][0] == before["/conv1/weights"][0] {
			t.Errorf("%s: the step left the weights unchanged", m)
		}
	}
	if ce[0] == ce[1] {
		t.Errorf("IG-NORM and IG-SUM-NORM give the same CE %g: IG-SUM-NORM's should be on x'", ce[0])
	}
}

func TestIGNormConfigValidation(t *testing.T) {
	c := DefaultConfig(IGNorm)
	if err := c.Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.IGSteps = 0 },
		func(c *Config) { c.IGApprox = 3 }, // does not divide 50
		func(c *Config) { c.IGAttackEps = -1 },
		func(c *Config) { c.IGBeta = -1 },
	} {
		c := DefaultConfig(IGSumNorm)
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c.IGNormConfig)
		}
	}
	for _, s := range []string{"ig-norm", "IG-SUM-NORM"} {
		if _, err := ParseMethod(s); err != nil {
			t.Errorf("ParseMethod(%q): %v", s, err)
		}
	}
}

func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

func argMaxAbs(v []float32) int {
	best := 0
	for i, x := range v {
		if math.Abs(float64(x)) > math.Abs(float64(v[best])) {
			best = i
		}
	}
	return best
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
