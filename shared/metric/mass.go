package metric

import (
	"fmt"
	"math"
)

// CenterOfMass returns the centre of mass of a non-negative H*W map m
// (row-major), in pixel coordinates: row and col are the m-weighted means of
// the pixel indices, so a uniform map has its centre at ((h-1)/2, (w-1)/2).
//
// Ghorbani et al. (AAAI 2019, Sec. 3) use it for their centre attack and its
// metric, the shift of the centre of the saliency map, CenterShift.
//
// It returns NaN, NaN when the map's mass is zero, and an error if
// len(m) != h*w or a value is negative, NaN or infinite (take a map through
// render.Saliency with mode Abs first).
func CenterOfMass(m []float32, h, w int) (row, col float64, err error) {
	if h < 0 || w < 0 || len(m) != h*w {
		return 0, 0, fmt.Errorf("metric.CenterOfMass: %d values for a %dx%d map", len(m), h, w)
	}
	var mass, sr, sc float64
	for i := range h {
		for j := range w {
			v := float64(m[i*w+j])
			if !(v >= 0) || math.IsInf(v, 1) {
				return 0, 0, fmt.Errorf("metric.CenterOfMass: value %v at (%d, %d); the map must be finite and non-negative", v, i, j)
			}
			mass += v
			sr += v * float64(i)
			sc += v * float64(j)
		}
	}
	if mass == 0 {
		return nan, nan, nil
	}
	return sr / mass, sc / mass, nil
}

// CenterShift is the Euclidean distance, in pixels, between the centres of
// mass of two non-negative H*W maps: the centre-of-mass dissimilarity of
// Ghorbani et al. (AAAI 2019, Sec. 3). It is NaN if either map has zero
// mass, and an error under the conditions of CenterOfMass.
func CenterShift(a, b []float32, h, w int) (float64, error) {
	ra, ca, err := CenterOfMass(a, h, w)
	if err != nil {
		return 0, fmt.Errorf("metric.CenterShift: first map: %w", err)
	}
	rb, cb, err := CenterOfMass(b, h, w)
	if err != nil {
		return 0, fmt.Errorf("metric.CenterShift: second map: %w", err)
	}
	return math.Hypot(ra-rb, ca-cb), nil
}
