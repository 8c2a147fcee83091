package data

import (
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
}

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
	if a.Jitter > 0 {
		jitter(rng, dst, c, a.Jitter)
	}
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
