package render

import (
	"fmt"
	"math"
	"slices"
)

// SignMode selects which part of a signed attribution is shown.
type SignMode int

const (
	// Abs shows the magnitude: |attribution| averaged over the channels.
	// These are the maps of the ART paper's evaluation.
	Abs SignMode = iota
	// Positive shows the positive part of the channel sum (evidence for
	// the class).
	Positive
	// Negative shows the magnitude of the negative part of the channel sum
	// (evidence against the class); its values are non-negative.
	Negative
	// Signed keeps the sign of the channel sum; render it with a diverging
	// colormap after SymmetricClip.
	Signed
)

var signModeNames = [...]string{Abs: "abs", Positive: "positive", Negative: "negative", Signed: "signed"}

// String returns the mode's name: "abs", "positive", "negative" or "signed".
func (m SignMode) String() string {
	if m < 0 || int(m) >= len(signModeNames) {
		return fmt.Sprintf("SignMode(%d)", int(m))
	}
	return signModeNames[m]
}

// ParseSignMode returns the mode that String names.
func ParseSignMode(s string) (SignMode, error) {
	if i := slices.Index(signModeNames[:], s); i >= 0 {
		return SignMode(i), nil
	}
	return 0, fmt.Errorf("render: unknown sign mode %q (have abs, positive, negative, signed)", s)
}

// Saliency reduces an attribution map m with the input's H*W*C layout (HWC,
// row-major) to an H*W saliency map, normalised so that its values sum to
// H*W (for Signed, so that their absolute values do).
//
// With mode Abs each pixel is its |m| averaged over the C channels: the
// post-processing of the ART paper (Singh et al., ECCV 2020, Sec. 5.1) and of
// Ghorbani et al. (AAAI 2019) before top-k intersection and Kendall's tau.
// The other modes start from the channel sum of m, as Captum's
// visualisations do, and keep its positive part (Positive), the magnitude of
// its negative part (Negative), or all of it (Signed).
//
// An all-zero result stays all zeros. Non-finite values count as 0. It
// returns an error if len(m) != h*w*c or a dimension is not positive.
func Saliency(m []float32, h, w, c int, mode SignMode) ([]float32, error) {
	if h <= 0 || w <= 0 || c <= 0 || len(m) != h*w*c {
		return nil, fmt.Errorf("render.Saliency: %d values for a %dx%dx%d map", len(m), h, w, c)
	}
	if mode < Abs || mode > Signed {
		return nil, fmt.Errorf("render.Saliency: invalid %v", mode)
	}
	n := h * w
	s := make([]float64, n)
	var total float64
	for p := range n {
		var v float64
		if mode == Abs {
			for _, x := range m[p*c : (p+1)*c] {
				v += math.Abs(finite(x))
			}
		} else {
			for _, x := range m[p*c : (p+1)*c] {
				v += finite(x)
			}
			switch mode {
			case Positive:
				v = max(v, 0)
			case Negative:
				v = max(-v, 0)
			}
		}
		s[p] = v
		total += math.Abs(v)
	}
	out := make([]float32, n)
	if total == 0 {
		return out, nil
	}
	scale := float64(n) / total
	for p, v := range s {
		out[p] = float32(v * scale)
	}
	return out, nil
}

// PercentileClip clips m to its lo-th and hi-th percentiles (0 <= lo <= hi
// <= 100) and rescales that range linearly to [0, 1], so that a few extreme
// attributions do not wash out the rest of the picture.
//
// Percentiles interpolate linearly between order statistics (numpy's
// default, type 7 of Hyndman and Fan 1996). If the two percentiles are equal,
// entries above them map to 1 and the rest to 0: a constant map gives all
// zeros, and a sparse map (mostly zeros) still shows where it is not zero.
// Non-finite values count as 0. It returns an error for percentiles outside
// [0, 100] or lo > hi.
func PercentileClip(m []float32, lo, hi float64) ([]float32, error) {
	if !(0 <= lo && lo <= hi && hi <= 100) {
		return nil, fmt.Errorf("render.PercentileClip: need 0 <= lo <= hi <= 100, got lo = %v, hi = %v", lo, hi)
	}
	v := make([]float64, len(m))
	for i, x := range m {
		v[i] = finite(x)
	}
	out := make([]float32, len(m))
	if len(m) == 0 {
		return out, nil
	}
	sorted := slices.Clone(v)
	slices.Sort(sorted)
	plo, phi := percentile(sorted, lo), percentile(sorted, hi)
	for i, x := range v {
		switch {
		case x > phi:
			out[i] = 1
		case x <= plo:
			out[i] = 0
		default: // plo < x <= phi
			out[i] = float32((x - plo) / (phi - plo))
		}
	}
	return out, nil
}

// SymmetricClip scales a signed map for a diverging colormap: values are
// divided by the p-th percentile (0 < p <= 100) of |m|, clipped to [-1, 1]
// and mapped to [0, 1] by (v+1)/2, so 0 lands on 0.5, the colormap's centre.
//
// Percentiles are as in PercentileClip. If that percentile is 0 (a sparse or
// all-zero map), positive entries map to 1, negative ones to 0 and zeros to
// 0.5. Non-finite values count as 0. It returns an error for p outside
// (0, 100].
func SymmetricClip(m []float32, p float64) ([]float32, error) {
	if !(0 < p && p <= 100) {
		return nil, fmt.Errorf("render.SymmetricClip: need 0 < p <= 100, got %v", p)
	}
	out := make([]float32, len(m))
	if len(m) == 0 {
		return out, nil
	}
	mag := make([]float64, len(m))
	for i, x := range m {
		mag[i] = math.Abs(finite(x))
	}
	slices.Sort(mag)
	scale := percentile(mag, p)
	for i, x := range m {
		v := finite(x)
		if scale > 0 {
			v /= scale
		} else if v != 0 {
			v = math.Copysign(1, v)
		}
		out[i] = float32((max(-1, min(1, v)) + 1) / 2)
	}
	return out, nil
}

// percentile returns the p-th percentile (0..100) of sorted, interpolating
// linearly between the order statistics at ranks floor and ceil of
// p/100 (n-1).
func percentile(sorted []float64, p float64) float64 {
	r := p / 100 * float64(len(sorted)-1)
	i := int(r)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	t := r - float64(i)
	return sorted[i] + t*(sorted[i+1]-sorted[i])
}
