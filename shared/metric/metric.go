// Package metric compares attribution maps: the rank and top-k measures that
// Ghorbani et al. use to show that interpretations are fragile, and that the
// ART paper (Singh et al., ECCV 2020, Tables 1-3) reports for attributional
// robustness, plus a small summary of per-image results.
//
// Maps are flattened H*W saliency maps of equal length, as float32 slices;
// every measure works on plain slices, so it runs natively and in WebAssembly.
//
// References:
//
//   - A. Ghorbani, A. Abid, J. Zou. Interpretation of Neural Networks Is
//     Fragile. AAAI 2019 (top-k intersection, Kendall's tau, centre-of-mass shift).
//   - M. G. Kendall. The treatment of ties in ranking problems. Biometrika 33, 1945 (tau-b).
//   - W. R. Knight. A computer method for calculating Kendall's tau with
//     ungrouped data. JASA 61(314), 1966 (the O(n log n) algorithm).
//   - C. Spearman. The proof and measurement of association between two
//     things. Am. J. Psychol. 15, 1904.
package metric

import (
	"fmt"
	"math"
)

// checkPair returns an error unless a and b have the same length.
func checkPair(name string, a, b []float32) error {
	if len(a) != len(b) {
		return fmt.Errorf("metric.%s: lengths differ (%d and %d)", name, len(a), len(b))
	}
	return nil
}

// checkNoNaN returns an error naming the first NaN of a, if any: rank
// measures have no order to work with there.
func checkNoNaN(name, which string, a []float32) error {
	for i, v := range a {
		if v != v {
			return fmt.Errorf("metric.%s: %s[%d] is NaN", name, which, i)
		}
	}
	return nil
}

// pairs2 is the number of unordered pairs among t items, t(t-1)/2.
func pairs2(t int) int64 { return int64(t) * int64(t-1) / 2 }

var nan = math.NaN()
