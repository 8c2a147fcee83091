package render

import (
	"image/color"
	"math"
	"testing"
)

func TestColormapEndpointsMatchPublishedValues(t *testing.T) {
	for _, c := range []struct {
		name string
		v    float64
		want color.RGBA
	}{
		{"viridis", 0, color.RGBA{68, 1, 84, 255}},      // #440154
		{"viridis", 0.5, color.RGBA{33, 145, 140, 255}}, // #21918c
		{"viridis", 1, color.RGBA{253, 231, 37, 255}},   // #fde725
		{"inferno", 0, color.RGBA{0, 0, 4, 255}},        // #000004
		{"inferno", 1, color.RGBA{252, 255, 164, 255}},  // #fcffa4
		{"turbo", 0, color.RGBA{48, 18, 59, 255}},
		{"turbo", 1, color.RGBA{122, 4, 3, 255}},
		// jet: blue 0.5 at 0, red 0.5 at 1 (127.5 rounds up); at 0.5 entry
		// 128 samples x = 128/255: (0.4902, 1, 0.4775) as in matplotlib.
		{"jet", 0, color.RGBA{0, 0, 128, 255}},
		{"jet", 0.5, color.RGBA{125, 255, 122, 255}},
		{"jet", 1, color.RGBA{128, 0, 0, 255}},
		{"gray", 0, color.RGBA{0, 0, 0, 255}},
		{"gray", 0.5, color.RGBA{128, 128, 128, 255}},
		{"gray", 1, color.RGBA{255, 255, 255, 255}},
		{"bwr", 0, color.RGBA{0, 0, 255, 255}},
		{"bwr", 1, color.RGBA{255, 0, 0, 255}},
		// Moreland's published 8-bit ends of cool-warm.
		{"coolwarm", 0, color.RGBA{59, 76, 192, 255}},
		{"coolwarm", 1, color.RGBA{180, 4, 38, 255}},
	} {
		cm, err := ColormapByName(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := cm.At(c.v); got != c.want {
			t.Errorf("%s(%v) = %v, want %v", c.name, c.v, got, c.want)
		}
	}
}

// TestDivergingColormapsAreNearlyWhiteAtCentre: 0.5 falls on entry 128,
// sampled at x = 128/255, just past the white (bwr) or light gray
// (coolwarm, 0.865 = 221) midpoint.
func TestDivergingColormapsAreNearlyWhiteAtCentre(t *testing.T) {
	bwr, _ := ColormapByName("bwr")
	if got, want := bwr.At(0.5), (color.RGBA{255, 254, 254, 255}); got != want {
		t.Errorf("bwr(0.5) = %v, want %v", got, want)
	}
	cw, _ := ColormapByName("coolwarm")
	c := cw.At(0.5)
	for _, v := range []uint8{c.R, c.G, c.B} {
		if v < 217 || v > 225 {
			t.Errorf("coolwarm(0.5) = %v, want about (221, 221, 221)", c)
		}
	}
}

// TestListedColormapTablesAreSmooth guards the transcribed tables: the
// published maps are smooth, so a mistyped digit shows as a spike in the
// second differences (the largest true ones are about 0.001, or 1 in 8-bit).
func TestListedColormapTablesAreSmooth(t *testing.T) {
	for name, d := range map[string]*[256][3]float32{"viridis": &viridisData, "inferno": &infernoData} {
		for i := 1; i < 255; i++ {
			for k := range 3 {
				if dd := math.Abs(float64(d[i+1][k] - 2*d[i][k] + d[i-1][k])); dd > 0.0015 {
					t.Errorf("%s entry %d channel %d: second difference %v", name, i, k, dd)
				}
			}
		}
	}
	for i := 1; i < 255; i++ {
		for k := range 3 {
			dd := int(turboBytes[i+1][k]) - 2*int(turboBytes[i][k]) + int(turboBytes[i-1][k])
			if dd < -2 || dd > 2 {
				t.Errorf("turbo entry %d channel %d: second difference %d", i, k, dd)
			}
		}
	}
}

func TestColormapLookupRules(t *testing.T) {
	for _, name := range ColormapNames() {
		c, err := ColormapByName(name)
		if err != nil || c.Name() != name {
			t.Errorf("ColormapByName(%q) = %v, %v", name, c.Name(), err)
		}
	}
	if len(ColormapNames()) != 7 {
		t.Errorf("ColormapNames() = %v, want 7 names", ColormapNames())
	}
	if c, err := ColormapByName("Viridis"); err != nil || c.Name() != "viridis" {
		t.Errorf("case-insensitive lookup: %v, %v", c.Name(), err)
	}
	if _, err := ColormapByName("rainbow"); err == nil {
		t.Error("no error for an unknown colormap")
	}
	var zero Colormap
	if zero.Name() != "gray" || zero.At(1) != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("zero Colormap: %s, %v; want gray", zero.Name(), zero.At(1))
	}
	v, _ := ColormapByName("viridis")
	if v.At(math.NaN()) != v.At(0) || v.At(-3) != v.At(0) || v.At(7) != v.At(1) {
		t.Error("NaN and out-of-range values are not clamped to the ends")
	}
	// 256 equal bins: 0.25 starts entry 64, just below it is entry 63.
	g, _ := ColormapByName("gray")
	if g.At(0.25).R != 64 || g.At(0.2499).R != 63 {
		t.Errorf("gray bins: At(0.25) = %v, At(0.2499) = %v", g.At(0.25), g.At(0.2499))
	}
	if DefaultColormap(Signed).Name() != "coolwarm" || DefaultColormap(Abs).Name() != "viridis" {
		t.Error("DefaultColormap: want coolwarm for Signed, viridis otherwise")
	}
}
