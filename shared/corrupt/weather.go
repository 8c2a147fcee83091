package corrupt

import (
	"math"
	"math/rand/v2"
)

// plasmaFractal is the reference's diamond-square height map (after
// github.com/FLHerne/mapgen): a size x size periodic map (size a power of
// two), each midpoint the mean of its four neighbours plus uniform noise of
// amplitude wibble^2, wibble starting at 100 and divided by decay at every
// halving of the step; normalised to [0, 1].
func plasmaFractal(size int, decay float64, rng *rand.Rand) []float64 {
	m := make([]float64, size*size)
	at := func(i, j int) *float64 { return &m[((i+size)%size)*size+(j+size)%size] }
	wibble := 100.0
	mean := func(sum float64) float64 { return sum/4 + wibble*(rng.Float64()*2*wibble-wibble) }
	for step := size; step >= 2; step /= 2 {
		half := step / 2
		// Squares: the centre of each step x step cell from its corners.
		for i := 0; i < size; i += step {
			for j := 0; j < size; j += step {
				*at(i+half, j+half) = mean(*at(i, j) + *at(i+step, j) + *at(i, j+step) + *at(i+step, j+step))
			}
		}
		// Diamonds: edge midpoints from the two corners and the two centres
		// beside them (the centres above/left wrap around the map).
		for i := 0; i < size; i += step {
			for j := 0; j < size; j += step {
				*at(i, j+half) = mean(*at(i+half, j+half) + *at(i-half, j+half) + *at(i, j) + *at(i, j+step))
			}
		}
		for i := 0; i < size; i += step {
			for j := 0; j < size; j += step {
				*at(i+half, j) = mean(*at(i+half, j+half) + *at(i+half, j-half) + *at(i, j) + *at(i+step, j))
			}
		}
		wibble /= decay
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range m {
		lo, hi = min(lo, v), max(hi, v)
	}
	for i := range m {
		m[i] = (m[i] - lo) / max(hi-lo, 1e-300)
	}
	return m
}

// pow2AtLeast is the smallest power of two >= n.
func pow2AtLeast(n int) int {
	p := 1
	for p < n {
		p *= 2
	}
	return p
}

// fog adds a plasma fractal (the reference's 32x32 map; for other sizes the
// smallest power of two that covers the image, cropped) scaled by a and
// rescales by max/(max + a), max the image's largest value: (a, decay) =
// (0.2,3), (0.5,3), (0.75,2.5), (1,2), (1.5,1.75).
func fog(im *image, s int, rng *rand.Rand) *image {
	c := [...][2]float64{{0.2, 3}, {0.5, 3}, {0.75, 2.5}, {1, 2}, {1.5, 1.75}}[s]
	size := pow2AtLeast(max(im.h, im.w, 2))
	p := plasmaFractal(size, c[1], rng)
	maxVal := 0.0
	for _, v := range im.pix {
		maxVal = max(maxVal, v)
	}
	out := im.clone()
	for y := range im.h {
		for x := range im.w {
			for ch := range im.c {
				v := im.at(y, x, ch) + c[0]*p[y*size+x]
				out.set(y, x, ch, v*maxVal/(maxVal+c[0]))
			}
		}
	}
	return out.clip()
}

// snow is the reference's: a snow layer of N(mu, sd) values zoomed by z
// (clippedZoom), thresholded at t (smaller values become 0), clipped to
// [0,1] and motion-blurred (radius r, sigma g, angle uniform in [-135, -45]
// degrees); the image is brightened to b*x + (1-b)*max(x, 1.5*luma + 0.5)
// and the layer and its half-turn added: (mu, sd, z, t, r, g, b) =
// (0.1,0.2,1,0.6,8,3,0.95), (0.1,0.2,1,0.5,10,4,0.9),
// (0.15,0.3,1.75,0.55,10,4,0.9), (0.25,0.3,2.25,0.6,12,6,0.85),
// (0.3,0.3,1.25,0.65,14,12,0.8).
func snow(im *image, s int, rng *rand.Rand) *image {
	c := [...][7]float64{
		{0.1, 0.2, 1, 0.6, 8, 3, 0.95},
		{0.1, 0.2, 1, 0.5, 10, 4, 0.9},
		{0.15, 0.3, 1.75, 0.55, 10, 4, 0.9},
		{0.25, 0.3, 2.25, 0.6, 12, 6, 0.85},
		{0.3, 0.3, 1.25, 0.65, 14, 12, 0.8},
	}[s]
	layer := newImage(im.h, im.w, 1)
	for i := range layer.pix {
		layer.pix[i] = c[0] + c[1]*rng.NormFloat64()
	}
	layer = clippedZoom(layer, c[2])
	for i, v := range layer.pix {
		if v < c[3] {
			v = 0
		}
		layer.pix[i] = clamp01(v)
	}
	angle := rng.Float64()*90 - 135
	layer = motionFilter(layer, c[4], c[5], angle)
	luma := im.gray()
	out := im.clone()
	n := im.h * im.w
	for y := range im.h {
		for x := range im.w {
			p := y*im.w + x
			flake := layer.pix[p] + layer.pix[n-1-p] // the layer plus its half-turn
			for ch := range im.c {
				v := im.at(y, x, ch)
				v = c[6]*v + (1-c[6])*max(v, 1.5*luma[p]+0.5)
				out.set(y, x, ch, v+flake)
			}
		}
	}
	return out.clip()
}

// frost blends in a frost layer: a*x + b*F with (a, b) = (1,0.2), (1,0.3),
// (0.9,0.4), (0.85,0.4), (0.75,0.45). The reference takes F from random
// crops of six photographs of frost on glass, scaled to a fifth; without
// them, F is FrostLayer, a procedural texture with their look: a pale,
// blue-white ice film of smooth and fine-grained density, crossed by
// branching crystal needles.
func frost(im *image, s int, rng *rand.Rand) *image {
	c := [...][2]float64{{1, 0.2}, {1, 0.3}, {0.9, 0.4}, {0.85, 0.4}, {0.75, 0.45}}[s]
	f := FrostLayer(im.h, im.w, rng)
	out := im.clone()
	for p := range im.h * im.w {
		for ch := range im.c {
			fc := f[p*3+ch]
			if im.c == 1 {
				fc = 0.299*f[p*3] + 0.587*f[p*3+1] + 0.114*f[p*3+2]
			}
			out.pix[p*im.c+ch] = c[0]*im.pix[p*im.c+ch] + c[1]*fc
		}
	}
	return out.clip()
}

// FrostLayer synthesises an h x w RGB frost texture in [0,1] (h*w*3
// values), standing in for the reference's frost photographs:
//
//   - an ice film: a plasma fractal (decay 2) for the slowly varying
//     thickness, from 0.35 to 0.7, times fine uniform grain (0.85 to 1.15);
//   - crystals: dendrites grown from about h*w/40 seeds, each a straight
//     needle of 15-60% of the image side whose side branches leave at
//     +-60 degrees (the hexagonal habit of ice) and branch again, every
//     segment a bright (0.8 to 1) anti-aliased line about 1 px wide;
//   - a Gaussian blur of 0.5 px that merges the needles into the film, and
//     a blue-white tint (0.82, 0.9, 1), the colour of the photographs.
func FrostLayer(h, w int, rng *rand.Rand) []float64 {
	size := pow2AtLeast(max(h, w, 2))
	film := plasmaFractal(size, 2, rng)
	v := make([]float64, h*w)
	for y := range h {
		for x := range w {
			v[y*w+x] = (0.35 + 0.35*film[y*size+x]) * (0.85 + 0.3*rng.Float64())
		}
	}
	side := float64(max(h, w))
	// segment draws a line of brightness b and width wd, keeping the
	// brighter value where lines cross.
	segment := func(x0, y0, x1, y1, b, wd float64) {
		lo, hi := int(math.Floor(min(y0, y1)-wd)), int(math.Ceil(max(y0, y1)+wd))
		left, right := int(math.Floor(min(x0, x1)-wd)), int(math.Ceil(max(x0, x1)+wd))
		dx, dy := x1-x0, y1-y0
		l2 := max(dx*dx+dy*dy, 1e-12)
		for y := max(lo, 0); y <= min(hi, h-1); y++ {
			for x := max(left, 0); x <= min(right, w-1); x++ {
				px, py := float64(x), float64(y)
				t := clamp01(((px-x0)*dx + (py-y0)*dy) / l2)
				d := math.Hypot(px-x0-t*dx, py-y0-t*dy)
				v[y*w+x] = max(v[y*w+x], b*clamp01(wd/2+0.5-d))
			}
		}
	}
	var grow func(x, y, angle, length, b float64, depth int)
	grow = func(x, y, angle, length, b float64, depth int) {
		x1, y1 := x+length*math.Cos(angle), y+length*math.Sin(angle)
		segment(x, y, x1, y1, b, 0.6+0.6*rng.Float64()/float64(depth+1))
		if depth >= 2 || length < 2 {
			return
		}
		branches := 2 + rng.IntN(4)
		for range branches {
			t := 0.15 + 0.8*rng.Float64()
			sign := 1.0
			if rng.IntN(2) == 0 {
				sign = -1
			}
			bx, by := x+t*(x1-x), y+t*(y1-y)
			grow(bx, by, angle+sign*math.Pi/3, length*(0.25+0.3*rng.Float64()), b*0.85, depth+1)
		}
	}
	seeds := max(1, h*w/40)
	for range seeds {
		x, y := rng.Float64()*float64(w), rng.Float64()*float64(h)
		grow(x, y, rng.Float64()*2*math.Pi, side*(0.15+0.45*rng.Float64()), 0.8+0.2*rng.Float64(), 0)
	}
	// A slight blur softens the needles into the film, as in the photographs.
	soft := separable(&image{h, w, 1, v}, gaussianKernel(0.5, 4), nearest)
	tint := [3]float64{0.82, 0.9, 1}
	out := make([]float64, h*w*3)
	for p, val := range soft.pix {
		for ch := range 3 {
			out[p*3+ch] = clamp01(val * tint[ch])
		}
	}
	return out
}
