package attack_test

import (
	"math/rand/v2"
	"testing"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/compute"
)

// benchIFIA times IFIA steps on one 32x32 image with an untrained WRN-10-1
// (the cost does not depend on the weights). The step graph is compiled on
// the first call and reused: the reported s/step excludes compilation.
func benchIFIA(b *testing.B, m attribution.Method) {
	cfg, err := model.ParseArch("WRN-10-1", 10, 32, 3)
	if err != nil {
		b.Fatal(err)
	}
	be, err := compute.New()
	if err != nil {
		b.Fatal(err)
	}
	net, err := model.NewNet(be, cfg, cfg.InitValues(1))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 32*32*3)
	for i := range x {
		x[i] = rng.Float32()
	}
	logits, err := net.Predict(x, model.ReLU)
	if err != nil {
		b.Fatal(err)
	}
	y := model.Argmax(logits, 10)
	a := attack.DefaultIFIA()
	a.Steps = 5
	if _, err := a.Attack(net, m, x, y); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := a.Attack(net, m, x, y); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N*a.Steps), "s/step")
}

func BenchmarkIFIAGradientWRN10x1(b *testing.B) { benchIFIA(b, attribution.Gradient{}) }
func BenchmarkIFIAIG100WRN10x1(b *testing.B) {
	benchIFIA(b, attribution.IntegratedGradients{Steps: 100})
}
