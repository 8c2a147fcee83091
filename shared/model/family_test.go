package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// The torchvision counts are sum(p.numel() for p in model.parameters()) of
// torchvision.models.resnetNN(num_classes=1000); VGG16-GAP has no
// torchvision twin, so its count is VGG16's features (14,714,688 of
// vgg16()'s 138,357,544; the classifier is 123,642,856) plus conv6
// (512*1024*9+1024) plus the classifier (1024*C+C).
func TestFamilyParameterCountsMatchTorchvision(t *testing.T) {
	for _, tc := range []struct {
		name    string
		classes int
		want    int
	}{
		{"ResNet-18", 1000, 11_689_512},
		{"ResNet-34", 1000, 21_797_672},
		{"ResNet-50", 1000, 25_557_032},
		{"ResNet-101", 1000, 44_549_160},
		{"ResNet-50", 200, 25_557_032 - 800*2048 - 800},
		{"VGG16-GAP", 1000, 14_714_688 + 4_719_616 + 1_025_000},
		{"VGG16-GAP", 200, 14_714_688 + 4_719_616 + 205_000},
	} {
		c, err := ParseArch(tc.name, tc.classes, 224, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.NumParams(); got != tc.want {
			t.Errorf("%s with %d classes: %d parameters, want %d", tc.name, tc.classes, got, tc.want)
		}
	}
}

func TestParseArchFamilies(t *testing.T) {
	for in, want := range map[string]string{
		"ResNet-50": "ResNet-50", "resnet50": "ResNet-50", "ResNet-18": "ResNet-18",
		"VGG16-GAP": "VGG16-GAP", "vgg16-gap": "VGG16-GAP", "WRN-10-1": "WRN-10-1",
	} {
		c, err := ParseArch(in, 10, 32, 3)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if c.Name() != want {
			t.Errorf("ParseArch(%q).Name() = %q, want %q", in, c.Name(), want)
		}
		back, err := ParseArch(c.Name(), 10, 32, 3)
		if err != nil || back.Family != c.Family || back.Depth != c.Depth {
			t.Errorf("%s does not parse back to itself: %+v, %v", c.Name(), back, err)
		}
	}
	for _, tc := range []struct {
		name string
		size int
		want string
	}{
		{"ResNet-20", 32, "unknown depth"},
		{"ResNet-50", 16, "too small"},
		{"VGG16-GAP", 8, "too small"},
		{"VGG19-GAP", 32, "unknown architecture"},
	} {
		_, err := ParseArch(tc.name, 10, tc.size, 3)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseArch(%q, size %d) = %v, want an error containing %q", tc.name, tc.size, err, tc.want)
		}
	}
	if _, err := ParseArch("ResNet-18", 1, 32, 3); err == nil {
		t.Error("ResNet-18 with one class was accepted")
	}
}

func TestMaxPoolMatchesBruteForce(t *testing.T) {
	const n, h, w, ch = 2, 7, 6, 3
	rng := rand.New(rand.NewPCG(4, 5))
	x := make([]float32, n*h*w*ch)
	for i := range x {
		x[i] = rng.Float32() // >= 0, as after an activation
	}
	for _, tc := range []struct{ k, stride, pad int }{{3, 2, 1}, {2, 2, 0}} {
		e := graph.MustNewExec(testBackend(t), func(x *graph.Node) *graph.Node {
			return maxPool(x, tc.k, tc.stride, tc.pad)
		})
		out := e.MustCall(tensors.FromFlatDataAndDimensions(x, n, h, w, ch))[0]
		ho, wo := ConvOutputSize(h, tc.k, tc.stride, tc.pad), ConvOutputSize(w, tc.k, tc.stride, tc.pad)
		if d := out.Shape().Dimensions; d[1] != ho || d[2] != wo {
			t.Fatalf("k=%d s=%d p=%d: output %v, want %dx%d", tc.k, tc.stride, tc.pad, d, ho, wo)
		}
		got := tensors.MustCopyFlatData[float32](out)
		for b := range n {
			for oy := range ho {
				for ox := range wo {
					for c := range ch {
						best := float32(math.Inf(-1))
						for dy := range tc.k {
							for dx := range tc.k {
								y, xx := oy*tc.stride-tc.pad+dy, ox*tc.stride-tc.pad+dx
								if y >= 0 && y < h && xx >= 0 && xx < w {
									best = max(best, x[((b*h+y)*w+xx)*ch+c])
								}
							}
						}
						if g := got[((b*ho+oy)*wo+ox)*ch+c]; g != best {
							t.Fatalf("k=%d s=%d p=%d: out[%d,%d,%d,%d] = %g, want %g", tc.k, tc.stride, tc.pad, b, oy, ox, c, g, best)
						}
					}
				}
			}
		}
	}
}

