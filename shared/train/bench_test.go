package train

import (
	"math/rand/v2"
	"testing"

	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/compute"
)

// benchStep measures one training step of WRN-10-1 at batch 64 on 32x32x3,
// the workload of the PyTorch peer (../shared/peer/peer.py).
func benchStep(b *testing.B, m Method, arch string) {
	cfg, err := model.ParseArch(arch, 10, 32, 3)
	if err != nil {
		b.Fatal(err)
	}
	backend, err := compute.New()
	if err != nil {
		b.Fatal(err)
	}
	net, err := model.NewNet(backend, cfg, cfg.InitValues(1))
	if err != nil {
		b.Fatal(err)
	}
	c := DefaultConfig(m)
	c.PGDSteps = 10
	c.AttackTopK = 0
	tr, err := NewTrainer(net, c)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 64*32*32*3)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]int32, 64)
	for i := range y {
		y[i] = int32(rng.IntN(10))
	}
	noise := tr.Noise(rng, len(x), 32*32*3)
	if _, err := tr.Step(x, y, 0.1, noise); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := tr.Step(x, y, 0.1, noise); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "images/s")
}

func BenchmarkNaturalStepWRN10x1(b *testing.B) { benchStep(b, Natural, "WRN-10-1") }
func BenchmarkPGD10StepWRN10x1(b *testing.B)   { benchStep(b, PGD, "WRN-10-1") }
func BenchmarkARTStepWRN10x1(b *testing.B)     { benchStep(b, ART, "WRN-10-1") }
