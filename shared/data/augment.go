package data

import (
	"math"
	"math/rand/v2"
)

// Augment describes the training-time augmentation of the reference CIFAR
// recipes: random crops from a zero-padded image, horizontal flips and
// colour jitter.
type Augment struct {
	// Pad is the zero padding of the random crop (4 in the paper; 0: off).
	Pad int
	// Flip mirrors half the images horizontally.
	Flip bool
	// Jitter scales random brightness, contrast and saturation changes:
	// each factor is drawn from [1-Jitter, 1+Jitter] (0: off).
	Jitter float64
	// Rotate is the largest random rotation in degrees (0: off).
	Rotate float64
	// Translate is the largest random shift in pixels, applied with the
	// rotation (0: off). Unlike the crop it moves by fractions of a pixel.
	Translate float64
	// Project is the largest random perspective distortion: each image
	// corner moves by up to Project times the image side (0: off).
	Project float64
}

// geometric reports whether the warp (rotation, translation, projection) is on.
func (a Augment) geometric() bool { return a.Rotate > 0 || a.Translate > 0 || a.Project > 0 }

// Apply writes an augmented copy of the HWC image src into dst (same size),
// drawing its randomness from rng.
func (a Augment) Apply(rng *rand.Rand, dst, src []float32, h, w, c int) {
	dy, dx := 0, 0
	if a.Pad > 0 {
		dy, dx = rng.IntN(2*a.Pad+1)-a.Pad, rng.IntN(2*a.Pad+1)-a.Pad
	}
	flip := a.Flip && rng.IntN(2) == 1
	for y := range h {
		sy := y + dy
		for x := range w {
			sx := x + dx
			if flip {
				sx = w - 1 - x + dx
			}
			o := (y*w + x) * c
			if sy < 0 || sy >= h || sx < 0 || sx >= w {
				for k := range c {
					dst[o+k] = 0
				}
				continue
			}
			copy(dst[o:o+c], src[(sy*w+sx)*c:(sy*w+sx)*c+c])
		}
	}
	if a.geometric() {
		tmp := append([]float32(nil), dst...)
		a.warp(rng, dst, tmp, h, w, c)
	}
	if a.Jitter > 0 {
		jitter(rng, dst, c, a.Jitter)
	}
}

// warp applies a random homography (rotation about the centre, translation
// and corner jitter) by inverse mapping with bilinear sampling; pixels that
// map outside the source are zero.
func (a Augment) warp(rng *rand.Rand, dst, src []float32, h, w, c int) {
	uni := func(r float64) float64 { return r * (2*rng.Float64() - 1) }
	theta := uni(a.Rotate) * math.Pi / 180
	tx, ty := uni(a.Translate), uni(a.Translate)
	var corners [4][2]float64
	for i := range corners {
		corners[i] = [2]float64{uni(a.Project * float64(w)), uni(a.Project * float64(h))}
	}
	warpImage(dst, src, h, w, c, theta, tx, ty, corners)
}

// warpImage rotates src by theta (radians) about its centre, shifts it by
// (tx, ty) and moves its corners by the given offsets (clockwise from the
// top left), writing the result into dst.
func warpImage(dst, src []float32, h, w, c int, theta, tx, ty float64, corners [4][2]float64) {
	// Destination corners of the source corners, then the homography that
	// maps destination pixels back to source pixels.
	cx, cy := float64(w-1)/2, float64(h-1)/2
	src4 := [4][2]float64{{0, 0}, {float64(w - 1), 0}, {float64(w - 1), float64(h - 1)}, {0, float64(h - 1)}}
	var dst4 [4][2]float64
	cos, sin := math.Cos(theta), math.Sin(theta)
	for i, p := range src4 {
		x, y := p[0]-cx, p[1]-cy
		dst4[i] = [2]float64{cx + cos*x - sin*y + tx + corners[i][0], cy + sin*x + cos*y + ty + corners[i][1]}
	}
	hm, ok := homography(dst4, src4)
	if !ok {
		copy(dst, src)
		return
	}
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			den := hm[6]*fx + hm[7]*fy + 1
			sx := (hm[0]*fx + hm[1]*fy + hm[2]) / den
			sy := (hm[3]*fx + hm[4]*fy + hm[5]) / den
			bilinear(dst[(y*w+x)*c:(y*w+x)*c+c], src, h, w, c, sx, sy)
		}
	}
}