// familyNet is a randomly initialised network of the named family with
// randomised batch-norm statistics.
func familyNet(t testing.TB, arch string, classes, size int) *Net {
	t.Helper()
	cfg, err := ParseArch(arch, classes, size, 3)
	if err != nil {
		t.Fatal(err)
	}
	vals := cfg.InitValues(1)
	rng := rand.New(rand.NewPCG(2, 3))
	for _, v := range cfg.Variables() {
		x := vals[v.Path]
		switch v.Kind {
		case KindBNMean, KindBNOffset, KindDenseB, KindConvBias:
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

// The input gradient of a softplus network, which ART differentiates again,
// must be the true derivative through max pools, projections and biases.
func TestFamilyInputGradientsMatchFiniteDifferences(t *testing.T) {
	for _, arch := range []string{"ResNet-18", "VGG16-GAP"} {
		size := 32
		if arch == "VGG16-GAP" {
			size = 16
		}
		n := familyNet(t, arch, 4, size)
		const target = 1
		x := randImages(21, 1, size)
		p := Pass{Act: Softplus(10)}
		e, err := gmodel.NewExec(n.Backend, n.Store, func(scope *gmodel.Scope, x *graph.Node) *graph.Node {
			return graph.Gradient(targetLogitSum(n.Logits(x, p), target), x)[0]
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Call(tensors.FromFlatDataAndDimensions(x, 1, size, size, 3))
		if err != nil {
			t.Fatal(err)
		}
		grad := tensors.MustCopyFlatData[float64](out[0])
		const h = 1e-5
		for _, i := range []int{0, 77, len(x) / 2, len(x) - 5} {
			xp, xm := append([]float64(nil), x...), append([]float64(nil), x...)
			xp[i] += h
			xm[i] -= h
			fd := (logitsF64(t, n, xp, p)[target] - logitsF64(t, n, xm, p)[target]) / (2 * h)
			if math.Abs(fd-grad[i]) > 1e-4*max(1, math.Abs(fd)) {
				t.Errorf("%s: d z_%d / d x[%d] = %.8g, finite difference %.8g", arch, target, i, grad[i], fd)
			}
		}
	}
}

func TestFamilyFeaturesAndLogitShapes(t *testing.T) {
	for _, tc := range []struct {
		arch       string
		size, side int
		ch         int
	}{
		{"ResNet-26", 64, 2, 2048},
		{"VGG16-GAP", 32, 2, 1024},
	} {
		n := familyNet(t, tc.arch, 3, tc.size)
		e, err := gmodel.NewExec(n.Backend, n.Store, func(scope *gmodel.Scope, x *graph.Node) (*graph.Node, *graph.Node) {
			return n.Forward(x, Pass{Act: ReLU})
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Call(tensors.FromFlatDataAndDimensions(toF32(randImages(3, 2, tc.size)), 2, tc.size, tc.size, 3))
		if err != nil {
			t.Fatal(err)
		}
		if d := out[0].Shape().Dimensions; len(d) != 4 || d[0] != 2 || d[1] != tc.side || d[2] != tc.side || d[3] != tc.ch {
			t.Errorf("%s at %d px: features %v, want [2 %d %d %d]", tc.arch, tc.size, d, tc.side, tc.side, tc.ch)
		}
		logits := tensors.MustCopyFlatData[float32](out[1])
		if len(logits) != 6 {
			t.Fatalf("%s: %d logits, want 6", tc.arch, len(logits))
		}
		for i, v := range logits {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Errorf("%s: logit %d is %v", tc.arch, i, v)
			}
		}
	}
}

// The fine-tuning head of ResNet-50 is torchvision's layer4 (14,964,736
// parameters) and fc (2,049,000 for 1000 classes); of VGG16-GAP, conv6 and
// fc.
func TestInHeadCountsTheLastStageAndClassifier(t *testing.T) {
	for _, tc := range []struct {
		arch string
		want int
	}{{"ResNet-50", 14_964_736 + 2_049_000}, {"VGG16-GAP", 4_719_616 + 1_025_000}} {
		c, err := ParseArch(tc.arch, 1000, 224, 3)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, v := range c.Variables() {
			if v.Kind.Trainable() && c.InHead(v.Path) {
				n += product(v.Shape)
			}
		}
		if n != tc.want {
			t.Errorf("%s: %d parameters in the head, want %d", tc.arch, n, tc.want)
		}
	}
}
