package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

// With HeadLRFactor 10 a first step (zero momentum, so the update is linear
// in the rate) moves the head's variables 10 times as far as with one rate,
// and every other variable exactly as far.
func TestHeadLRFactorScalesOnlyTheHeadsStep(t *testing.T) {
	x, y := batch(3, 4)
	deltas := make([]map[string][]float64, 2)
	var heads, others int
	for i, factor := range []float64{1, 10} {
		n := testNet(t, 1)
		before, err := n.Values()
		if err != nil {
			t.Fatal(err)
		}
		c := DefaultConfig(Natural)
		c.HeadLRFactor = factor
		tr, err := NewTrainer(n, c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Step(x, y, 0.05, tr.Noise(rand.New(rand.NewPCG(1, 1)), len(x), size*size*3)); err != nil {
			t.Fatal(err)
		}
		after, err := n.Values()
		if err != nil {
			t.Fatal(err)
		}
		deltas[i] = map[string][]float64{}
		for _, v := range n.Config.Variables() {
			if !v.Kind.Trainable() {
				continue
			}
			d := make([]float64, len(before[v.Path]))
			for j := range d {
				d[j] = float64(after[v.Path][j]) - float64(before[v.Path][j])
			}
			deltas[i][v.Path] = d
		}
	}
	n := testNet(t, 1)
	for path, d1 := range deltas[0] {
		want := 1.0
		if n.Config.InHead(path) {
			want = 10
			heads++
		} else {
			others++
		}
		for j, a := range d1 {
			b := deltas[1][path][j]
			if math.Abs(b-want*a) > 1e-6+1e-3*math.Abs(want*a) {
				t.Fatalf("%s[%d]: moved %g with factor 10 and %g with 1, want ratio %g", path, j, b, a, want)
			}
		}
	}
	if heads == 0 || others == 0 {
		t.Fatalf("%d head and %d other variables: the test needs both", heads, others)
	}
	if err := (Config{Method: Natural, HeadLRFactor: -1}).Validate(); err == nil {
		t.Error("a negative head learning-rate factor was accepted")
	}
}
