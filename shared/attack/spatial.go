package attack

import (
	"fmt"
	"math"

	"github.com/artrobust/art/shared/model"
)

// Spatial is the grid-search rotation-and-translation attack of Engstrom et
// al. ("Exploring the landscape of spatial robustness", ICML 2019, Sec. 3):
// every combination of Rotations angles evenly spaced in [-MaxRotation,
// MaxRotation] degrees and Translations shifts per axis evenly spaced in
// [-MaxTranslation, MaxTranslation] pixels is applied to the image
// (Transform: rotation about the centre, then translation, bilinear, black
// outside), and the worst case is kept: a transformation the ReLU model
// misclassifies if there is one, the one with the highest cross-entropy
// among those (or among all, if none is misclassified). Their CIFAR-10
// setting is +-30 degrees in 31 steps and +-3 pixels in 5 steps per axis,
// 775 transformations per image.
type Spatial struct {
	MaxRotation    float64
	Rotations      int
	MaxTranslation float64
	Translations   int
	// BatchSize bounds the transformed images per forward pass (0: 256).
	BatchSize int
}

// DefaultSpatial returns the CIFAR-10 grid of Engstrom et al.
func DefaultSpatial() Spatial {
	return Spatial{MaxRotation: 30, Rotations: 31, MaxTranslation: 3, Translations: 5}
}

// Validate checks the settings.
func (a Spatial) Validate() error {
	if !(a.MaxRotation >= 0) || !(a.MaxTranslation >= 0) || a.Rotations < 1 || a.Translations < 1 || a.BatchSize < 0 {
		return fmt.Errorf("Spatial: need non-negative ranges (%g, %g), at least one rotation (%d) and translation (%d), batch size >= 0 (%d)",
			a.MaxRotation, a.MaxTranslation, a.Rotations, a.Translations, a.BatchSize)
	}
	return nil
}

// SpatialTransform is one grid point: a rotation in degrees and a shift in
// pixels (DX along columns, DY along rows).
type SpatialTransform struct {
	Angle, DX, DY float64
}

// Grid lists the transformations the attack tries.
func (a Spatial) Grid() []SpatialTransform {
	angles := linspace(-a.MaxRotation, a.MaxRotation, a.Rotations)
	shifts := linspace(-a.MaxTranslation, a.MaxTranslation, a.Translations)
	var g []SpatialTransform
	for _, r := range angles {
		for _, dy := range shifts {
			for _, dx := range shifts {
				g = append(g, SpatialTransform{r, dx, dy})
			}
		}
	}
	return g
}

// linspace returns n values evenly spaced from lo to hi; a single value is
// the midpoint (0 for a symmetric range).
func linspace(lo, hi float64, n int) []float64 {
	if n == 1 {
		return []float64{(lo + hi) / 2}
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	return out
}

// Transform rotates an HWC image by t.Angle degrees (counter-clockwise as
// displayed, rows growing downwards) about its centre ((h-1)/2, (w-1)/2),
// then shifts it by (t.DX, t.DY) pixels, sampling bilinearly; points that
// come from outside the image are black (zero), as in Engstrom et al.
func Transform(img []float32, h, w, c int, t SpatialTransform) []float32 {
	out := make([]float32, len(img))
	th := t.Angle * math.Pi / 180
	cos, sin := math.Cos(th), math.Sin(th)
	cy, cx := float64(h-1)/2, float64(w-1)/2
	for i := range h {
		for j := range w {
			// Inverse map: undo the shift, then rotate back by -angle.
			y, x := float64(i)-t.DY-cy, float64(j)-t.DX-cx
			sy := cos*y + sin*x + cy
			sx := -sin*y + cos*x + cx
			y0, x0 := math.Floor(sy), math.Floor(sx)
			fy, fx := sy-y0, sx-x0
			for ch := range c {
				var v float64
				for _, p := range [4]struct {
					dy, dx int
					wt     float64
				}{{0, 0, (1 - fy) * (1 - fx)}, {0, 1, (1 - fy) * fx}, {1, 0, fy * (1 - fx)}, {1, 1, fy * fx}} {
					yy, xx := int(y0)+p.dy, int(x0)+p.dx
					if p.wt == 0 || yy < 0 || yy >= h || xx < 0 || xx >= w {
						continue
					}
					v += p.wt * float64(img[(yy*w+xx)*c+ch])
				}
				out[(i*w+j)*c+ch] = float32(v)
			}
		}
	}
	return out
}

// SpatialResult is the outcome of the spatial attack on a batch.
type SpatialResult struct {
	// Adv holds the worst-case transformed images, laid out like the input.
	Adv []float32
	// Worst is the transformation kept for each image.
	Worst []SpatialTransform
	// Fooled says the model misclassifies image i's worst case.
	Fooled []bool
}

// Attack runs the grid search on an NHWC batch with the clean labels.
func (a Spatial) Attack(net *model.Net, x []float32, labels []int) (*SpatialResult, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	xt, err := net.Batch(x)
	if err != nil {
		return nil, err
	}
	n := xt.Shape().Dimensions[0]
	if _, err := targetTensor(net, labels, n); err != nil {
		return nil, err
	}
	size, ch, classes := net.Config.InputSize, net.Config.Channels, net.Config.NumClasses
	per := size * size * ch
	grid := a.Grid()
	bs := a.BatchSize
	if bs == 0 {
		bs = 256
	}
	res := &SpatialResult{Adv: make([]float32, len(x)), Worst: make([]SpatialTransform, n), Fooled: make([]bool, n)}
	buf := make([]float32, 0, bs*per)
	for i := range n {
		img := x[i*per : (i+1)*per]
		bestLoss := math.Inf(-1)
		for g0 := 0; g0 < len(grid); g0 += bs {
			g1 := min(g0+bs, len(grid))
			buf = buf[:0]
			for _, t := range grid[g0:g1] {
				buf = append(buf, Transform(img, size, size, ch, t)...)
			}
			logits, err := net.Predict(buf, model.ReLU)
			if err != nil {
				return nil, err
			}
			for j := range g1 - g0 {
				row := logits[j*classes : (j+1)*classes]
				fooled := model.Argmax(row, classes)[0] != labels[i]
				loss := crossEntropy(row, labels[i])
				if (fooled && !res.Fooled[i]) || (fooled == res.Fooled[i] && loss > bestLoss) {
					res.Fooled[i], bestLoss, res.Worst[i] = fooled, loss, grid[g0+j]
					copy(res.Adv[i*per:(i+1)*per], buf[j*per:(j+1)*per])
				}
			}
		}
	}
	return res, nil
}

// crossEntropy is -log softmax(row)[y], computed stably.
func crossEntropy(row []float32, y int) float64 {
	m := math.Inf(-1)
	for _, v := range row {
		m = max(m, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s) - float64(row[y])
}
