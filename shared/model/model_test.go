package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := compute.New()
	if err != nil {
		t.Fatalf("backend: %v", err)
	}
	return b
}

// tinyNet is a WRN-10-1 on 8x8 RGB inputs with randomised batch-norm
// statistics, so that eval-mode passes are not trivially the identity.
func tinyNet(t testing.TB, classes int) *Net {
	t.Helper()
	cfg, err := ParseArch("WRN-10-1", classes, 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	vals := cfg.InitValues(1)
	rng := rand.New(rand.NewPCG(2, 3))
	for _, v := range cfg.Variables() {
		x := vals[v.Path]
		switch v.Kind {
		case KindBNMean, KindBNOffset, KindDenseB:
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 0.1)
			}
		case KindBNVar, KindBNScale:
			for i := range x {
				x[i] = float32(0.5 + rng.Float64())
			}
		}
	}
	n, err := NewNet(testBackend(t), cfg, vals)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func randImages(seed uint64, n, size int) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := make([]float64, n*size*size*3)
	for i := range x {
		x[i] = rng.Float64()
	}
	return x
}

func toF32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// targetLogitSum is sum_i z_{target}(x_i) for a fixed class.
func targetLogitSum(logits *graph.Node, target int) *graph.Node {
	return graph.ReduceAllSum(graph.Slice(logits, graph.AxisRange(), graph.AxisElem(target)))
}

