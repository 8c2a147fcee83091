package metric

import (
	"math"
	"testing"
)

func TestSummarizeHandComputed(t *testing.T) {
	// Mean 2.5; squared deviations 2.25+0.25+0.25+2.25 = 5; std sqrt(5/3).
	s := Summarize([]float64{4, 1, 3, 2})
	want := Summary{N: 4, Mean: 2.5, Std: math.Sqrt(5.0 / 3), Median: 2.5, Min: 1, Max: 4}
	if s != want {
		t.Errorf("Summarize = %+v, want %+v", s, want)
	}
	s = Summarize([]float64{5, math.NaN(), 1, 9})
	want = Summary{N: 3, NaN: 1, Mean: 5, Std: 4, Median: 5, Min: 1, Max: 9}
	if s != want {
		t.Errorf("Summarize with NaN = %+v, want %+v", s, want)
	}
	if got, want := s.String(), "5.0000 ± 4.0000 (median 5.0000, min 1.0000, max 9.0000, n=3, NaN=1)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestSummarizeSmallSamples(t *testing.T) {
	s := Summarize([]float64{0.75})
	if s.N != 1 || s.Mean != 0.75 || s.Median != 0.75 || s.Min != 0.75 || s.Max != 0.75 || !math.IsNaN(s.Std) {
		t.Errorf("one value: %+v", s)
	}
	s = Summarize(nil)
	if s.N != 0 || !math.IsNaN(s.Mean) || !math.IsNaN(s.Median) || !math.IsNaN(s.Min) {
		t.Errorf("no values: %+v", s)
	}
}

// TestSummarizeStdIsStableForLargeOffsets: values 1e9 + {0, 1, 2} have std 1;
// the naive sum-of-squares formula loses it entirely.
func TestSummarizeStdIsStableForLargeOffsets(t *testing.T) {
	s := Summarize([]float64{1e9, 1e9 + 1, 1e9 + 2})
	if math.Abs(s.Std-1) > 1e-9 {
		t.Errorf("Std = %.17g, want 1", s.Std)
	}
}