// bilinear samples src (HWC) at (sx, sy) into out, with zeros outside.
func bilinear(out, src []float32, h, w, c int, sx, sy float64) {
	x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
	fx, fy := float32(sx-float64(x0)), float32(sy-float64(y0))
	for k := range c {
		out[k] = 0
	}
	for dy := 0; dy <= 1; dy++ {
		for dx := 0; dx <= 1; dx++ {
			x, y := x0+dx, y0+dy
			if x < 0 || x >= w || y < 0 || y >= h {
				continue
			}
			wt := (1 - fx + float32(dx)*(2*fx-1)) * (1 - fy + float32(dy)*(2*fy-1))
			for k := range c {
				out[k] += wt * src[(y*w+x)*c+k]
			}
		}
	}
}

// homography solves for H (8 parameters, h33 = 1) with H·from[i] ~ to[i]
// for four point pairs, by Gaussian elimination with partial pivoting.
func homography(from, to [4][2]float64) ([8]float64, bool) {
	var m [8][9]float64
	for i := range 4 {
		x, y, u, v := from[i][0], from[i][1], to[i][0], to[i][1]
		m[2*i] = [9]float64{x, y, 1, 0, 0, 0, -u * x, -u * y, u}
		m[2*i+1] = [9]float64{0, 0, 0, x, y, 1, -v * x, -v * y, v}
	}
	for col := range 8 {
		p := col
		for r := col + 1; r < 8; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[p][col]) {
				p = r
			}
		}
		if math.Abs(m[p][col]) < 1e-12 {
			return [8]float64{}, false
		}
		m[col], m[p] = m[p], m[col]
		for r := range 8 {
			if r == col {
				continue
			}
			f := m[r][col] / m[col][col]
			for k := col; k < 9; k++ {
				m[r][k] -= f * m[col][k]
			}
		}
	}
	var hm [8]float64
	for i := range 8 {
		hm[i] = m[i][8] / m[i][i]
	}
	return hm, true
}

// BalancedOrder returns a random order of the dataset's indices in which
// every class appears as often as the largest one (smaller classes are
// repeated, and augmentation makes the repeats differ): the class balancing
// the paper applies to GTSRB and Flowers.
func (d *Dataset) BalancedOrder(rng *rand.Rand) []int {
	byClass := make([][]int, len(d.Classes))
	for i, l := range d.Labels {
		byClass[l] = append(byClass[l], i)
	}
	most := 0
	for _, idx := range byClass {
		most = max(most, len(idx))
	}
	var order []int
	for _, idx := range byClass {
		for j := 0; j < most && len(idx) > 0; j++ {
			order = append(order, idx[j%len(idx)])
		}
	}
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order
}

// jitter applies brightness, contrast and (for RGB) saturation factors in a
// random order, as torchvision's ColorJitter does, clipping to [0,1].
func jitter(rng *rand.Rand, img []float32, c int, s float64) {
	factor := func() float32 { return float32(1 + s*(2*rng.Float64()-1)) }
	ops := rng.Perm(3)
	for _, op := range ops {
		f := factor()
		switch op {
		case 0: // brightness
			for i := range img {
				img[i] *= f
			}
		case 1: // contrast: blend with the mean grey level
			var mean float32
			for _, v := range img {
				mean += v
			}
			mean /= float32(len(img))
			for i := range img {
				img[i] = mean + f*(img[i]-mean)
			}
		case 2: // saturation: blend each pixel with its grey value
			if c != 3 {
				continue
			}
			for i := 0; i < len(img); i += 3 {
				g := 0.299*img[i] + 0.587*img[i+1] + 0.114*img[i+2]
				for k := range 3 {
					img[i+k] = g + f*(img[i+k]-g)
				}
			}
		}
		for i, v := range img {
			img[i] = min(max(v, 0), 1)
		}
	}
}
