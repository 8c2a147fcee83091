package render

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"
)

// A Colormap maps values in [0, 1] to colours through a 256-entry table, as
// matplotlib's colormaps do with their default N = 256.
//
// The zero Colormap is "gray".
type Colormap struct {
	name string
	lut  *[256][3]uint8
}

// Name is the colormap's name, as ColormapByName accepts it.
func (c Colormap) Name() string {
	if c.lut == nil {
		return "gray"
	}
	return c.name
}

// At returns the colour for v: entry floor(256 v) of the table, clamped to
// [0, 255], so that [0, 1] splits into 256 equal bins as in matplotlib.
// NaN maps to entry 0. The colour is opaque.
func (c Colormap) At(v float64) color.RGBA {
	lut := c.lut
	if lut == nil {
		lut = grayLUT
	}
	e := lut[lutIndex(v)]
	return color.RGBA{e[0], e[1], e[2], 255}
}

func lutIndex(v float64) int {
	if !(v > 0) { // also NaN
		return 0
	}
	if v >= 1 {
		return 255
	}
	return min(int(v*256), 255)
}

// The tables, built once from the published data in colormap_data.go and
// never written afterwards.
var (
	grayLUT  = sampleLUT(func(x float64) [3]float64 { return [3]float64{x, x, x} })
	colormap = map[string]*[256][3]uint8{
		// Sequential, perceptually uniform.
		"viridis": listedLUT(&viridisData),
		"inferno": listedLUT(&infernoData),
		// Rainbow: turbo is the improved one, jet the classic (matplotlib's
		// _jet_data control points).
		"turbo": &turboBytes,
		"jet": sampleLUT(func(x float64) [3]float64 {
			return [3]float64{
				piecewise(x, []float64{0, 0.35, 0.66, 0.89, 1}, []float64{0, 0, 1, 1, 0.5}),
				piecewise(x, []float64{0, 0.125, 0.375, 0.64, 0.91, 1}, []float64{0, 0, 1, 1, 0, 0}),
				piecewise(x, []float64{0, 0.11, 0.34, 0.65, 1}, []float64{0.5, 1, 1, 0, 0}),
			}
		}),
		"gray": grayLUT,
		// Diverging, for signed maps: bwr is matplotlib's blue-white-red
		// (linear through (0,0,1), (1,1,1), (1,0,0)); coolwarm is Moreland's.
		"bwr": sampleLUT(func(x float64) [3]float64 {
			if x < 0.5 {
				return [3]float64{2 * x, 2 * x, 1}
			}
			return [3]float64{1, 2 - 2*x, 2 - 2*x}
		}),
		"coolwarm": sampleLUT(func(x float64) [3]float64 {
			f := x * 32
			i := min(int(f), 31)
			t := f - float64(i)
			var c [3]float64
			for k := range c {
				c[k] = (1-t)*coolwarmPoints[i][k] + t*coolwarmPoints[i+1][k]
			}
			return c
		}),
	}
)

// ColormapNames lists the names ColormapByName accepts, sorted.
func ColormapNames() []string {
	names := make([]string, 0, len(colormap))
	for n := range colormap {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ColormapByName returns the named colormap; the name is case-insensitive.
// The sequential maps are viridis, inferno, turbo, jet and gray; the
// diverging ones, centred at 0.5 for signed maps, are bwr and coolwarm.
func ColormapByName(name string) (Colormap, error) {
	n := strings.ToLower(name)
	lut, ok := colormap[n]
	if !ok {
		return Colormap{}, fmt.Errorf("render: unknown colormap %q (have %s)", name, strings.Join(ColormapNames(), ", "))
	}
	return Colormap{name: n, lut: lut}, nil
}

// mustColormap is ColormapByName for the package's own names.
func mustColormap(name string) Colormap {
	c, err := ColormapByName(name)
	if err != nil {
		panic(err)
	}
	return c
}

// DefaultColormap is the colormap that suits a sign mode: coolwarm, which
// is diverging, for Signed maps and viridis for the others.
func DefaultColormap(mode SignMode) Colormap {
	if mode == Signed {
		return mustColormap("coolwarm")
	}
	return mustColormap("viridis")
}

// listedLUT rounds a published [0,1] table to bytes.
func listedLUT(data *[256][3]float32) *[256][3]uint8 {
	var lut [256][3]uint8
	for i, e := range data {
		for k, v := range e {
			lut[i][k] = toByte(float64(v))
		}
	}
	return &lut
}

// sampleLUT samples a colour function at i/255, i = 0..255, as matplotlib's
// LinearSegmentedColormap does.
func sampleLUT(f func(x float64) [3]float64) *[256][3]uint8 {
	var lut [256][3]uint8
	for i := range lut {
		c := f(float64(i) / 255)
		for k, v := range c {
			lut[i][k] = toByte(v)
		}
	}
	return &lut
}

// piecewise interpolates linearly through the points (xs[i], ys[i]), xs
// increasing from 0 to 1.
func piecewise(x float64, xs, ys []float64) float64 {
	for i := 1; i < len(xs); i++ {
		if x <= xs[i] {
			t := (x - xs[i-1]) / (xs[i] - xs[i-1])
			return ys[i-1] + t*(ys[i]-ys[i-1])
		}
	}
	return ys[len(ys)-1]
}

// toByte maps [0, 1] to 0..255, rounding to nearest; values outside are
// clamped and NaN gives 0.
func toByte(v float64) uint8 {
	if !(v > 0) {
		return 0
	}
	if v >= 1 {
		return 255
	}
	return uint8(math.Round(v * 255))
}