// logitsF64 runs the model in float64 on an NHWC batch.
func logitsF64(t *testing.T, n *Net, x []float64, p Pass) []float64 {
	t.Helper()
	e, err := gmodel.NewExec(n.Backend, n.Store, func(scope *gmodel.Scope, x *graph.Node) *graph.Node {
		return n.Logits(x, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	s := n.Config.InputSize
	out, err := e.Call(tensors.FromFlatDataAndDimensions(x, len(x)/(s*s*3), s, s, 3))
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float64](out[0])
}

func TestInputGradientMatchesFiniteDifferences(t *testing.T) {
	n := tinyNet(t, 5)
	const target = 2
	x := randImages(11, 2, 8)
	for _, p := range []Pass{
		{Act: ReLU},
		{Act: Softplus(DefaultBeta)},
		{Act: Softplus(DefaultBeta), Train: true},
	} {
		e, err := gmodel.NewExec(n.Backend, n.Store, func(scope *gmodel.Scope, x *graph.Node) *graph.Node {
			return graph.Gradient(targetLogitSum(n.Logits(x, p), target), x)[0]
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Call(tensors.FromFlatDataAndDimensions(x, 2, 8, 8, 3))
		if err != nil {
			t.Fatal(err)
		}
		grad := tensors.MustCopyFlatData[float64](out[0])
		f := func(x []float64) float64 {
			l := logitsF64(t, n, x, p)
			return l[target] + l[5+target]
		}
		const h = 1e-5
		rng := rand.New(rand.NewPCG(5, 5))
		maxRel := 0.0
		for range 12 {
			i := rng.IntN(len(x))
			xp, xm := append([]float64(nil), x...), append([]float64(nil), x...)
			xp[i] += h
			xm[i] -= h
			fd := (f(xp) - f(xm)) / (2 * h)
			rel := math.Abs(fd-grad[i]) / math.Max(1e-3, math.Abs(fd))
			maxRel = math.Max(maxRel, rel)
		}
		if maxRel > 1e-4 {
			t.Errorf("%s train=%v: input gradient differs from finite differences by %.2g (relative)", p.Act, p.Train, maxRel)
		}
	}
}

// cosineDistanceLoss is 1 - cos(x, dz_y/dx) summed over the batch: the
// distance the ART loss is built from (Singh et al., Eq. 4).
func cosineDistanceLoss(n *Net, x *graph.Node, target int, p Pass) *graph.Node {
	g := graph.Gradient(targetLogitSum(n.Logits(x, p), target), x)[0]
	b := x.Shape().Dimensions[0]
	xf, gf := graph.Reshape(x, b, -1), graph.Reshape(g, b, -1)
	dot := graph.ReduceSum(graph.Mul(xf, gf), 1)
	norms := graph.Mul(graph.Sqrt(graph.ReduceSum(graph.Square(xf), 1)), graph.Sqrt(graph.ReduceSum(graph.Square(gf), 1)))
	return graph.ReduceAllSum(graph.OneMinus(graph.Div(dot, norms)))
}

func TestSecondOrderWeightGradientMatchesFiniteDifferences(t *testing.T) {
	n := tinyNet(t, 4)
	const target = 1
	x := randImages(3, 2, 8)
	xt := tensors.FromFlatDataAndDimensions(x, 2, 8, 8, 3)
	p := Pass{Act: Softplus(DefaultBeta), Train: true}
	paths := []string{"/stem/conv/weights", "/group2/block0/conv1/weights", "/group3/block0/shortcut/weights", "/group1/block0/bn2/scale", "/head/fc/weights"}
	e, err := gmodel.NewExec(n.Backend, n.Store, func(scope *gmodel.Scope, x *graph.Node) []*graph.Node {
		loss := cosineDistanceLoss(n, x, target, p)
		var ws []*graph.Node
		for _, path := range paths {
			ws = append(ws, n.Store.GetVariable(path).NodeValue(x.Graph()))
		}
		return append([]*graph.Node{loss}, graph.Gradient(loss, ws...)...)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Call(xt)
	if err != nil {
		t.Fatal(err)
	}
	lossExec, err := gmodel.NewExec(n.Backend, n.Store, func(scope *gmodel.Scope, x *graph.Node) *graph.Node {
		return cosineDistanceLoss(n, x, target, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	loss := func() float64 {
		o, err := lossExec.Call(xt)
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float64](o[0])[0]
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for pi, path := range paths {
		grad := tensors.MustCopyFlatData[float32](out[pi+1])
		v := n.Store.GetVariable(path)
		orig := tensors.MustCopyFlatData[float32](v.MustValue())
		for range 3 {
			i := rng.IntN(len(orig))
			set := func(d float32) float64 {
				w := append([]float32(nil), orig...)
				w[i] += d
				v.MustSetValue(tensors.FromFlatDataAndDimensions(w, v.Shape().Dimensions...))
				return float64(w[i])
			}
			const h = 1e-3
			wp := set(h)
			lp := loss()
			wm := set(-h)
			lm := loss()
			set(0)
			fd := (lp - lm) / (wp - wm)
			if diff := math.Abs(fd - float64(grad[i])); diff > 2e-3*math.Max(1, math.Abs(fd)) {
				t.Errorf("%s[%d]: d(1-cos)/dw = %.6g, finite differences %.6g", path, i, grad[i], fd)
			}
		}
	}
}

func TestSoftplusApproachesReLU(t *testing.T) {
	n := tinyNet(t, 5)
	x := randImages(4, 3, 8)
	relu := logitsF64(t, n, x, Pass{Act: ReLU})
	prev := math.Inf(1)
	for _, beta := range []float64{5, 50, 500, 5000} {
		sp := logitsF64(t, n, x, Pass{Act: Softplus(beta)})
		worst := 0.0
		for i := range sp {
			worst = math.Max(worst, math.Abs(sp[i]-relu[i]))
		}
		if worst >= prev {
			t.Errorf("beta=%g: max |softplus - relu| logit gap %.3g did not shrink (previous %.3g)", beta, worst, prev)
		}
		prev = worst
		t.Logf("beta=%g: max logit gap %.3g", beta, worst)
	}
	if prev > 1e-2 {
		t.Errorf("beta=5000: logits still differ from ReLU by %.3g", prev)
	}
}

// TestConvFormulationsAgree checks that the gather, slices, native and
// subsample formulations compute the same values, input gradients and
// second-order kernel gradients, also where the stride does not divide the
// size (subsample pads or crops to whole blocks).
func TestConvFormulationsAgree(t *testing.T) {
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ h, k, stride, pad int }{{9, 3, 1, 1}, {9, 3, 2, 1}, {8, 3, 2, 1}, {8, 1, 2, 0}, {7, 1, 1, 0},
		{9, 1, 2, 0}, {8, 3, 1, 1}, {10, 3, 3, 1}, {11, 5, 2, 2}, {9, 3, 2, 0}} {
		x := make([]float64, 2*tc.h*tc.h*3)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		w := make([]float64, tc.k*tc.k*3*4)
		for i := range w {
			w[i] = rng.NormFloat64()
		}
		var ref []float64
		for _, impl := range []ConvImpl{ConvNative, ConvGather, ConvSlices, ConvSubsample, ConvSpaceToDepth} {
			e := graph.MustNewExec(b, func(x, w *graph.Node) []*graph.Node {
				y := Conv2D(x, w, tc.stride, tc.pad, impl)
				// A second-order quantity: d/dw |dy.sum()/dx|^2 ... via sum(y^2).
				gx := graph.Gradient(graph.ReduceAllSum(graph.Square(y)), x)[0]
				gw := graph.Gradient(graph.ReduceAllSum(graph.Square(gx)), w)[0]
				return []*graph.Node{graph.Reshape(y, -1), graph.Reshape(gx, -1), graph.Reshape(gw, -1)}
			})
			out := e.MustCall(tensors.FromFlatDataAndDimensions(x, 2, tc.h, tc.h, 3),
				tensors.FromFlatDataAndDimensions(w, tc.k, tc.k, 3, 4))
			var all []float64
			for _, o := range out {
				all = append(all, tensors.MustCopyFlatData[float64](o)...)
			}
			if ref == nil {
				ref = all
				continue
			}
			for i := range all {
				if math.Abs(all[i]-ref[i]) > 1e-9*math.Max(1, math.Abs(ref[i])) {
					t.Fatalf("%+v %s: value %d = %g, native gives %g", tc, impl, i, all[i], ref[i])
				}
			}
		}
	}
}

func TestWRNParameterCounts(t *testing.T) {
	// PyTorch's peer reports 77,850 parameters for WRN-10-1 and 2,748,890
	// for WRN-16-4 (10 classes), counting BN affine parameters and the
	// classifier bias.
	for name, want := range map[string]int{"WRN-10-1": 77850, "WRN-16-4": 2748890} {
		cfg, err := ParseArch(name, 10, 32, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.NumParams(); got != want {
			t.Errorf("%s: %d parameters, want %d", name, got, want)
		}
	}
	if _, err := ParseArch("WRN-11-1", 10, 32, 3); err == nil {
		t.Error("WRN-11-1 (depth not 6n+4) was accepted")
	}
}

func TestAutoConvIsGatherOnTheGoBackend(t *testing.T) {
	b := testBackend(t)
	if b.String() != "go" {
		t.Skipf("backend %s", b)
	}
	if got := ResolveConv(ConvAuto, b, 3, 1); got != ConvGather {
		t.Errorf("auto convolution on the Go backend is %s, want gather", got)
	}
}
