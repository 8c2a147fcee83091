package metric

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestTopKIndicesBreaksTiesByIndex(t *testing.T) {
	a := []float32{1, 3, 3, 2, 3}
	for _, c := range []struct {
		k    int
		want []int
	}{
		{0, []int{}},
		{1, []int{1}},
		{2, []int{1, 2}},
		{3, []int{1, 2, 4}},
		{4, []int{1, 2, 4, 3}},
		{5, []int{1, 2, 4, 3, 0}},
		{9, []int{1, 2, 4, 3, 0}}, // clamped to len(a)
		{-1, []int{}},
	} {
		if got := TopKIndices(a, c.k); !slices.Equal(got, c.want) {
			t.Errorf("TopKIndices(%v, %d) = %v, want %v", a, c.k, got, c.want)
		}
	}
}

func TestTopKIndicesRanksNaNLast(t *testing.T) {
	nan32 := float32(math.NaN())
	inf := float32(math.Inf(-1))
	a := []float32{nan32, inf, 0, nan32, -1}
	want := []int{2, 4, 1, 0, 3}
	if got := TopKIndices(a, 5); !slices.Equal(got, want) {
		t.Errorf("TopKIndices(%v, 5) = %v, want %v", a, got, want)
	}
}

// TestTopKIndicesMatchesStableSort checks the heap selection against a full
// stable sort by decreasing value, on inputs with many ties.
func TestTopKIndicesMatchesStableSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + rng.IntN(80)
		a := make([]float32, n)
		for i := range a {
			a[i] = float32(rng.IntN(1 + trial%7))
		}
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		slices.SortStableFunc(all, func(i, j int) int {
			switch {
			case a[i] > a[j]:
				return -1
			case a[i] < a[j]:
				return 1
			}
			return 0
		})
		k := rng.IntN(n + 1)
		if got := TopKIndices(a, k); !slices.Equal(got, all[:k]) {
			t.Fatalf("TopKIndices(%v, %d) = %v, want %v", a, k, got, all[:k])
		}
	}
}

func TestTopKMaskMarksTopK(t *testing.T) {
	got := TopKMask([]float32{0.5, 0.1, 0.9, 0.5}, 2)
	want := []bool{true, false, true, false}
	if !slices.Equal(got, want) {
		t.Errorf("TopKMask = %v, want %v", got, want)
	}
}

func TestTopKIntersectionHandComputed(t *testing.T) {
	a := []float32{5, 4, 3, 2, 1}
	b := []float32{1, 2, 3, 4, 5}
	for _, c := range []struct {
		a, b []float32
		k    int
		want float64
	}{
		{a, b, 2, 0},       // {0,1} vs {4,3}
		{a, b, 3, 1.0 / 3}, // {0,1,2} vs {4,3,2}
		{a, b, 4, 3.0 / 4}, // {0,1,2,3} vs {4,3,2,1}
		{a, b, 5, 1},
		{a, a, 2, 1},
		// Ties by index: the top 2 of b are indices 0 and 1.
		{[]float32{0, 1, 9, 0}, []float32{7, 7, 7, 7}, 2, 0.5},
	} {
		got, err := TopKIntersection(c.a, c.b, c.k)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("TopKIntersection(%v, %v, %d) = %v, want %v", c.a, c.b, c.k, got, c.want)
		}
	}
}

func TestTopKIntersectionRejectsBadInput(t *testing.T) {
	if _, err := TopKIntersection([]float32{1, 2}, []float32{1}, 1); err == nil {
		t.Error("no error for different lengths")
	}
	for _, k := range []int{0, 3, -1} {
		if _, err := TopKIntersection([]float32{1, 2}, []float32{1, 2}, k); err == nil {
			t.Errorf("no error for k = %d with 2 values", k)
		}
	}
}

func benchmarkTopKIntersection(b *testing.B, n, k int) {
	rng := rand.New(rand.NewPCG(3, 4))
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = rng.Float32(), rng.Float32()
	}
	b.ResetTimer()
	for range b.N {
		if _, err := TopKIntersection(x, y, k); err != nil {
			b.Fatal(err)
		}
	}
}

// The paper's settings: k = 100 on 32x32 maps, k = 1000 on 224x224 ones.
func BenchmarkTopKIntersection1024(b *testing.B)  { benchmarkTopKIntersection(b, 32*32, 100) }
func BenchmarkTopKIntersection50176(b *testing.B) { benchmarkTopKIntersection(b, 224*224, 1000) }
