package render

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSaliencyAbsSumsToPixelCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const h, w, c = 5, 7, 3
	m := make([]float32, h*w*c)
	for i := range m {
		m[i] = float32(rng.NormFloat64())
	}
	for _, mode := range []SignMode{Abs, Positive, Negative} {
		s, err := Saliency(m, h, w, c, mode)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, v := range s {
			if v < 0 {
				t.Fatalf("%v: negative value %v", mode, v)
			}
			sum += float64(v)
		}
		if math.Abs(sum-h*w) > 1e-4 {
			t.Errorf("%v: sum = %v, want %d", mode, sum, h*w)
		}
	}
	s, _ := Saliency(m, h, w, c, Signed)
	var sumAbs float64
	for _, v := range s {
		sumAbs += math.Abs(float64(v))
	}
	if math.Abs(sumAbs-h*w) > 1e-4 {
		t.Errorf("Signed: sum of |s| = %v, want %d", sumAbs, h*w)
	}
}

// TestSaliencySignModesHandComputed uses one row of two pixels with two
// channels, (1, -3) and (0, 2). Abs: 4 and 2, scaled by 2/6. Channel sums:
// -2 and 2; Signed scales them by 2/4, Positive keeps (0, 2), Negative (2, 0).
func TestSaliencySignModesHandComputed(t *testing.T) {
	m := []float32{1, -3, 0, 2}
	for _, c := range []struct {
		mode SignMode
		want []float32
	}{
		{Abs, []float32{4.0 / 3, 2.0 / 3}},
		{Signed, []float32{-1, 1}},
		{Positive, []float32{0, 2}},
		{Negative, []float32{2, 0}},
	} {
		got, err := Saliency(m, 1, 2, 2, c.mode)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Abs(float64(got[i]-c.want[i])) > 1e-6 {
				t.Errorf("%v: Saliency = %v, want %v", c.mode, got, c.want)
				break
			}
		}
	}
}

func TestSaliencyAllZeroStaysZero(t *testing.T) {
	for _, mode := range []SignMode{Abs, Positive, Negative, Signed} {
		s, err := Saliency(make([]float32, 12), 2, 2, 3, mode)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s, make([]float32, 4)) {
			t.Errorf("%v: Saliency of zeros = %v", mode, s)
		}
	}
	// Only positive attributions: the Negative view is empty, not NaN.
	s, _ := Saliency([]float32{1, 2, 3, 4}, 2, 2, 1, Negative)
	if !slices.Equal(s, make([]float32, 4)) {
		t.Errorf("Negative of a positive map = %v, want zeros", s)
	}
}

func TestSaliencyTreatsNonFiniteAsZero(t *testing.T) {
	inf := float32(math.Inf(1))
	m := []float32{float32(math.NaN()), 1, inf, 3} // 2 pixels x 2 channels
	s, err := Saliency(m, 1, 2, 2, Abs)
	if err != nil {
		t.Fatal(err)
	}
	// Pixel sums 1 and 3, scaled by 2/4.
	if want := []float32{0.5, 1.5}; !slices.Equal(s, want) {
		t.Errorf("Saliency = %v, want %v", s, want)
	}
}

func TestSaliencyRejectsBadShapes(t *testing.T) {
	if _, err := Saliency(make([]float32, 11), 2, 2, 3, Abs); err == nil {
		t.Error("no error for 11 values as 2x2x3")
	}
	if _, err := Saliency(nil, 0, 0, 3, Abs); err == nil {
		t.Error("no error for an empty map")
	}
	if _, err := Saliency(make([]float32, 4), 2, 2, 1, SignMode(7)); err == nil {
		t.Error("no error for an invalid mode")
	}
}

