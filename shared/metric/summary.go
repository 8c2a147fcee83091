package metric

import (
	"fmt"
	"math"
	"slices"
)

// Summary describes a sample of per-image results, such as the top-k
// intersections of the test images.
type Summary struct {
	// N is the number of values summarised; NaN values are left out.
	N int
	// NaN is the number of NaN values left out (for example Kendall's tau of
	// constant maps).
	NaN int
	// Mean is the arithmetic mean.
	Mean float64
	// Std is the sample standard deviation, with the n-1 denominator; NaN
	// when N < 2.
	Std float64
	// Median is the middle value, or the mean of the two middle values.
	Median float64
	// Min and Max are the extremes.
	Min, Max float64
}

// Summarize returns the summary of the non-NaN values of x. With no such
// values, every statistic is NaN.
//
// The variance is the corrected two-pass formula of Chan, Golub and LeVeque
// (1983), as in gonum's stat.Variance.
func Summarize(x []float64) Summary {
	v := make([]float64, 0, len(x))
	for _, xi := range x {
		if !math.IsNaN(xi) {
			v = append(v, xi)
		}
	}
	s := Summary{N: len(v), NaN: len(x) - len(v)}
	if s.N == 0 {
		s.Mean, s.Std, s.Median, s.Min, s.Max = nan, nan, nan, nan, nan
		return s
	}
	slices.Sort(v)
	n := float64(s.N)
	var sum float64
	for _, vi := range v {
		sum += vi
	}
	s.Mean = sum / n
	s.Std = nan
	if s.N > 1 {
		var ss, comp float64
		for _, vi := range v {
			d := vi - s.Mean
			ss += d * d
			comp += d
		}
		s.Std = math.Sqrt((ss - comp*comp/n) / (n - 1))
	}
	if s.N%2 == 1 {
		s.Median = v[s.N/2]
	} else {
		s.Median = (v[s.N/2-1] + v[s.N/2]) / 2
	}
	s.Min, s.Max = v[0], v[s.N-1]
	return s
}

// String formats the summary for reports, e.g.
// "0.9176 ± 0.0123 (median 0.9200, min 0.8800, max 0.9500, n=100)", with
// ", NaN=k" added when values were left out.
func (s Summary) String() string {
	str := fmt.Sprintf("%.4f ± %.4f (median %.4f, min %.4f, max %.4f, n=%d", s.Mean, s.Std, s.Median, s.Min, s.Max, s.N)
	if s.NaN > 0 {
		str += fmt.Sprintf(", NaN=%d", s.NaN)
	}
	return str + ")"
}
