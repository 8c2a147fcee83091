package train

import (
	"math/rand/v2"
	"testing"
)

// TestStepsCompileOncePerShape runs several ART and natural steps and checks
// that each method's graph was built and compiled once (GoMLX compiles a
// WRN-16-4 ART step for 12-15 s, so a rebuild per step would dominate), and
// once more for a new batch size.
func TestStepsCompileOncePerShape(t *testing.T) {
	for _, m := range []Method{ART, Natural} {
		n := testNet(t, 3)
		c := DefaultConfig(m)
		c.AttackTopK = 0
		c.ARTSteps = 1
		tr, err := NewTrainer(n, c)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(4, 5))
		step := func(batchSize int) {
			x, y := batch(uint64(batchSize), batchSize)
			if _, err := tr.Step(x, y, 0.05, tr.Noise(rng, len(x), size*size*3)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 4 {
			step(4)
			if got := n.Compiled(); got != 1 {
				t.Fatalf("%s: %d compiled graphs after %d steps, want 1", m, got, i+1)
			}
		}
		step(3)
		step(4)
		if got := n.Compiled(); got != 2 {
			t.Errorf("%s: %d compiled graphs after steps at batch 4 and 3, want 2", m, got)
		}
	}
}
