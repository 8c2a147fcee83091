package corrupt

import (
	"math"
	"math/rand/v2"
)

// Border modes of the reference's filters.
type border func(i, n int) int

// reflect101 mirrors about the edge pixel (d c b | a b c d), OpenCV's
// default BORDER_REFLECT_101.
func reflect101(i, n int) int {
	if n == 1 {
		return 0
	}
	for i < 0 || i >= n {
		if i < 0 {
			i = -i
		}
		if i >= n {
			i = 2*n - 2 - i
		}
	}
	return i
}

// reflectHalf mirrors about the edge (b a | a b c d), SciPy's "reflect".
func reflectHalf(i, n int) int {
	for i < 0 || i >= n {
		if i < 0 {
			i = -i - 1
		}
		if i >= n {
			i = 2*n - 1 - i
		}
	}
	return i
}

// nearest repeats the edge pixel, SciPy's "nearest" and ImageMagick's edge
// virtual pixels.
func nearest(i, n int) int { return min(n-1, max(0, i)) }

// gaussianKernel is SciPy's 1-D Gaussian of standard deviation sigma,
// truncated at radius int(truncate*sigma + 0.5) and normalised; sigma 0 is
// the identity.
func gaussianKernel(sigma, truncate float64) []float64 {
	r := int(truncate*sigma + 0.5)
	k := make([]float64, 2*r+1)
	if sigma <= 0 {
		k[r] = 1
		return k
	}
	var sum float64
	for i := range k {
		x := float64(i - r)
		k[i] = math.Exp(-0.5 * x * x / (sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}

// separable filters each channel of im with kernel k along rows and then
// columns (SciPy's gaussian_filter, scikit-image's gaussian).
func separable(im *image, k []float64, b border) *image {
	r := len(k) / 2
	tmp, out := newImage(im.h, im.w, im.c), newImage(im.h, im.w, im.c)
	for y := range im.h {
		for x := range im.w {
			for ch := range im.c {
				var s float64
				for i, kv := range k {
					s += kv * im.at(b(y+i-r, im.h), x, ch)
				}
				tmp.set(y, x, ch, s)
			}
		}
	}
	for y := range im.h {
		for x := range im.w {
			for ch := range im.c {
				var s float64
				for i, kv := range k {
					s += kv * tmp.at(y, b(x+i-r, im.w), ch)
				}
				out.set(y, x, ch, s)
			}
		}
	}
	return out
}

// gaussianBlur is scikit-image's gaussian(x, sigma) on each channel: SciPy's
// gaussian_filter with mode "nearest" and truncate 4.
func gaussianBlur(im *image, sigma float64) *image {
	return separable(im, gaussianKernel(sigma, 4), nearest)
}

// filter2D correlates each channel with the square kernel k (odd side,
// anchored at its centre) with OpenCV's default BORDER_REFLECT_101, as
// cv2.filter2D does.
func filter2D(im *image, k [][]float64) *image {
	r := len(k) / 2
	out := newImage(im.h, im.w, im.c)
	for y := range im.h {
		for x := range im.w {
			for ch := range im.c {
				var s float64
				for i, row := range k {
					yy := reflect101(y+i-r, im.h)
					for j, kv := range row {
						if kv != 0 {
							s += kv * im.at(yy, reflect101(x+j-r, im.w), ch)
						}
					}
				}
				out.set(y, x, ch, s)
			}
		}
	}
	return out
}

// disk is the reference's defocus kernel: the aliased disk x^2 + y^2 <= r^2
// on a 17x17 grid (radius <= 8), normalised to sum 1, then smoothed by
// OpenCV's 3x3 Gaussian of standard deviation alias (cv2.GaussianBlur).
func disk(radius, alias float64) [][]float64 {
	n := 8
	if radius > 8 {
		n = int(radius)
	}
	size := 2*n + 1
	d := make([][]float64, size)
	var sum float64
	for i := range d {
		d[i] = make([]float64, size)
		for j := range d[i] {
			y, x := float64(i-n), float64(j-n)
			if x*x+y*y <= radius*radius {
				d[i][j] = 1
				sum++
			}
		}
	}
	// cv2.getGaussianKernel(3, alias): exp(-x^2 / (2 alias^2)), x = -1, 0, 1,
	// normalised; the 5x5 kernel for radii above 8 is not needed here.
	g := [3]float64{}
	var gs float64
	for i := range g {
		x := float64(i - 1)
		g[i] = math.Exp(-x * x / (2 * alias * alias))
		gs += g[i]
	}
	blur := func(src [][]float64, vertical bool) [][]float64 {
		out := make([][]float64, size)
		for i := range out {
			out[i] = make([]float64, size)
			for j := range out[i] {
				for t := -1; t <= 1; t++ {
					if vertical {
						out[i][j] += g[t+1] / gs * src[reflect101(i+t, size)][j]
					} else {
						out[i][j] += g[t+1] / gs * src[i][reflect101(j+t, size)]
					}
				}
			}
		}
		return out
	}
	for i := range d {
		for j := range d[i] {
			d[i][j] /= sum
		}
	}
	return blur(blur(d, false), true)
}

// defocusBlur filters with disk(radius, alias), (radius, alias) = (0.3,
// 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1).
func defocusBlur(im *image, s int, _ *rand.Rand) *image {
	c := [...][2]float64{{0.3, 0.4}, {0.4, 0.5}, {0.5, 0.6}, {1, 0.2}, {1.5, 0.1}}[s]
	return filter2D(im, disk(c[0], c[1])).clip()
}

// glassBlur is the reference's: Gaussian blur (sigma), truncation to 8
// bits, then `iterations` sweeps over the rows and columns from h-d down to
// d+1, each pixel taking the value of a random neighbour at offsets drawn
// from [-d, d) (NumPy's randint(-d, d)), then the Gaussian blur again;
// (sigma, d, iterations) = (0.05,1,1), (0.25,1,1), (0.4,1,1), (0.25,1,2),
// (0.4,1,2). The reference means to swap the two pixels, but its tuple
// assignment of two NumPy views of an RGB array copies the neighbour into
// the pixel and leaves the neighbour as it was; this is what CIFAR-10-C
// holds, and what glassBlur does.
func glassBlur(im *image, s int, rng *rand.Rand) *image {
	c := [...]struct {
		sigma      float64
		d, iterate int
	}{{0.05, 1, 1}, {0.25, 1, 1}, {0.4, 1, 1}, {0.25, 1, 2}, {0.4, 1, 2}}[s]
	x := gaussianBlur(im, c.sigma).quantize(true)
	for range c.iterate {
		for y := im.h - c.d; y > c.d; y-- {
			for xx := im.w - c.d; xx > c.d; xx-- {
				dx, dy := rng.IntN(2*c.d)-c.d, rng.IntN(2*c.d)-c.d
				y2, x2 := y+dy, xx+dx
				if y >= im.h || xx >= im.w || y2 < 0 || x2 < 0 || y2 >= im.h || x2 >= im.w {
					continue
				}
				for ch := range im.c {
					x.set(y, xx, ch, x.at(y2, x2, ch))
				}
			}
		}
	}
	return gaussianBlur(x, c.sigma).clip()
}

// motionKernel is ImageMagick's MotionBlurImage kernel for (radius, sigma,
// angle in degrees): width 2*ceil(radius)+1 taps, weights exp(-i^2 /
// (2 sigma^2)) normalised, tap i at the whole-pixel offset (ceil(i cos a -
// 0.5), ceil(i sin a - 0.5)) (columns, rows): a one-sided trail.
func motionKernel(radius, sigma, angle float64) (w []float64, dx, dy []int) {
	width := int(2*math.Ceil(radius) + 1)
	a := angle * math.Pi / 180
	var sum float64
	for i := range width {
		w = append(w, math.Exp(-float64(i*i)/(2*sigma*sigma)))
		sum += w[i]
		dx = append(dx, int(math.Ceil(float64(i)*math.Cos(a)-0.5)))
		dy = append(dy, int(math.Ceil(float64(i)*math.Sin(a)-0.5)))
	}
	for i := range w {
		w[i] /= sum
	}
	return w, dx, dy
}

// motionFilter applies motionKernel with edge pixels repeated outside the
// image (ImageMagick's default virtual pixels), in floating point.
func motionFilter(im *image, radius, sigma, angle float64) *image {
	w, dx, dy := motionKernel(radius, sigma, angle)
	out := newImage(im.h, im.w, im.c)
	for y := range im.h {
		for x := range im.w {
			for ch := range im.c {
				var s float64
				for i, kv := range w {
					s += kv * im.at(nearest(y+dy[i], im.h), nearest(x+dx[i], im.w), ch)
				}
				out.set(y, x, ch, s)
			}
		}
	}
	return out
}

// motionBlur is ImageMagick's motion blur with (radius, sigma) = (6,1),
// (6,1.5), (6,2), (8,2), (9,2.5) at an angle uniform in [-45, 45] degrees.
// With sigma 2, the taps beyond 6 weigh below 1e-4, so severities 3 and 4
// differ by almost nothing, as in the reference.
func motionBlur(im *image, s int, rng *rand.Rand) *image {
	c := [...][2]float64{{6, 1}, {6, 1.5}, {6, 2}, {8, 2}, {9, 2.5}}[s]
	angle := rng.Float64()*90 - 45
	return motionFilter(im, c[0], c[1], angle).clip()
}

// zoomBlur averages the image with itself zoomed about its centre by the
// factors of NumPy's arange(1, z, 0.01) for z = 1.06, 1.11, 1.16, 1.21,
// 1.26, which hold 7, 12, 16, 21 and 26 factors (floating-point rounding
// includes 1.06 and 1.11 but not 1.16, 1.21, 1.26).
func zoomBlur(im *image, s int, _ *rand.Rand) *image {
	n := [...]int{7, 12, 16, 21, 26}[s]
	out := im.clone()
	for i := range n {
		z := clippedZoom(im, 1+float64(i)*0.01)
		for j, v := range z.pix {
			out.pix[j] += v
		}
	}
	for j := range out.pix {
		out.pix[j] /= float64(n + 1)
	}
	return out.clip()
}

// clippedZoom is the reference's: crop the central ceil(h/z) x ceil(w/z)
// region, zoom it by z with linear interpolation as SciPy's ndimage.zoom
// (order 1: output size round(n*z), output index i samples input
// i*(n-1)/(m-1)), and crop the central h x w.
func clippedZoom(im *image, z float64) *image {
	ch, cw := int(math.Ceil(float64(im.h)/z)), int(math.Ceil(float64(im.w)/z))
	top, left := (im.h-ch)/2, (im.w-cw)/2
	oh, ow := int(math.RoundToEven(float64(ch)*z)), int(math.RoundToEven(float64(cw)*z))
	trimT, trimL := (oh-im.h)/2, (ow-im.w)/2
	ys, xs := zoomCoords(ch, oh), zoomCoords(cw, ow)
	out := newImage(im.h, im.w, im.c)
	for y := range im.h {
		sy := ys[y+trimT]
		y0 := int(math.Floor(sy))
		y1 := min(y0+1, ch-1)
		fy := sy - float64(y0)
		for x := range im.w {
			sx := xs[x+trimL]
			x0 := int(math.Floor(sx))
			x1 := min(x0+1, cw-1)
			fx := sx - float64(x0)
			for c := range im.c {
				v := (1-fy)*((1-fx)*im.at(top+y0, left+x0, c)+fx*im.at(top+y0, left+x1, c)) +
					fy*((1-fx)*im.at(top+y1, left+x0, c)+fx*im.at(top+y1, left+x1, c))
				out.set(y, x, c, v)
			}
		}
	}
	return out
}

// zoomCoords maps the m output indices of a zoom from n samples to input
// coordinates, SciPy's convention without grid_mode.
func zoomCoords(n, m int) []float64 {
	c := make([]float64, m)
	if m == 1 {
		return c
	}
	for i := range c {
		c[i] = float64(i) * float64(n-1) / float64(m-1)
	}
	return c
}
