package attribution

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/compute"
)

// mnistNet is an MNIST-CNN on 28x28 grey images.
func mnistNet(t testing.TB) *model.Net {
	t.Helper()
	cfg, err := model.ParseArch("MNIST-CNN", 10, 28, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := compute.New()
	if err != nil {
		t.Fatal(err)
	}
	n, err := model.NewNet(b, cfg, cfg.InitValues(3))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// One-channel inputs get one-channel maps: IG keeps its completeness on the
// MNIST-CNN, Grad-CAM is a 28x28x1 map, and CAM, undefined without global
// average pooling, is a one-line error rather than a crash.
func TestOneChannelMapsOnTheMNISTCNN(t *testing.T) {
	n := mnistNet(t)
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 2*28*28)
	for i := range x {
		x[i] = rng.Float32()
	}
	targets := []int{3, 8}
	maps, err := Attribute(n, IntegratedGradients{Steps: 128, Rule: RiemannTrapezoid, Act: model.Softplus(10)}, x, targets)
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != len(x) {
		t.Fatalf("%d map values for %d input values", len(maps), len(x))
	}
	zx, err := n.Predict(x, model.Softplus(10))
	if err != nil {
		t.Fatal(err)
	}
	z0, err := n.Predict(make([]float32, len(x)), model.Softplus(10))
	if err != nil {
		t.Fatal(err)
	}
	for i, tgt := range targets {
		want := float64(zx[i*10+tgt] - z0[i*10+tgt])
		if got := sum(maps[i*784 : (i+1)*784]); math.Abs(got-want) > 0.01*math.Abs(want)+1e-4 {
			t.Errorf("image %d: sum IG = %.5f, z(x)-z(0) = %.5f", i, got, want)
		}
	}
	gc, err := Attribute(n, GradCAM{}, x, targets)
	if err != nil || len(gc) != len(x) {
		t.Errorf("Grad-CAM: %d values, %v; want %d", len(gc), err, len(x))
	}
	_, err = Attribute(n, CAM{}, x, targets)
	if err == nil || !strings.Contains(err.Error(), "CAM is not defined for MNIST-CNN") || strings.Contains(err.Error(), "\n") {
		t.Errorf("CAM on the MNIST-CNN: %v, want a one-line error", err)
	}
}
