// Package render turns attribution maps into pictures, for the native
// reports and for the browser demo alike.
//
// The usual path from an attribution (a map with the input image's H*W*C
// shape) to a picture is
//
//	s, _ := render.Saliency(attr, h, w, c, render.Abs)  // H*W, sums to H*W
//	heat, _ := render.PercentileClip(s, 0, 99)          // [0, 1]
//	img, _ := render.Overlay(x, h, w, c, heat, render.DefaultColormap(render.Abs), 0.5)
//
// with SymmetricClip instead of PercentileClip for Signed maps, whose zero
// lands on the centre of a diverging colormap. Upscale, DrawBox and Grid
// then build report figures; image/png encodes them.
//
// Non-finite values in maps (NaN, ±Inf) are treated as 0 everywhere, so a
// diverged attribution renders as an empty map instead of failing or
// producing NaN pixels.
package render

import "math"

// finite returns v, or 0 when v is NaN or infinite.
func finite(v float32) float64 {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}
