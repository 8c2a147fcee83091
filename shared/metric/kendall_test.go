package metric

import (
	"math"
	"math/rand/v2"
	"testing"
)

// kendallTauBrute is tau-b from its definition, over all n(n-1)/2 pairs:
// (P - Q) / sqrt((P + Q + Tb)(P + Q + Ta)), Ta and Tb counting the pairs
// tied only in a and only in b.
func kendallTauBrute(a, b []float32) float64 {
	var p, q, ta, tb int64
	for i := range a {
		for j := i + 1; j < len(a); j++ {
			dx, dy := a[i]-a[j], b[i]-b[j]
			switch {
			case dx == 0 && dy == 0:
			case dx == 0:
				ta++
			case dy == 0:
				tb++
			case (dx > 0) == (dy > 0):
				p++
			default:
				q++
			}
		}
	}
	return float64(p-q) / math.Sqrt(float64(p+q+tb)*float64(p+q+ta))
}

// randomMaps returns two length-n slices; with levels > 0 their values are
// quantised to that many levels, so most pairs are tied.
func randomMaps(rng *rand.Rand, n, levels int) ([]float32, []float32) {
	a, b := make([]float32, n), make([]float32, n)
	for i := range a {
		if levels > 0 {
			a[i] = float32(rng.IntN(levels))
			// Correlated with a, so tau spreads over (-1, 1).
			b[i] = float32((int(a[i]) + rng.IntN(3)) % levels)
		} else {
			a[i] = rng.Float32()
			b[i] = a[i] + 0.5*rng.Float32()
		}
	}
	return a, b
}

func testKendallMatchesBruteForce(t *testing.T, levels int) {
	rng := rand.New(rand.NewPCG(5, uint64(levels)))
	for n := 2; n <= 300; n++ {
		a, b := randomMaps(rng, n, levels)
		got, err := KendallTau(a, b)
		if err != nil {
			t.Fatal(err)
		}
		want := kendallTauBrute(a, b)
		if math.IsNaN(want) {
			if !math.IsNaN(got) {
				t.Errorf("n=%d: KendallTau = %v, brute force NaN", n, got)
			}
			continue
		}
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("n=%d: KendallTau = %.17g, brute force %.17g", n, got, want)
		}
	}
}

func TestKendallMatchesBruteForceWithTies(t *testing.T)    { testKendallMatchesBruteForce(t, 5) }
func TestKendallMatchesBruteForceWithFewTies(t *testing.T) { testKendallMatchesBruteForce(t, 50) }
func TestKendallMatchesBruteForceWithoutTies(t *testing.T) { testKendallMatchesBruteForce(t, 0) }

// TestKendallScipyExample is the example of scipy.stats.kendalltau's
// documentation. By hand: of the 10 pairs, 2 are concordant, 6 discordant,
// 1 tied in both and 1 tied in x only; n1 = 2, n2 = 1, so
// tau_b = (2-6)/sqrt((10-2)(10-1)) = -4/sqrt(72).
func TestKendallScipyExample(t *testing.T) {
	x := []float32{12, 2, 1, 12, 2}
	y := []float32{1, 4, 7, 1, 0}
	got, err := KendallTau(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if want := -0.47140452079103173; math.Abs(got-want) > 1e-15 {
		t.Errorf("KendallTau = %.17g, want %.17g", got, want)
	}
}

func TestKendallIdenticalAndReversedRankingsAreExactlyOne(t *testing.T) {
	a := []float32{3, 1, 4, 1, 5, 9, 2, 6}
	rev := make([]float32, len(a))
	for i, v := range a {
		rev[i] = -v
	}
	if got, _ := KendallTau(a, a); got != 1 {
		t.Errorf("KendallTau(a, a) = %.17g, want 1", got)
	}
	if got, _ := KendallTau(a, rev); got != -1 {
		t.Errorf("KendallTau(a, -a) = %.17g, want -1", got)
	}
}

// TestKendallLargeMapsMatchClosedForms runs at 224x224 = 50176 values,
// where 2Q reaches 2.5e9 and would overflow 32-bit counts. With a = 0..n-1
// and b = -a, every pair is discordant: tau = -1. With b = a / m (blocks of m
// tied values) no pair is discordant and n2 = (n/m) m(m-1)/2, so
// tau_b = (n0 - n2) / sqrt(n0 (n0 - n2)) = sqrt(1 - n2/n0).
func TestKendallLargeMapsMatchClosedForms(t *testing.T) {
	const n, m = 224 * 224, 16
	a, rev, blocks := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range a {
		a[i], rev[i], blocks[i] = float32(i), float32(n-i), float32(i/m)
	}
	if got, _ := KendallTau(a, rev); got != -1 {
		t.Errorf("reversed: KendallTau = %.17g, want -1", got)
	}
	n0, n2 := float64(n)*(n-1)/2, float64(n/m)*m*(m-1)/2
	want := math.Sqrt(1 - n2/n0)
	got, err := KendallTau(a, blocks)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("blocks: KendallTau = %.17g, want %.17g", got, want)
	}
}

func TestKendallDegenerateInputsAreNaN(t *testing.T) {
	for _, c := range []struct{ a, b []float32 }{
		{nil, nil},
		{[]float32{1}, []float32{2}},
		{[]float32{1, 1, 1}, []float32{1, 2, 3}},
		{[]float32{1, 2, 3}, []float32{0, 0, 0}},
	} {
		got, err := KendallTau(c.a, c.b)
		if err != nil || !math.IsNaN(got) {
			t.Errorf("KendallTau(%v, %v) = %v, %v; want NaN, nil", c.a, c.b, got, err)
		}
	}
}

func TestKendallRejectsBadInput(t *testing.T) {
	if _, err := KendallTau([]float32{1, 2}, []float32{1}); err == nil {
		t.Error("no error for different lengths")
	}
	if _, err := KendallTau([]float32{1, float32(math.NaN())}, []float32{1, 2}); err == nil {
		t.Error("no error for NaN")
	}
}

func TestMergeSortCountsInversions(t *testing.T) {
	y := []float32{3, 1, 2, 2, 0}
	// Inversions: (3,1) (3,2) (3,2) (3,0) (1,0) (2,0) (2,0); equal 2s are not.
	sorted, got := mergeSortCountingInversions(append([]float32(nil), y...), make([]float32, len(y)))
	if got != 7 {
		t.Errorf("inversions = %d, want 7", got)
	}
	for i := 1; i < len(sorted); i++ {
		if sorted[i-1] > sorted[i] {
			t.Fatalf("not sorted: %v", sorted)
		}
	}
}

func benchmarkKendall(b *testing.B, n int) {
	rng := rand.New(rand.NewPCG(7, 8))
	x, y := randomMaps(rng, n, 0)
	b.ResetTimer()
	for range b.N {
		if _, err := KendallTau(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKendallTau1024(b *testing.B)  { benchmarkKendall(b, 32*32) }
func BenchmarkKendallTau50176(b *testing.B) { benchmarkKendall(b, 224*224) }
