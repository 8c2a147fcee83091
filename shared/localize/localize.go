// Package localize turns attribution maps into bounding boxes and
// segmentation masks, and scores them against ground truth: the weakly
// supervised localization of the ART paper (Singh et al., ECCV 2020, Sec. 5.4,
// Table 2 on CUB-200 and the Flowers segmentation study), which follows the
// CAM protocol of Zhou et al. (CVPR 2016).
//
// The pipeline from a map with the input's H*W*C layout is
//
//	heat, _ := localize.Heat(attr, h, w, c, localize.DefaultOptions())   // H*W in [0,1]
//	box, mask := localize.Locate(heat, h, w, 0.2, localize.Largest)
//
// Heat takes |map| averaged over the channels, clips it to two percentiles
// and rescales that range to [0,1] (render.Saliency and render.PercentileClip),
// then applies a mean filter and an optional Gaussian blur. Locate keeps the
// pixels above a fraction of the heat's maximum and returns the bounding box
// of the largest 8-connected component of them (or of all of them) and the
// mask of all of them.
//
// Boxes are data.Box values in pixel coordinates with exclusive upper
// bounds: a box around the single pixel (x, y) is {x, y, x+1, y+1}, the
// convention of the datasets' ground-truth boxes.
package localize

import (
	"fmt"
	"math"

	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/render"
)

// BoxMode selects which thresholded pixels the predicted box bounds.
type BoxMode int

const (
	// Largest bounds the largest 8-connected component of the pixels above
	// the threshold (the CAM protocol keeps the largest one).
	Largest BoxMode = iota
	// All bounds every pixel above the threshold.
	All
)

func (m BoxMode) String() string {
	switch m {
	case Largest:
		return "largest"
	case All:
		return "all"
	}
	return fmt.Sprintf("BoxMode(%d)", int(m))
}

// ParseBoxMode returns the mode that String names.
func ParseBoxMode(s string) (BoxMode, error) {
	switch s {
	case "largest":
		return Largest, nil
	case "all":
		return All, nil
	}
	return 0, fmt.Errorf("localize: unknown box mode %q (want largest or all)", s)
}

// Options are the map post-processing settings of Heat.
type Options struct {
	// Low and High are the percentiles (0 <= Low <= High <= 100) the
	// grayscale map is clipped to before it is rescaled to [0,1].
	Low, High float64
	// Filter is the side of the mean filter (odd, >= 1; 1 leaves the map as
	// it is).
	Filter int
	// Sigma is the standard deviation in pixels of a Gaussian blur applied
	// after the mean filter (0: none).
	Sigma float64
}

// DefaultOptions are percentiles 2 and 98, a 3x3 mean filter and no
// Gaussian blur.
func DefaultOptions() Options { return Options{Low: 2, High: 98, Filter: 3} }

// Validate reports the first setting out of range.
func (o Options) Validate() error {
	if !(0 <= o.Low && o.Low <= o.High && o.High <= 100) {
		return fmt.Errorf("localize: percentiles %g and %g, want 0 <= low <= high <= 100", o.Low, o.High)
	}
	if o.Filter < 1 || o.Filter%2 == 0 {
		return fmt.Errorf("localize: mean filter size %d, want an odd number >= 1", o.Filter)
	}
	if !(o.Sigma >= 0) || math.IsInf(o.Sigma, 0) {
		return fmt.Errorf("localize: Gaussian sigma %g, want a finite value >= 0", o.Sigma)
	}
	return nil
}

// Heat reduces an attribution map attr (H*W*C, HWC) to an H*W heat map in
// [0,1]: |attr| averaged over the channels, clipped to its o.Low and o.High
// percentiles and rescaled linearly to [0,1], then mean filtered and
// optionally blurred. Non-finite values count as 0. An all-zero map stays
// all zero.
func Heat(attr []float32, h, w, c int, o Options) ([]float32, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	gray, err := render.Saliency(attr, h, w, c, render.Abs)
	if err != nil {
		return nil, err
	}
	heat, err := render.PercentileClip(gray, o.Low, o.High)
	if err != nil {
		return nil, err
	}
	heat = MeanFilter(heat, h, w, o.Filter)
	if o.Sigma > 0 {
		heat = GaussianBlur(heat, h, w, o.Sigma)
	}
	return heat, nil
}

// MeanFilter averages each pixel of the h*w map m over the size x size
// window centred on it. Near the border the window is cut to the image and
// the mean is over the pixels inside it, so a constant map stays constant.
// size 1 (or less) returns a copy of m.
func MeanFilter(m []float32, h, w, size int) []float32 {
	out := make([]float32, len(m))
	if size <= 1 {
		copy(out, m)
		return out
	}
	r := size / 2
	// Summed-area table with a zero first row and column.
	sat := make([]float64, (h+1)*(w+1))
	for y := range h {
		var row float64
		for x := range w {
			row += float64(m[y*w+x])
			sat[(y+1)*(w+1)+x+1] = sat[y*(w+1)+x+1] + row
		}
	}
	for y := range h {
		y0, y1 := max(y-r, 0), min(y+r+1, h)
		for x := range w {
			x0, x1 := max(x-r, 0), min(x+r+1, w)
			s := sat[y1*(w+1)+x1] - sat[y0*(w+1)+x1] - sat[y1*(w+1)+x0] + sat[y0*(w+1)+x0]
			out[y*w+x] = float32(s / float64((y1-y0)*(x1-x0)))
		}
	}
	return out
}

