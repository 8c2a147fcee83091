package metric

import (
	"cmp"
	"math"
	"slices"
)

// KendallTau returns Kendall's rank correlation tau-b between a and b,
//
//	tau_b = (P - Q) / sqrt((n0 - n1) (n0 - n2)),
//
// where P and Q count the concordant and discordant pairs, n0 = n(n-1)/2, and
// n1 and n2 count the pairs tied in a and in b (Kendall 1945). It is the
// "Kendall's tau" rank correlation of Ghorbani et al. (AAAI 2019) and of the
// ART paper's attributional-robustness tables, and it equals
// scipy.stats.kendalltau with its default variant "b".
//
// It runs in O(n log n) time with Knight's algorithm (JASA 1966): sort the
// pairs by a then b, count the ties in a and the joint ties, then count the
// exchanges a merge sort by b needs; those are the discordant pairs. Counts
// are int64, so 224x224 maps (about 1.3e9 pairs) are exact.
//
// It returns NaN when n < 2 or when a or b is constant (no pair is untied),
// as scipy does. It returns an error if the lengths differ or a value is NaN.
func KendallTau(a, b []float32) (float64, error) {
	if err := checkPair("KendallTau", a, b); err != nil {
		return 0, err
	}
	if err := checkNoNaN("KendallTau", "a", a); err != nil {
		return 0, err
	}
	if err := checkNoNaN("KendallTau", "b", b); err != nil {
		return 0, err
	}
	n := len(a)
	if n < 2 {
		return nan, nil
	}
	type pair struct{ x, y float32 }
	p := make([]pair, n)
	for i := range p {
		p[i] = pair{a[i], b[i]}
	}
	slices.SortFunc(p, func(u, v pair) int {
		if c := cmp.Compare(u.x, v.x); c != 0 {
			return c
		}
		return cmp.Compare(u.y, v.y)
	})

	// Ties in a (n1) and joint ties in a and b (n3): runs of equal x, and
	// runs of equal y inside them, which the sort made adjacent.
	var n1, n3 int64
	for i := 0; i < n; {
		j := i + 1
		for j < n && p[j].x == p[i].x {
			j++
		}
		n1 += pairs2(j - i)
		for k := i; k < j; {
			l := k + 1
			for l < j && p[l].y == p[k].y {
				l++
			}
			n3 += pairs2(l - k)
			k = l
		}
		i = j
	}

	y := make([]float32, n)
	for i := range p {
		y[i] = p[i].y
	}
	y, swaps := mergeSortCountingInversions(y, make([]float32, n))

	var n2 int64
	for i := 0; i < n; {
		j := i + 1
		for j < n && y[j] == y[i] {
			j++
		}
		n2 += pairs2(j - i)
		i = j
	}

	n0 := pairs2(n)
	if n0 == n1 || n0 == n2 {
		return nan, nil
	}
	// P - Q = (n0 - n1 - n2 + n3) - 2Q, and Q = swaps: in the (x, y) order a
	// pair is discordant exactly when its y values are strictly inverted.
	// The product form of the denominator keeps sqrt(x*x) == x, so identical
	// rankings give exactly 1.
	num := float64(n0 - n1 - n2 + n3 - 2*swaps)
	return num / math.Sqrt(float64(n0-n1)*float64(n0-n2)), nil
}

// mergeSortCountingInversions sorts y ascending by a bottom-up merge sort,
// using buf (len(buf) == len(y)) as scratch, and returns the sorted slice
// (y or buf) and the number of strict inversions, pairs i < j with
// y[i] > y[j]. Equal values are not inversions: a merge takes the left one
// first.
func mergeSortCountingInversions(y, buf []float32) ([]float32, int64) {
	n := len(y)
	var swaps int64
	for width := 1; width < n; width *= 2 {
		lo := 0
		for ; lo+width < n; lo += 2 * width {
			mid, hi := lo+width, min(lo+2*width, n)
			i, j, k := lo, mid, lo
			for i < mid && j < hi {
				if y[j] < y[i] {
					buf[k] = y[j]
					j++
					swaps += int64(mid - i)
				} else {
					buf[k] = y[i]
					i++
				}
				k++
			}
			k += copy(buf[k:], y[i:mid])
			copy(buf[k:], y[j:hi])
		}
		if lo < n {
			copy(buf[lo:], y[lo:]) // an unpaired last run
		}
		y, buf = buf, y
	}
	return y, swaps
}
