package render

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/artrobust/art/shared/data"
)

func rgbaAt(img *image.RGBA, x, y int) color.RGBA { return img.RGBAAt(x, y) }

func TestToRGBAClampsAndRounds(t *testing.T) {
	g, err := ToRGBA([]float32{0, 0.5, 1, float32(math.NaN())}, 2, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint8{0, 128, 255, 0} {
		if got := rgbaAt(g, i%2, i/2); got != (color.RGBA{want, want, want, 255}) {
			t.Errorf("gray pixel %d = %v, want %d", i, got, want)
		}
	}
	rgb, err := ToRGBA([]float32{-1, 2, 0.2}, 1, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rgbaAt(rgb, 0, 0), (color.RGBA{0, 255, 51, 255}); got != want {
		t.Errorf("RGB pixel = %v, want %v", got, want)
	}
	if _, err := ToRGBA(make([]float32, 8), 2, 2, 2); err == nil {
		t.Error("no error for 2 channels")
	}
	if _, err := ToRGBA(make([]float32, 11), 2, 2, 3); err == nil {
		t.Error("no error for a wrong length")
	}
}

// TestHeatmapGoldenPipeline renders a 2x2 single-channel attribution
// (0, 1, -2, 1) end to end: Saliency Abs gives (0, 1, 2, 1) (it already sums
// to 4), PercentileClip(0, 100) gives (0, 0.5, 1, 0.5), and viridis gives
// entries 0, 128, 255, 128.
func TestHeatmapGoldenPipeline(t *testing.T) {
	s, err := Saliency([]float32{0, 1, -2, 1}, 2, 2, 1, Abs)
	if err != nil {
		t.Fatal(err)
	}
	heat, err := PercentileClip(s, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Heatmap(heat, 2, 2, mustColormap("viridis"))
	if err != nil {
		t.Fatal(err)
	}
	lo, mid, hi := color.RGBA{68, 1, 84, 255}, color.RGBA{33, 145, 140, 255}, color.RGBA{253, 231, 37, 255}
	for i, want := range []color.RGBA{lo, mid, hi, mid} {
		if got := rgbaAt(img, i%2, i/2); got != want {
			t.Errorf("pixel %d = %v, want %v", i, got, want)
		}
	}
	if _, err := Heatmap(heat, 3, 2, mustColormap("gray")); err == nil {
		t.Error("no error for a wrong size")
	}
}

func TestHeatmapNonFiniteIsZero(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	img, _ := Heatmap([]float32{nan, inf, -inf, 0.25}, 2, 2, mustColormap("gray"))
	for i, want := range []uint8{0, 0, 0, 64} {
		if got := rgbaAt(img, i%2, i/2).R; got != want {
			t.Errorf("pixel %d = %d, want %d", i, got, want)
		}
	}
}

func TestOverlayAlphaEndsAreImageAndHeatmap(t *testing.T) {
	const h, w, c = 3, 4, 3
	img := make([]float32, h*w*c)
	heat := make([]float32, h*w)
	for i := range img {
		img[i] = float32(i%7) / 6
	}
	for i := range heat {
		heat[i] = float32(i) / float32(len(heat)-1)
	}
	cm := mustColormap("turbo")
	want0, _ := ToRGBA(img, h, w, c)
	want1, _ := Heatmap(heat, h, w, cm)
	got0, err := Overlay(img, h, w, c, heat, cm, 0)
	if err != nil {
		t.Fatal(err)
	}
	got1, _ := Overlay(img, h, w, c, heat, cm, 1)
	for y := range h {
		for x := range w {
			if rgbaAt(got0, x, y) != rgbaAt(want0, x, y) {
				t.Errorf("alpha 0 at (%d,%d): %v, want %v", x, y, rgbaAt(got0, x, y), rgbaAt(want0, x, y))
			}
			if rgbaAt(got1, x, y) != rgbaAt(want1, x, y) {
				t.Errorf("alpha 1 at (%d,%d): %v, want %v", x, y, rgbaAt(got1, x, y), rgbaAt(want1, x, y))
			}
		}
	}
}

func TestOverlayBlendHandComputed(t *testing.T) {
	// Gray 0.2 (51) under gray heat 1 (255) at alpha 0.5: 153.
	g, err := Overlay([]float32{0.2}, 1, 1, 1, []float32{1}, mustColormap("gray"), 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rgbaAt(g, 0, 0), (color.RGBA{153, 153, 153, 255}); got != want {
		t.Errorf("gray blend = %v, want %v", got, want)
	}
	// RGB (1, 0, 0.5) = (255, 0, 127.5) under viridis(0) = (68, 1, 84) at
	// alpha 0.25: (208.25, 0.25, 116.625), rounded.
	rgb, _ := Overlay([]float32{1, 0, 0.5}, 1, 1, 3, []float32{0}, mustColormap("viridis"), 0.25)
	if got, want := rgbaAt(rgb, 0, 0), (color.RGBA{208, 0, 117, 255}); got != want {
		t.Errorf("RGB blend = %v, want %v", got, want)
	}
}

func TestOverlayRejectsBadInput(t *testing.T) {
	cm := mustColormap("gray")
	if _, err := Overlay(make([]float32, 4), 2, 2, 1, make([]float32, 3), cm, 0.5); err == nil {
		t.Error("no error for a heat map of the wrong size")
	}
	for _, a := range []float64{-0.1, 1.1, math.NaN()} {
		if _, err := Overlay(make([]float32, 4), 2, 2, 1, make([]float32, 4), cm, a); err == nil {
			t.Errorf("no error for alpha %v", a)
		}
	}
}

// drawnPixels draws box on a fresh w x h image and returns which pixels
// changed.
func drawnPixels(w, h int, box data.Box, thickness int) [][]bool {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	DrawBox(img, box, color.RGBA{255, 0, 0, 255}, thickness)
	got := make([][]bool, h)
	for y := range h {
		got[y] = make([]bool, w)
		for x := range w {
			got[y][x] = rgbaAt(img, x, y) != color.RGBA{}
		}
	}
	return got
}

func TestDrawBoxDrawsTheBorderOnly(t *testing.T) {
	for _, c := range []struct {
		name           string
		box            data.Box
		t              int
		x0, y0, x1, y1 int // the rounded box
	}{
		{"thin", data.Box{X0: 2, Y0: 3, X1: 8, Y1: 7}, 1, 2, 3, 8, 7},
		{"thick", data.Box{X0: 1, Y0: 1, X1: 9, Y1: 9}, 2, 1, 1, 9, 9},
		{"rounded", data.Box{X0: 1.6, Y0: 2.4, X1: 5.5, Y1: 6.5}, 1, 2, 2, 6, 7},
		{"clipped", data.Box{X0: -3, Y0: -3, X1: 4, Y1: 4}, 1, -3, -3, 4, 4},
		{"thicker than the box", data.Box{X0: 2, Y0: 2, X1: 5, Y1: 4}, 5, 2, 2, 5, 4},
		{"thickness 0 counts as 1", data.Box{X0: 2, Y0: 3, X1: 8, Y1: 7}, 0, 2, 3, 8, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := drawnPixels(10, 10, c.box, c.t)
			th := max(c.t, 1)
			n := 0
			for y := range 10 {
				for x := range 10 {
					in := x >= c.x0 && x < c.x1 && y >= c.y0 && y < c.y1
					inner := x >= c.x0+th && x < c.x1-th && y >= c.y0+th && y < c.y1-th
					if want := in && !inner; got[y][x] != want {
						t.Errorf("pixel (%d,%d) drawn = %v, want %v", x, y, got[y][x], want)
					}
					if got[y][x] {
						n++
					}
				}
			}
			t.Logf("%d pixels", n)
		})
	}
	// The thin box's outline by hand: 2 (6 + 4) - 4 = 16 pixels.
	n := 0
	for _, row := range drawnPixels(10, 10, data.Box{X0: 2, Y0: 3, X1: 8, Y1: 7}, 1) {
		for _, d := range row {
			if d {
				n++
			}
		}
	}
	if n != 16 {
		t.Errorf("thin box outline has %d pixels, want 16", n)
	}
	for _, b := range []data.Box{{X0: 5, Y0: 5, X1: 5, Y1: 9}, {X0: math.NaN(), Y0: 0, X1: 4, Y1: 4}} {
		for _, row := range drawnPixels(10, 10, b, 1) {
			for _, d := range row {
				if d {
					t.Fatalf("box %v drew pixels", b)
				}
			}
		}
	}
}

func TestDrawBoxIsRelativeToBoundsMin(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 10, 10))
	sub := img.SubImage(image.Rect(4, 4, 10, 10)).(*image.RGBA)
	DrawBox(sub, data.Box{X0: 0, Y0: 0, X1: 1, Y1: 1}, color.White, 1)
	if rgbaAt(img, 4, 4) != (color.RGBA{255, 255, 255, 255}) || rgbaAt(img, 0, 0) != (color.RGBA{}) {
		t.Error("box not placed at the sub-image's origin")
	}
}

func TestUpscaleRepeatsPixels(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 2, 1))
	a, b := color.RGBA{10, 20, 30, 255}, color.RGBA{40, 50, 60, 255}
	src.SetRGBA(0, 0, a)
	src.SetRGBA(1, 0, b)
	up, err := Upscale(src, 3)
	if err != nil {
		t.Fatal(err)
	}
	if up.Bounds() != image.Rect(0, 0, 6, 3) {
		t.Fatalf("bounds %v, want 6x3", up.Bounds())
	}
	for y := range 3 {
		for x := range 6 {
			want := a
			if x >= 3 {
				want = b
			}
			if got := rgbaAt(up, x, y); got != want {
				t.Errorf("(%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
	if _, err := Upscale(src, 0); err == nil {
		t.Error("no error for factor 0")
	}
}

func TestGridLaysOutCellsWithGaps(t *testing.T) {
	cols := []color.RGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}}
	var imgs []*image.RGBA
	for _, c := range cols {
		im := image.NewRGBA(image.Rect(0, 0, 2, 2))
		for y := range 2 {
			for x := range 2 {
				im.SetRGBA(x, y, c)
			}
		}
		imgs = append(imgs, im)
	}
	bg := color.RGBA{9, 9, 9, 255}
	g, err := Grid(imgs, 2, 1, bg)
	if err != nil {
		t.Fatal(err)
	}
	if g.Bounds() != image.Rect(0, 0, 5, 5) {
		t.Fatalf("bounds %v, want 5x5", g.Bounds())
	}
	// Cells at x in {0,1} and {3,4}, y likewise; the gap is row/column 2.
	for y := range 5 {
		for x := range 5 {
			want := bg
			switch {
			case x < 2 && y < 2:
				want = cols[0]
			case x > 2 && y < 2:
				want = cols[1]
			case x < 2 && y > 2:
				want = cols[2]
			}
			if got := rgbaAt(g, x, y); got != want {
				t.Errorf("(%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
}

func TestGridCentresSmallerImages(t *testing.T) {
	small := image.NewRGBA(image.Rect(0, 0, 1, 1))
	small.SetRGBA(0, 0, color.RGBA{1, 2, 3, 255})
	big := image.NewRGBA(image.Rect(0, 0, 3, 3))
	g, err := Grid([]image.Image{small, big}, 2, 0, color.Black)
	if err != nil {
		t.Fatal(err)
	}
	if g.Bounds() != image.Rect(0, 0, 6, 3) {
		t.Fatalf("bounds %v, want 6x3", g.Bounds())
	}
	if got := rgbaAt(g, 1, 1); got != (color.RGBA{1, 2, 3, 255}) {
		t.Errorf("centre of the first cell = %v, want the small image", got)
	}
	if got := rgbaAt(g, 0, 0); got != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("corner of the first cell = %v, want background", got)
	}
	if _, err := Grid([]image.Image{}, 2, 0, color.Black); err == nil {
		t.Error("no error for no images")
	}
	if _, err := Grid([]image.Image{small}, 0, 0, color.Black); err == nil {
		t.Error("no error for 0 columns")
	}
}

func BenchmarkOverlay224(b *testing.B) {
	const h, w, c = 224, 224, 3
	img, heat := make([]float32, h*w*c), make([]float32, h*w)
	for i := range img {
		img[i] = float32(i%255) / 255
	}
	for i := range heat {
		heat[i] = float32(i%1000) / 1000
	}
	cm := mustColormap("viridis")
	b.ResetTimer()
	for range b.N {
		if _, err := Overlay(img, h, w, c, heat, cm, 0.5); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpscale32By8(b *testing.B) {
	src := image.NewRGBA(image.Rect(0, 0, 32, 32))
	b.ResetTimer()
	for range b.N {
		if _, err := Upscale(src, 8); err != nil {
			b.Fatal(err)
		}
	}
}

func TestUpscaleConvertsOtherImageTypes(t *testing.T) {
	src := image.NewGray(image.Rect(3, 3, 4, 5)) // 1x2, offset bounds
	src.SetGray(3, 4, color.Gray{Y: 200})
	up, err := Upscale(src, 2)
	if err != nil {
		t.Fatal(err)
	}
	if up.Bounds() != image.Rect(0, 0, 2, 4) {
		t.Fatalf("bounds %v, want 2x4", up.Bounds())
	}
	if got := rgbaAt(up, 1, 3); got != (color.RGBA{200, 200, 200, 255}) {
		t.Errorf("(1,3) = %v, want gray 200", got)
	}
	if got := rgbaAt(up, 0, 1); got != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("(0,1) = %v, want black", got)
	}
}