func TestParseSignModeInvertsString(t *testing.T) {
	for _, m := range []SignMode{Abs, Positive, Negative, Signed} {
		got, err := ParseSignMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseSignMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseSignMode("both"); err == nil {
		t.Error("no error for an unknown name")
	}
}

func TestPercentileInterpolatesLikeNumpy(t *testing.T) {
	// numpy.percentile([1, 2, 3, 4], q) for q = 0, 25, 50, 90, 100.
	sorted := []float64{1, 2, 3, 4}
	for _, c := range []struct{ p, want float64 }{{0, 1}, {25, 1.75}, {50, 2.5}, {90, 3.7}, {100, 4}} {
		if got := percentile(sorted, c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
}

func TestPercentileClipKnownValues(t *testing.T) {
	m := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	// 10th and 90th percentiles of 0..10 are 1 and 9: (v-1)/8, clipped.
	got, err := PercentileClip(m, 10, 90)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1, 1}
	if !slices.Equal(got, want) {
		t.Errorf("PercentileClip = %v, want %v", got, want)
	}
	got, _ = PercentileClip([]float32{float32(math.NaN()), 1, 2}, 0, 100)
	if want := []float32{0, 0.5, 1}; !slices.Equal(got, want) {
		t.Errorf("with NaN: %v, want %v", got, want)
	}
}

func TestPercentileClipDegenerateMaps(t *testing.T) {
	got, _ := PercentileClip([]float32{3, 3, 3}, 1, 99)
	if !slices.Equal(got, []float32{0, 0, 0}) {
		t.Errorf("constant map: %v, want zeros", got)
	}
	// 90% zeros: both percentiles are 0; the one non-zero pixel still shows.
	sparse := make([]float32, 10)
	sparse[7] = 5
	got, _ = PercentileClip(sparse, 0, 50)
	want := make([]float32, 10)
	want[7] = 1
	if !slices.Equal(got, want) {
		t.Errorf("sparse map: %v, want %v", got, want)
	}
	for _, p := range [][2]float64{{-1, 50}, {50, 101}, {60, 40}, {math.NaN(), 50}} {
		if _, err := PercentileClip(sparse, p[0], p[1]); err == nil {
			t.Errorf("no error for percentiles %v", p)
		}
	}
}

func TestSymmetricClipCentresZero(t *testing.T) {
	m := []float32{-2, -1, 0, 1, 4}
	// |m| sorted is 0 1 1 2 4: the 100th percentile is 4, the 50th is 1.
	got, _ := SymmetricClip(m, 100)
	if want := []float32{0.25, 0.375, 0.5, 0.625, 1}; !slices.Equal(got, want) {
		t.Errorf("p=100: %v, want %v", got, want)
	}
	got, _ = SymmetricClip(m, 50)
	if want := []float32{0, 0, 0.5, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("p=50: %v, want %v", got, want)
	}
	got, _ = SymmetricClip([]float32{0, 0, 0, 3, -3}, 50)
	if want := []float32{0.5, 0.5, 0.5, 1, 0}; !slices.Equal(got, want) {
		t.Errorf("sparse: %v, want %v", got, want)
	}
	got, _ = SymmetricClip(make([]float32, 3), 99)
	if want := []float32{0.5, 0.5, 0.5}; !slices.Equal(got, want) {
		t.Errorf("zeros: %v, want %v", got, want)
	}
	if _, err := SymmetricClip(m, 0); err == nil {
		t.Error("no error for p = 0")
	}
}

func BenchmarkSaliency224(b *testing.B) {
	m := make([]float32, 224*224*3)
	for i := range m {
		m[i] = float32(i%17) - 8
	}
	b.ResetTimer()
	for range b.N {
		if _, err := Saliency(m, 224, 224, 3, Abs); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkPercentileClip(b *testing.B, n int) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := make([]float32, n)
	for i := range m {
		m[i] = rng.Float32()
	}
	b.ResetTimer()
	for range b.N {
		if _, err := PercentileClip(m, 1, 99); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPercentileClip1024(b *testing.B)  { benchmarkPercentileClip(b, 32*32) }
func BenchmarkPercentileClip50176(b *testing.B) { benchmarkPercentileClip(b, 224*224) }
