package attribution

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

const size = 16

func testNet(t testing.TB) *model.Net {
	t.Helper()
	cfg, err := model.ParseArch("WRN-10-1", 5, size, 3)
	if err != nil {
		t.Fatal(err)
	}
	vals := cfg.InitValues(7)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, v := range cfg.Variables() {
		switch v.Kind {
		case model.KindBNMean, model.KindBNOffset, model.KindDenseB:
			for i := range vals[v.Path] {
				vals[v.Path][i] = float32(rng.NormFloat64() * 0.2)
			}
		case model.KindBNVar:
			for i := range vals[v.Path] {
				vals[v.Path][i] = float32(0.3 + rng.Float64())
			}
		}
	}
	b, err := compute.New()
	if err != nil {
		t.Fatal(err)
	}
	n, err := model.NewNet(b, cfg, vals)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func images(seed uint64, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, n*size*size*3)
	for i := range x {
		x[i] = rng.Float32()
	}
	return x
}

func sum(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v)
	}
	return s
}

func logits(t *testing.T, n *model.Net, x []float32) []float32 {
	t.Helper()
	l, err := n.Predict(x, model.ReLU)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestIGCompleteness(t *testing.T) {
	n := testNet(t)
	x := images(1, 3)
	targets := []int{0, 3, 4}
	maps, err := Attribute(n, IntegratedGradients{Steps: 256, Rule: RiemannTrapezoid, ChunkSize: 64}, x, targets)
	if err != nil {
		t.Fatal(err)
	}
	zx := logits(t, n, x)
	z0 := logits(t, n, make([]float32, len(x)))
	per := size * size * 3
	for i, tgt := range targets {
		want := float64(zx[i*5+tgt] - z0[i*5+tgt])
		got := sum(maps[i*per : (i+1)*per])
		if math.Abs(got-want) > 0.01*math.Abs(want) {
			t.Errorf("image %d: sum IG = %.5f, z(x)-z(0) = %.5f (more than 1%% apart)", i, got, want)
		}
		t.Logf("image %d: sum IG = %.5f, z(x)-z(0) = %.5f", i, got, want)
	}
}

func TestIGChunkingDoesNotChangeTheMap(t *testing.T) {
	n := testNet(t)
	x := images(2, 2)
	targets := []int{1, 2}
	whole, err := Attribute(n, IntegratedGradients{Steps: 20, Rule: RiemannMiddle}, x, targets)
	if err != nil {
		t.Fatal(err)
	}
	chunked, err := Attribute(n, IntegratedGradients{Steps: 20, Rule: RiemannMiddle, ChunkSize: 7}, x, targets)
	if err != nil {
		t.Fatal(err)
	}
	for i := range whole {
		if math.Abs(float64(whole[i]-chunked[i])) > 1e-5*math.Max(1, math.Abs(float64(whole[i]))) {
			t.Fatalf("value %d: whole %g, chunked %g", i, whole[i], chunked[i])
		}
	}
}

func TestRiemannRulesIntegrateQuadratics(t *testing.T) {
	// The integral of 3a^2 over [0,1] is 1. Left and right rules err by
	// about 3/(2K); middle and trapezoid by O(1/K^2).
	const k = 50
	for _, tc := range []struct {
		r   Rule
		tol float64
	}{{RiemannLeft, 3.1 / (2 * k)}, {RiemannRight, 3.1 / (2 * k)}, {RiemannMiddle, 1.0 / (k * k)}, {RiemannTrapezoid, 1.0 / (k * k)}} {
		a, w := tc.r.alphas(k)
		s, ws := 0.0, 0.0
		for i := range a {
			s += float64(w[i]) * 3 * float64(a[i]) * float64(a[i])
			ws += float64(w[i])
		}
		if math.Abs(ws-1) > 1e-6 {
			t.Errorf("%s: weights sum to %g", tc.r, ws)
		}
		if math.Abs(s-1) > tc.tol || math.Abs(s-1) < tc.tol/100 && (tc.r == RiemannLeft || tc.r == RiemannRight) {
			t.Errorf("%s: integral of 3a^2 = %.6f, want 1 within %.2g", tc.r, s, tc.tol)
		}
	}
}

func TestIGRulesConvergeToTheSameIntegral(t *testing.T) {
	n := testNet(t)
	x := images(3, 1)
	var sums []float64
	for _, r := range []Rule{RiemannTrapezoid, RiemannRight, RiemannMiddle} {
		m, err := Attribute(n, IntegratedGradients{Steps: 200, Rule: r}, x, []int{2})
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, sum(m))
	}
	for i := 1; i < len(sums); i++ {
		if math.Abs(sums[i]-sums[0]) > 0.01*math.Abs(sums[0]) {
			t.Errorf("rule sums %v differ by more than 1%%", sums)
		}
	}
}

