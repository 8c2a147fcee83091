package metric

import (
	"fmt"
	"slices"
)

// ranksAbove reports whether a[i] ranks above a[j] in the order used by the
// top-k functions: larger values first, NaN below every number, and equal
// values (or two NaNs) broken by index, the smaller index first. It is a
// strict total order on indices, so the top k are always well defined.
func ranksAbove(a []float32, i, j int) bool {
	x, y := a[i], a[j]
	if x > y {
		return true
	}
	if x < y {
		return false
	}
	if xn, yn := x != x, y != y; xn != yn {
		return yn
	}
	return i < j
}

// TopKIndices returns the indices of the k largest entries of a, largest
// first.
//
// Ties are broken by index: of two equal values the one with the smaller
// index ranks higher, so the result is deterministic. NaN ranks below every
// number, -Inf included. k is clamped to [0, len(a)]. It runs in
// O(n log k) time with a heap of the k best indices seen so far.
func TopKIndices(a []float32, k int) []int {
	k = max(0, min(k, len(a)))
	if k == 0 {
		return []int{}
	}
	// heap is a binary min-heap in the ranksAbove order: heap[0] is the
	// lowest-ranked of the k indices kept.
	heap := make([]int, k)
	for i := range heap {
		heap[i] = i
	}
	below := func(i, j int) bool { return ranksAbove(a, heap[j], heap[i]) }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= k {
				return
			}
			m := l
			if r := l + 1; r < k && below(r, l) {
				m = r
			}
			if !below(m, i) {
				return
			}
			heap[i], heap[m] = heap[m], heap[i]
			i = m
		}
	}
	for i := k/2 - 1; i >= 0; i-- {
		down(i)
	}
	for i := k; i < len(a); i++ {
		if ranksAbove(a, i, heap[0]) {
			heap[0] = i
			down(0)
		}
	}
	slices.SortFunc(heap, func(i, j int) int {
		if ranksAbove(a, i, j) {
			return -1
		}
		return 1
	})
	return heap
}

// TopKMask returns a mask over a that is true exactly at the k entries
// TopKIndices(a, k) returns.
func TopKMask(a []float32, k int) []bool {
	mask := make([]bool, len(a))
	for _, i := range TopKIndices(a, k) {
		mask[i] = true
	}
	return mask
}

// TopKIntersection is the fraction of the k largest entries of a that are
// also among the k largest entries of b, in [0, 1].
//
// It is the top-k intersection of Ghorbani et al. (AAAI 2019, Sec. 3): with a
// the attribution map of the original image and b that of the perturbed one,
// it measures how many of the k most important features stay most important.
// The order, ties and NaN included, is that of TopKIndices. It returns an
// error if the lengths differ or k is outside [1, len(a)].
func TopKIntersection(a, b []float32, k int) (float64, error) {
	if err := checkPair("TopKIntersection", a, b); err != nil {
		return 0, err
	}
	if k < 1 || k > len(a) {
		return 0, fmt.Errorf("metric.TopKIntersection: k = %d outside [1, %d]", k, len(a))
	}
	inB := TopKMask(b, k)
	shared := 0
	for _, i := range TopKIndices(a, k) {
		if inB[i] {
			shared++
		}
	}
	return float64(shared) / float64(k), nil
}
