package metric

import (
	"math"
	"math/rand/v2"
	"testing"
)

// spearmanDirect ranks by counting (rank = #smaller + (#equal + 1)/2) and
// correlates with a two-pass Pearson formula.
func spearmanDirect(a, b []float32) float64 {
	rank := func(x []float32) []float64 {
		r := make([]float64, len(x))
		for i := range x {
			less, equal := 0, 0
			for j := range x {
				if x[j] < x[i] {
					less++
				} else if x[j] == x[i] {
					equal++
				}
			}
			r[i] = float64(less) + float64(equal+1)/2
		}
		return r
	}
	ra, rb := rank(a), rank(b)
	var ma, mb float64
	for i := range ra {
		ma += ra[i]
		mb += rb[i]
	}
	ma /= float64(len(ra))
	mb /= float64(len(rb))
	var sab, saa, sbb float64
	for i := range ra {
		sab += (ra[i] - ma) * (rb[i] - mb)
		saa += (ra[i] - ma) * (ra[i] - ma)
		sbb += (rb[i] - mb) * (rb[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb)
}

func TestSpearmanMatchesDirectComputation(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, levels := range []int{0, 3, 5, 40} {
		for n := 2; n <= 200; n += 3 {
			a, b := randomMaps(rng, n, levels)
			got, err := SpearmanRho(a, b)
			if err != nil {
				t.Fatal(err)
			}
			want := spearmanDirect(a, b)
			if math.IsNaN(want) != math.IsNaN(got) || math.Abs(got-want) > 1e-12 {
				t.Errorf("levels=%d n=%d: SpearmanRho = %.17g, direct %.17g", levels, n, got, want)
			}
		}
	}
}

// TestSpearmanScipyExample is scipy.stats.spearmanr's documented example.
// By hand: ranks of y are 1, 2, 3.5, 5, 3.5; deviations from 3 give
// sum(dx dy) = 8, sum(dx^2) = 10, sum(dy^2) = 9.5, rho = 8/sqrt(95).
func TestSpearmanScipyExample(t *testing.T) {
	got, err := SpearmanRho([]float32{1, 2, 3, 4, 5}, []float32{5, 6, 7, 8, 7})
	if err != nil {
		t.Fatal(err)
	}
	if want := 0.82078268166812329; math.Abs(got-want) > 1e-15 {
		t.Errorf("SpearmanRho = %.17g, want %.17g", got, want)
	}
}

// TestSpearmanMatchesClassicFormulaWithoutTies checks
// rho = 1 - 6 sum(d^2) / (n (n^2 - 1)), valid when there are no ties.
func TestSpearmanMatchesClassicFormulaWithoutTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n = 50
	perm := rng.Perm(n)
	a, b := make([]float32, n), make([]float32, n)
	var d2 float64
	for i := range a {
		a[i], b[i] = float32(i), float32(perm[i])
		d := float64(i - perm[i])
		d2 += d * d
	}
	want := 1 - 6*d2/(n*(n*n-1))
	got, err := SpearmanRho(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("SpearmanRho = %.17g, want %.17g", got, want)
	}
}

func TestSpearmanDegenerateAndBadInput(t *testing.T) {
	if got, err := SpearmanRho([]float32{2, 2, 2}, []float32{1, 2, 3}); err != nil || !math.IsNaN(got) {
		t.Errorf("constant input: %v, %v; want NaN, nil", got, err)
	}
	if _, err := SpearmanRho([]float32{1}, []float32{1, 2}); err == nil {
		t.Error("no error for different lengths")
	}
	if _, err := SpearmanRho([]float32{1, 2}, []float32{float32(math.NaN()), 2}); err == nil {
		t.Error("no error for NaN")
	}
}

func benchmarkSpearman(b *testing.B, n int) {
	rng := rand.New(rand.NewPCG(13, 14))
	x, y := randomMaps(rng, n, 0)
	b.ResetTimer()
	for range b.N {
		if _, err := SpearmanRho(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSpearmanRho1024(b *testing.B)  { benchmarkSpearman(b, 32*32) }
func BenchmarkSpearmanRho50176(b *testing.B) { benchmarkSpearman(b, 224*224) }