func TestIGWithCustomBaselineIsComplete(t *testing.T) {
	n := testNet(t)
	x := images(4, 1)
	base := images(5, 1)
	m, err := Attribute(n, IntegratedGradients{Steps: 256, Rule: RiemannTrapezoid, Baseline: base}, x, []int{3})
	if err != nil {
		t.Fatal(err)
	}
	want := float64(logits(t, n, x)[3] - logits(t, n, base)[3])
	if got := sum(m); math.Abs(got-want) > 0.01*math.Abs(want) {
		t.Errorf("sum IG = %.5f, z(x)-z(b) = %.5f", got, want)
	}
}

func TestInputXGradientIsInputTimesGradient(t *testing.T) {
	n := testNet(t)
	x := images(6, 2)
	targets := []int{4, 0}
	g, err := Attribute(n, Gradient{}, x, targets)
	if err != nil {
		t.Fatal(err)
	}
	ixg, err := Attribute(n, InputXGradient{}, x, targets)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if d := math.Abs(float64(ixg[i] - x[i]*g[i])); d > 1e-6 {
			t.Fatalf("value %d: x*grad = %g, InputXGradient %g", i, x[i]*g[i], ixg[i])
		}
	}
	if sum(g) == 0 {
		t.Fatal("gradient map is all zero")
	}
}

