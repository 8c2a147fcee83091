package corrupt

import (
	"bytes"
	goimage "image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// brightness adds b = 0.05, 0.1, 0.15, 0.2, 0.3 to the HSV value V =
// max(R,G,B), clipped to 1, keeping hue and saturation (scikit-image's
// rgb2hsv/hsv2rgb round trip). With hue and saturation fixed, the RGB
// values are proportional to V, so each pixel is scaled by min(1, V+b)/V;
// a black pixel (V = 0, saturation 0) becomes grey b.
func brightness(im *image, s int, _ *rand.Rand) *image {
	b := [...]float64{0.05, 0.1, 0.15, 0.2, 0.3}[s]
	out := im.clone()
	for p := range im.h * im.w {
		px := out.pix[p*im.c : (p+1)*im.c]
		v := 0.0
		for _, x := range px {
			v = max(v, x)
		}
		for ch := range px {
			if v == 0 {
				px[ch] = min(1, b)
			} else {
				px[ch] *= min(1, v+b) / v
			}
		}
	}
	return out.clip()
}

// contrast scales each channel about its mean over the image: (x - m)*k +
// m, k = 0.75, 0.5, 0.4, 0.3, 0.15.
func contrast(im *image, s int, _ *rand.Rand) *image {
	k := [...]float64{0.75, 0.5, 0.4, 0.3, 0.15}[s]
	mean := make([]float64, im.c)
	for i, v := range im.pix {
		mean[i%im.c] += v
	}
	for ch := range mean {
		mean[ch] /= float64(im.h * im.w)
	}
	out := im.clone()
	for i, v := range out.pix {
		out.pix[i] = (v-mean[i%im.c])*k + mean[i%im.c]
	}
	return out.clip()
}

// elasticTransform is the reference's (after Simard et al., ICDAR 2003): a
// random affine map that moves three points around the centre by up to A
// pixels each (OpenCV's getAffineTransform and warpAffine, bilinear,
// mirrored borders), then a displacement field of uniform noise in [-1, 1]
// smoothed by a Gaussian of standard deviation sigma (truncated at 3 sigma)
// and scaled by alpha, sampled bilinearly (SciPy's map_coordinates, order
// 1, mode "reflect"). With S = min(h, w) (32 in CIFAR-10-C), (alpha, sigma,
// A) = S*(0, 0, 0.08), S*(0.05, 0.2, 0.07), S*(0.08, 0.06, 0.06),
// S*(0.1, 0.04, 0.05), S*(0.1, 0.03, 0.03).
func elasticTransform(im *image, s int, rng *rand.Rand) *image {
	f := [...][3]float64{{0, 0, 0.08}, {0.05, 0.2, 0.07}, {0.08, 0.06, 0.06}, {0.1, 0.04, 0.05}, {0.1, 0.03, 0.03}}[s]
	size := float64(min(im.h, im.w))
	alpha, sigma, shift := size*f[0], size*f[1], size*f[2]

	// Source points (x, y) around the centre and their moved images.
	cx, cy := float64(im.w/2), float64(im.h/2)
	sq := float64(min(im.h, im.w) / 3)
	src := [3][2]float64{{cx + sq, cy + sq}, {cx + sq, cy - sq}, {cx - sq, cy - sq}}
	var dst [3][2]float64
	for i := range dst {
		for j := range 2 {
			dst[i][j] = src[i][j] + (2*rng.Float64()-1)*shift
		}
	}
	inv := [6]float64{1, 0, 0, 0, 1, 0}
	if sq > 0 { // below 3 px a side the control points coincide: no affine part
		inv = invertAffine(affineFrom(src, dst))
	}
	warped := newImage(im.h, im.w, im.c)
	for y := range im.h {
		for x := range im.w {
			sx := inv[0]*float64(x) + inv[1]*float64(y) + inv[2]
			sy := inv[3]*float64(x) + inv[4]*float64(y) + inv[5]
			for ch := range im.c {
				warped.set(y, x, ch, bilinear(im, sy, sx, ch, reflect101))
			}
		}
	}

	field := func() []float64 {
		u := newImage(im.h, im.w, 1)
		for i := range u.pix {
			u.pix[i] = 2*rng.Float64() - 1
		}
		g := separable(u, gaussianKernel(sigma, 3), reflectHalf)
		for i := range g.pix {
			g.pix[i] *= alpha
		}
		return g.pix
	}
	dx, dy := field(), field()
	out := newImage(im.h, im.w, im.c)
	for y := range im.h {
		for x := range im.w {
			p := y*im.w + x
			for ch := range im.c {
				out.set(y, x, ch, bilinear(warped, float64(y)+dy[p], float64(x)+dx[p], ch, reflectHalf))
			}
		}
	}
	return out.clip()
}

// bilinear samples channel ch of im at (y, x), mapping the four
// neighbours' indices into the image with b.
func bilinear(im *image, y, x float64, ch int, b border) float64 {
	y0, x0 := math.Floor(y), math.Floor(x)
	fy, fx := y-y0, x-x0
	iy, ix := int(y0), int(x0)
	get := func(yy, xx int) float64 { return im.at(b(yy, im.h), b(xx, im.w), ch) }
	return (1-fy)*((1-fx)*get(iy, ix)+fx*get(iy, ix+1)) + fy*((1-fx)*get(iy+1, ix)+fx*get(iy+1, ix+1))
}

// affineFrom returns the affine map [a b c; d e f] taking the three src
// points (x, y) to dst, as OpenCV's getAffineTransform.
func affineFrom(src, dst [3][2]float64) [6]float64 {
	// Solve [x y 1] (a b c)^T = x' and [x y 1] (d e f)^T = y' by Cramer's rule.
	det3 := func(m [3][3]float64) float64 {
		return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) - m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) + m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	}
	var a [3][3]float64
	for i := range 3 {
		a[i] = [3]float64{src[i][0], src[i][1], 1}
	}
	d := det3(a)
	var out [6]float64
	for row := range 2 {
		for col := range 3 {
			m := a
			for i := range 3 {
				m[i][col] = dst[i][row]
			}
			out[row*3+col] = det3(m) / d
		}
	}
	return out
}

