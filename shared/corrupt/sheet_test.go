package corrupt

import (
	"flag"
	goimage "image"
	"image/color"
	"image/png"
	"os"
	"testing"

	"github.com/artrobust/art/shared/data"
)

var sheetPath = flag.String("contact-sheet", "", "write a PNG of every corruption at every severity on a shapes image to this path")

// TestContactSheet draws, when -contact-sheet is given, one row per
// corruption type: the clean image, then severities 1 to 5, each image
// enlarged 4x, for checking by eye against the CIFAR-10-C figures.
func TestContactSheet(t *testing.T) {
	if *sheetPath == "" {
		t.Skip("no -contact-sheet path")
	}
	const size, zoom, gap = 32, 4, 4
	ds, err := data.Shapes(data.ShapesConfig{N: 4, Size: size, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	cell := size*zoom + gap
	sheet := goimage.NewRGBA(goimage.Rect(0, 0, 6*cell, len(names)*cell))
	for i := range sheet.Pix {
		sheet.Pix[i] = 255
	}
	draw := func(img []float32, row, col int) {
		for y := range size * zoom {
			for x := range size * zoom {
				p := ((y/zoom)*size + x/zoom) * 3
				sheet.Set(col*cell+x, row*cell+y, color.RGBA{
					uint8(img[p]*255 + 0.5), uint8(img[p+1]*255 + 0.5), uint8(img[p+2]*255 + 0.5), 255})
			}
		}
	}
	img := ds.Image(3)
	for row, name := range names {
		draw(img, row, 0)
		for s := 1; s <= Severities; s++ {
			out, err := Apply(name, s, img, size, size, 3, 1)
			if err != nil {
				t.Fatal(err)
			}
			draw(out, row, s)
		}
	}
	f, err := os.Create(*sheetPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, sheet); err != nil {
		t.Fatal(err)
	}
}
