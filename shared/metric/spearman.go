package metric

import (
	"math"
	"slices"
)

// SpearmanRho returns Spearman's rank correlation between a and b: the
// Pearson correlation of their ranks, with tied values given the average of
// the ranks they span (Spearman 1904; scipy.stats.spearmanr).
//
// It returns NaN when n < 2 or when a or b is constant, and an error if the
// lengths differ or a value is NaN.
func SpearmanRho(a, b []float32) (float64, error) {
	if err := checkPair("SpearmanRho", a, b); err != nil {
		return 0, err
	}
	if err := checkNoNaN("SpearmanRho", "a", a); err != nil {
		return 0, err
	}
	if err := checkNoNaN("SpearmanRho", "b", b); err != nil {
		return 0, err
	}
	n := len(a)
	if n < 2 {
		return nan, nil
	}
	ra, rb := averageRanks(a), averageRanks(b)
	// Average ranks always sum to n(n+1)/2, so their mean is exact.
	mean := float64(n+1) / 2
	var sab, saa, sbb float64
	for i := range ra {
		da, db := ra[i]-mean, rb[i]-mean
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return nan, nil
	}
	return sab / math.Sqrt(saa*sbb), nil
}

// averageRanks returns the 1-based ranks of a, ties sharing the mean of the
// ranks they occupy ("fractional ranking").
func averageRanks(a []float32) []float64 {
	idx := make([]int, len(a))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		switch {
		case a[i] < a[j]:
			return -1
		case a[i] > a[j]:
			return 1
		}
		return 0
	})
	r := make([]float64, len(a))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && a[idx[j]] == a[idx[i]] {
			j++
		}
		rank := float64(i+j+1) / 2 // mean of i+1 .. j
		for _, k := range idx[i:j] {
			r[k] = rank
		}
		i = j
	}
	return r
}