// invertAffine inverts [a b c; d e f] (as a 3x3 matrix with last row 0 0 1).
func invertAffine(m [6]float64) [6]float64 {
	a, b, c, d, e, f := m[0], m[1], m[2], m[3], m[4], m[5]
	det := a*e - b*d
	ia, ib, id, ie := e/det, -b/det, -d/det, a/det
	return [6]float64{ia, ib, -(ia*c + ib*f), id, ie, -(id*c + ie*f)}
}

// pixelate shrinks the image to int(w*k) x int(h*k) and enlarges it back,
// both with Pillow's BOX filter, k = 0.95, 0.9, 0.85, 0.75, 0.65.
func pixelate(im *image, s int, _ *rand.Rand) *image {
	k := [...]float64{0.95, 0.9, 0.85, 0.75, 0.65}[s]
	sh, sw := max(1, int(float64(im.h)*k)), max(1, int(float64(im.w)*k))
	small := resizeBox(im, sh, sw)
	return resizeBox(small, im.h, im.w).clip()
}

// boxCoeffs are Pillow's resampling coefficients (precompute_coeffs) for the
// BOX filter from n to m samples: output i covers input [xmin, xmin +
// len(w)) with weights w.
func boxCoeffs(n, m int) (xmin []int, w [][]float64) {
	scale := float64(n) / float64(m)
	filterscale := max(scale, 1)
	support := 0.5 * filterscale
	for i := range m {
		center := (float64(i) + 0.5) * scale
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), n)
		ws := make([]float64, hi-lo)
		var sum float64
		for x := range ws {
			t := (float64(x+lo) - center + 0.5) / filterscale
			if t > -0.5 && t <= 0.5 {
				ws[x] = 1
				sum++
			}
		}
		for x := range ws {
			if sum != 0 {
				ws[x] /= sum
			}
		}
		xmin, w = append(xmin, lo), append(w, ws)
	}
	return xmin, w
}

// resizeBox resizes with Pillow's BOX filter, horizontally then vertically,
// in floating point.
func resizeBox(im *image, h, w int) *image {
	xs, xw := boxCoeffs(im.w, w)
	ys, yw := boxCoeffs(im.h, h)
	tmp := newImage(im.h, w, im.c)
	for y := range im.h {
		for x := range w {
			for ch := range im.c {
				var v float64
				for k, wt := range xw[x] {
					v += wt * im.at(y, xs[x]+k, ch)
				}
				tmp.set(y, x, ch, v)
			}
		}
	}
	out := newImage(h, w, im.c)
	for y := range h {
		for x := range w {
			for ch := range im.c {
				var v float64
				for k, wt := range yw[y] {
					v += wt * tmp.at(ys[y]+k, x, ch)
				}
				out.set(y, x, ch, v)
			}
		}
	}
	return out
}

// jpegCompression encodes the image, rounded to 8 bits, as a baseline JPEG
// of quality 80, 65, 58, 50, 40 (image/jpeg, 4:2:0 chroma subsampling, the
// default of Pillow too) and decodes it.
func jpegCompression(im *image, s int, _ *rand.Rand) *image {
	q := [...]int{80, 65, 58, 50, 40}[s]
	var src goimage.Image
	r := goimage.Rect(0, 0, im.w, im.h)
	to8 := func(v float64) uint8 { return uint8(clamp01(v)*255 + 0.5) }
	if im.c == 1 {
		g := goimage.NewGray(r)
		for i, v := range im.pix {
			g.Pix[i] = to8(v)
		}
		src = g
	} else {
		rgba := goimage.NewRGBA(r)
		for p := range im.h * im.w {
			rgba.Pix[p*4] = to8(im.pix[p*3])
			rgba.Pix[p*4+1] = to8(im.pix[p*3+1])
			rgba.Pix[p*4+2] = to8(im.pix[p*3+2])
			rgba.Pix[p*4+3] = 255
		}
		src = rgba
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: q}); err != nil {
		panic(err) // encoding an in-memory image into a buffer cannot fail
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		panic(err)
	}
	out := newImage(im.h, im.w, im.c)
	for y := range im.h {
		for x := range im.w {
			if im.c == 1 {
				out.set(y, x, 0, float64(color.GrayModel.Convert(dec.At(x, y)).(color.Gray).Y)/255)
				continue
			}
			c := color.NRGBAModel.Convert(dec.At(x, y)).(color.NRGBA)
			out.set(y, x, 0, float64(c.R)/255)
			out.set(y, x, 1, float64(c.G)/255)
			out.set(y, x, 2, float64(c.B)/255)
		}
	}
	return out
}