// GaussianBlur convolves the h*w map m with a Gaussian of standard
// deviation sigma pixels, truncated at 3 sigma, separably along rows and
// columns. Near the border the weights are renormalised over the pixels
// inside the image, so a constant map stays constant. sigma <= 0 returns a
// copy of m.
func GaussianBlur(m []float32, h, w int, sigma float64) []float32 {
	out := make([]float32, len(m))
	if !(sigma > 0) {
		copy(out, m)
		return out
	}
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
	}
	tmp := make([]float64, len(m))
	for y := range h {
		for x := range w {
			var s, ws float64
			for i := max(x-r, 0); i < min(x+r+1, w); i++ {
				s += k[i-x+r] * float64(m[y*w+i])
				ws += k[i-x+r]
			}
			tmp[y*w+x] = s / ws
		}
	}
	for y := range h {
		for x := range w {
			var s, ws float64
			for j := max(y-r, 0); j < min(y+r+1, h); j++ {
				s += k[j-y+r] * tmp[j*w+x]
				ws += k[j-y+r]
			}
			out[y*w+x] = float32(s / ws)
		}
	}
	return out
}

// Threshold returns the mask (1 = kept) of the pixels of heat strictly above
// frac times its maximum, as OpenCV's THRESH_TOZERO in the CAM protocol. A
// map whose maximum is not positive gives an empty mask.
func Threshold(heat []float32, frac float64) []uint8 {
	mx := math.Inf(-1)
	for _, v := range heat {
		mx = max(mx, float64(v))
	}
	mask := make([]uint8, len(heat))
	if !(mx > 0) {
		return mask
	}
	t := float32(frac * mx) // compared in the map's precision
	for i, v := range heat {
		if v > t {
			mask[i] = 1
		}
	}
	return mask
}

// Components labels the 8-connected components of the non-zero pixels of
// the h*w mask: labels[i] is 0 for a background pixel and k >= 1 for a
// pixel of component k; sizes[k-1] is component k's pixel count. Components
// are numbered in raster order of their first pixel.
func Components(mask []uint8, h, w int) (labels []int32, sizes []int) {
	labels = make([]int32, h*w)
	var stack []int
	for start, v := range mask[:h*w] {
		if v == 0 || labels[start] != 0 {
			continue
		}
		label := int32(len(sizes) + 1)
		labels[start] = label
		stack = append(stack[:0], start)
		size := 0
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			py, px := p/w, p%w
			for y := max(py-1, 0); y <= min(py+1, h-1); y++ {
				for x := max(px-1, 0); x <= min(px+1, w-1); x++ {
					q := y*w + x
					if mask[q] != 0 && labels[q] == 0 {
						labels[q] = label
						stack = append(stack, q)
					}
				}
			}
		}
		sizes = append(sizes, size)
	}
	return labels, sizes
}

// BoundingBox returns the tightest box around the pixels of the h*w mask
// for which keep is true, and an empty box (all zeros) if there are none.
func BoundingBox(h, w int, keep func(i int) bool) data.Box {
	x0, y0, x1, y1 := w, h, 0, 0
	for i := range h * w {
		if !keep(i) {
			continue
		}
		x, y := i%w, i/w
		x0, y0 = min(x0, x), min(y0, y)
		x1, y1 = max(x1, x+1), max(y1, y+1)
	}
	if x1 == 0 {
		return data.Box{}
	}
	return data.Box{X0: float64(x0), Y0: float64(y0), X1: float64(x1), Y1: float64(y1)}
}

// Locate thresholds the h*w heat map at frac of its maximum and returns the
// predicted box (of the largest 8-connected component of the kept pixels,
// the first in raster order on ties, or of all of them) and the mask of all
// kept pixels, the predicted segmentation. Nothing kept gives an empty box.
func Locate(heat []float32, h, w int, frac float64, mode BoxMode) (data.Box, []uint8) {
	mask := Threshold(heat, frac)
	if mode == All {
		return BoundingBox(h, w, func(i int) bool { return mask[i] != 0 }), mask
	}
	labels, sizes := Components(mask, h, w)
	best := 0
	for k, s := range sizes {
		if s > sizes[best] {
			best = k
		}
	}
	if len(sizes) == 0 {
		return data.Box{}, mask
	}
	label := int32(best + 1)
	return BoundingBox(h, w, func(i int) bool { return labels[i] == label }), mask
}

// MaskIoU is the intersection over union of two masks of equal length
// (non-zero = object); 0 when both are empty.
func MaskIoU(a, b []uint8) float64 {
	var inter, union int
	for i := range a {
		x, y := a[i] != 0, b[i] != 0
		if x && y {
			inter++
		}
		if x || y {
			union++
		}
	}
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}