func TestGradientMapsOfABatchAreIndependent(t *testing.T) {
	n := testNet(t)
	x := images(7, 3)
	per := size * size * 3
	batch, err := Attribute(n, Gradient{}, x, []int{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	single, err := Attribute(n, Gradient{}, x[per:2*per], []int{2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range single {
		if math.Abs(float64(single[i]-batch[per+i])) > 1e-6 {
			t.Fatalf("value %d: alone %g, in a batch %g", i, single[i], batch[per+i])
		}
	}
}

func TestSmoothGradWithoutNoiseIsTheGradient(t *testing.T) {
	n := testNet(t)
	x := images(8, 2)
	g, err := Attribute(n, Gradient{}, x, []int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	sg, err := Attribute(n, SmoothGrad{Samples: 4, Sigma: 0, ChunkSize: 3}, x, []int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range g {
		if math.Abs(float64(g[i]-sg[i])) > 1e-5*math.Max(1, math.Abs(float64(g[i]))) {
			t.Fatalf("value %d: gradient %g, SmoothGrad(sigma=0) %g", i, g[i], sg[i])
		}
	}
	noisy, err := Attribute(n, SmoothGrad{Samples: 4, Sigma: 0.2}, x, []int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	diff := 0.0
	for i := range g {
		diff += math.Abs(float64(noisy[i] - g[i]))
	}
	if diff == 0 {
		t.Error("SmoothGrad with sigma 0.2 equals the plain gradient")
	}
}

// GradientSHAP must equal the average of (x - b_k) ⊙ grad(b_k + a_k (x + n_k - b_k))
// over its drawn samples, and with one baseline and no noise it is IG with
// random alphas, so its sum estimates z(x) - z(b).
func TestGradientSHAPAveragesItsSamples(t *testing.T) {
	n := testNet(t)
	x := images(9, 1)
	base := images(10, 1)
	m := GradientSHAP{Samples: 6, Sigma: 0.1, Baselines: [][]float32{base, images(12, 1)}, ChunkSize: 4, Seed: 3}
	got, err := Attribute(n, m, x, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	per := len(x)
	bs, noise, alpha := m.draws(per)
	want := make([]float64, per)
	for k := range m.Samples {
		pt := make([]float32, per)
		for i := range pt {
			b := bs[k*per+i]
			pt[i] = b + alpha[k]*(x[i]+noise[k*per+i]-b)
		}
		g, err := Attribute(n, Gradient{}, pt, []int{1})
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			want[i] += float64((x[i]-bs[k*per+i])*g[i]) / float64(m.Samples)
		}
	}
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-5*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("value %d: GradientSHAP %g, average of its samples %g", i, got[i], want[i])
		}
	}

	mc, err := Attribute(n, GradientSHAP{Samples: 400, Baselines: [][]float32{base}, ChunkSize: 100, Seed: 3}, x, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	diff := float64(logits(t, n, x)[1] - logits(t, n, base)[1])
	if s := sum(mc); math.Abs(s-diff) > 0.25*math.Abs(diff) {
		t.Errorf("sum GradientSHAP = %.5f, z(x)-z(b) = %.5f", s, diff)
	}
}

// For a network ending in global average pooling and a linear layer,
// dz_t/dA_c(i,j) = W[c,t]/(h*w), so at feature resolution Grad-CAM =
// ReLU(CAM)/(h*w) exactly, and the mean of CAM over the grid is z_t - b_t.
func TestGradCAMIsReLUOfCAMForGAPNetworks(t *testing.T) {
	n := testNet(t)
	x := images(11, 2)
	targets := []int32{3, 1}
	out := gmodel.MustCallOnceN(n.Backend, n.Store, func(scope *gmodel.Scope, x, tg *graph.Node) []*graph.Node {
		return []*graph.Node{CAM{}.lowRes(n, x, tg), GradCAM{}.lowRes(n, x, tg)}
	}, tensors.FromFlatDataAndDimensions(x, 2, size, size, 3), tensors.FromFlatDataAndDimensions(targets, 2))
	cam := tensors.MustCopyFlatData[float32](out[0])
	gc := tensors.MustCopyFlatData[float32](out[1])
	const hw = (size / 4) * (size / 4)
	if len(cam) != 2*hw {
		t.Fatalf("CAM has %d values, want 2x%d", len(cam), hw)
	}
	nonzero := 0
	for i := range cam {
		want := math.Max(float64(cam[i]), 0) / hw
		if math.Abs(float64(gc[i])-want) > 1e-6*math.Max(1, want) {
			t.Fatalf("value %d: Grad-CAM %g, ReLU(CAM)/hw %g", i, gc[i], want)
		}
		if gc[i] != 0 {
			nonzero++
		}
	}
	if nonzero == 0 {
		t.Fatal("Grad-CAM map is all zero")
	}
	z := logits(t, n, x)
	bias := tensors.MustCopyFlatData[float32](n.Store.GetVariable("/head/fc/bias").MustValue())
	for i, tgt := range targets {
		mean := sum(cam[i*hw:(i+1)*hw]) / hw
		want := float64(z[i*5+int(tgt)] - bias[tgt])
		if math.Abs(mean-want) > 1e-5 {
			t.Errorf("image %d: mean CAM %.6f, z_t - b_t %.6f", i, mean, want)
		}
	}
	// The upsampled maps have the input's shape and stay non-negative.
	up, err := Attribute(n, GradCAM{}, x, []int{3, 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(up) != len(x) {
		t.Fatalf("Grad-CAM map has %d values, input %d", len(up), len(x))
	}
	for i, v := range up {
		if v < 0 {
			t.Fatalf("upsampled Grad-CAM value %d is negative: %g", i, v)
		}
	}
}

func TestSaliencySumsToPixelCount(t *testing.T) {
	b, err := compute.New()
	if err != nil {
		t.Fatal(err)
	}
	maps := make([]float32, 2*4*4*3)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 4 * 4 * 3 { // second map stays all zero
		maps[i] = float32(rng.NormFloat64())
	}
	out := graph.MustExecOnce(b, func(m *graph.Node) *graph.Node { return Saliency(m) },
		tensors.FromFlatDataAndDimensions(maps, 2, 4, 4, 3))
	s := tensors.MustCopyFlatData[float32](out)
	if got := sum(s[:16]); math.Abs(got-16) > 1e-4 {
		t.Errorf("saliency of a random map sums to %g, want 16", got)
	}
	if got := sum(s[16:]); got != 0 {
		t.Errorf("saliency of a zero map sums to %g, want 0", got)
	}
	// Channel averaging of |m|.
	want := (math.Abs(float64(maps[0])) + math.Abs(float64(maps[1])) + math.Abs(float64(maps[2]))) / 3
	total := 0.0
	for i := range 16 * 3 {
		total += math.Abs(float64(maps[i]))
	}
	want *= 16 / (total / 3)
	if math.Abs(float64(s[0])-want) > 1e-4 {
		t.Errorf("saliency[0] = %g, want %g", s[0], want)
	}
}
