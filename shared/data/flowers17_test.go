package data

import (
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/matfile"
)

// flowers17Colour gives every fixture image its own solid colour, so the
// test can tell which file ended up where.
func flowers17Colour(id int) color.RGBA {
	return color.RGBA{uint8(20 + id%200), uint8(200 - id%150), uint8(40 + 3*(id%60)), 255}
}

// writeFlowers17Fixture writes a miniature Flowers-17 directory: 20x15
// JPEGs for images 1, 2, 81, 82 and 161, datasplits.mat with all nine
// split variables, and trimaps (16x12, a different size from the JPEGs, as
// in the real data) for images 1, 2, 81 and 82.
func writeFlowers17Fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"jpg", "trimaps"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []int{1, 2, 81, 82, 161} {
		img := image.NewRGBA(image.Rect(0, 0, 20, 15))
		for i := 0; i < len(img.Pix); i += 4 {
			c := flowers17Colour(id)
			copy(img.Pix[i:], []uint8{c.R, c.G, c.B, 255})
		}
		writeImageFile(t, filepath.Join(dir, "jpg", fmt.Sprintf("image_%04d.jpg", id)), func(f *os.File) error {
			return jpeg.Encode(f, img, &jpeg.Options{Quality: 100})
		})
	}

	splits := map[string][]float64{
		"trn1": {1, 81}, "val1": {161}, "tst1": {82, 161, 2},
		"trn2": {82}, "val2": {1, 2}, "tst2": {81},
		"trn3": {2}, "val3": {81, 82}, "tst3": {1, 161},
	}
	var vars []*matfile.Array
	for _, name := range []string{"trn1", "trn2", "trn3", "val1", "val2", "val3", "tst1", "tst2", "tst3"} {
		v, err := matfile.NewArray(name, []int{1, len(splits[name])}, splits[name])
		if err != nil {
			t.Fatal(err)
		}
		vars = append(vars, v)
	}
	f, err := os.Create(filepath.Join(dir, "datasplits.mat"))
	if err != nil {
		t.Fatal(err)
	}
	if err := matfile.Write(f, vars...); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// Palette trimaps: index 38 is the flower, index 1 the uncertain band,
	// index 0 background.
	palette := make(color.Palette, 40)
	for i := range palette {
		palette[i] = color.RGBA{uint8(i), uint8(i), uint8(i), 255}
	}
	palette[38] = color.RGBA{128, 0, 0, 255}
	paletted := func(x0, y0, x1, y1 int) *image.Paletted {
		m := image.NewPaletted(image.Rect(0, 0, 16, 12), palette)
		for y := range 12 {
			for x := range 16 {
				switch {
				case x >= x0 && x < x1 && y >= y0 && y < y1:
					m.SetColorIndex(x, y, 38)
				case x >= x0-1 && x < x1+1 && y >= y0-1 && y < y1+1:
					m.SetColorIndex(x, y, 1)
				}
			}
		}
		return m
	}
	// A greyscale trimap: the flower is grey level 38.
	grey := image.NewGray(image.Rect(0, 0, 16, 12))
	for y := range 12 {
		for x := range 2 {
			grey.Pix[y*grey.Stride+x] = 38
		}
		grey.Pix[y*grey.Stride+2] = 128
	}
	// An RGB trimap: the flower in (128,0,0), the rest grey and black.
	rgb := image.NewRGBA(image.Rect(0, 0, 16, 12))
	for y := range 12 {
		for x := range 16 {
			c := color.RGBA{0, 0, 0, 255}
			if x < 8 && y < 6 {
				c = color.RGBA{128, 0, 0, 255}
			} else if x == 8 {
				c = color.RGBA{128, 128, 128, 255}
			}
			rgb.Set(x, y, c)
		}
	}
	trimaps := map[int]image.Image{
		1:  paletted(5, 2, 11, 8),                                // columns 5..10, rows 2..7
		2:  paletted(0, 0, 2, 12),                                // columns 0..1, all rows
		81: rgb,                                                  // columns 0..7, rows 0..5
		82: image.NewPaletted(image.Rect(0, 0, 16, 12), palette), // no flower
	}
	for id, m := range trimaps {
		writeImageFile(t, filepath.Join(dir, "trimaps", fmt.Sprintf("image_%04d.png", id)), func(f *os.File) error {
			return png.Encode(f, m)
		})
	}
	return dir
}

func writeImageFile(t *testing.T, path string, encode func(*os.File) error) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := encode(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// checkFlowers17Images verifies that image i is the solid colour of ids[i].
func checkFlowers17Images(t *testing.T, d *Dataset, ids []int) {
	t.Helper()
	if d.Len() != len(ids) {
		t.Fatalf("%s: %d images, want %d", d.Name, d.Len(), len(ids))
	}
	for i, id := range ids {
		if want := (id - 1) / 80; d.Labels[i] != want {
			t.Errorf("%s: image %d (file %d) has label %d, want %d", d.Name, i, id, d.Labels[i], want)
		}
		c := flowers17Colour(id)
		want := []float64{float64(c.R) / 255, float64(c.G) / 255, float64(c.B) / 255}
		img := d.Image(i)
		for p, v := range img {
			// JPEG at quality 100 keeps a flat colour within a few levels.
			if math.Abs(float64(v)-want[p%3]) > 4.0/255 {
				t.Fatalf("%s: image %d (file %d) value %d = %v, want %v", d.Name, i, id, p, v, want[p%3])
			}
		}
	}
}

func TestLoadFlowers17SplitsLabelsAndPixels(t *testing.T) {
	dir := writeFlowers17Fixture(t)
	cases := []struct {
		split string
		fold  int
		ids   []int
	}{
		{"train", 1, []int{1, 81}},
		{"val", 1, []int{161}},
		{"test", 1, []int{82, 161, 2}},
		{"train", 2, []int{82}},
		{"val", 3, []int{81, 82}},
		{"test", 3, []int{1, 161}},
	}
	for _, c := range cases {
		d, err := LoadFlowers17(dir, c.split, c.fold, 8)
		if err != nil {
			t.Fatalf("%s fold %d: %v", c.split, c.fold, err)
		}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("flowers17/%s%d", c.split, c.fold); d.Name != want {
			t.Errorf("Name = %q, want %q", d.Name, want)
		}
		if d.Height != 8 || d.Width != 8 || d.Channels != 3 || d.Masks != nil || d.Boxes != nil {
			t.Errorf("%s: %dx%dx%d, masks %v, boxes %v; want 8x8x3 without masks", d.Name, d.Height, d.Width, d.Channels, d.Masks != nil, d.Boxes != nil)
		}
		checkFlowers17Images(t, d, c.ids)
	}
	d, _ := LoadFlowers17(dir, "val", 1, 8)
	if len(d.Classes) != 17 || d.Classes[0] != "Daffodil" || d.Classes[2] != "LilyValley" || d.Classes[16] != "Pansy" {
		t.Errorf("classes = %v", d.Classes)
	}
}

func TestLoadFlowers17MasksResizeNearestAndBox(t *testing.T) {
	dir := writeFlowers17Fixture(t)
	d, err := LoadFlowers17Masks(dir, "train", 1, 8)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Name != "flowers17/train1/trimaps" {
		t.Errorf("Name = %q", d.Name)
	}
	checkFlowers17Images(t, d, []int{1, 81})
	// 16x12 -> 8x8 nearest: output column x samples source column 2x+1,
	// output row y samples row floor((2y+1)*12/16) = 0,2,3,5,6,8,9,11
	// (sampling pixel corners instead would give other boxes).
	// Image 1's flower (columns 5..10, rows 2..7) becomes columns 2..4,
	// rows 1..4; the uncertain band around it stays background.
	// Image 81's (columns 0..7, rows 0..5) becomes columns 0..3, rows 0..3.
	wantBoxes := []Box{{X0: 2, Y0: 1, X1: 5, Y1: 5}, {X0: 0, Y0: 0, X1: 4, Y1: 4}}
	if !reflect.DeepEqual(d.Boxes, wantBoxes) {
		t.Errorf("boxes = %v, want %v", d.Boxes, wantBoxes)
	}
	for i, b := range wantBoxes {
		m := d.Mask(i)
		for y := range 8 {
			for x := range 8 {
				want := uint8(0)
				if float64(x) >= b.X0 && float64(x) < b.X1 && float64(y) >= b.Y0 && float64(y) < b.Y1 {
					want = 1
				}
				if m[y*8+x] != want {
					t.Errorf("mask %d at (x %d, y %d) = %d, want %d", i, x, y, m[y*8+x], want)
				}
			}
		}
	}

	// Test fold 1 is 82 (a trimap without flower), 161 (no trimap) and 2:
	// only image 2 remains.
	d, err = LoadFlowers17Masks(dir, "test", 1, 8)
	if err != nil {
		t.Fatal(err)
	}
	checkFlowers17Images(t, d, []int{2})
	if want := []Box{{X0: 0, Y0: 0, X1: 1, Y1: 8}}; !reflect.DeepEqual(d.Boxes, want) {
		t.Errorf("image 2 box = %v, want %v", d.Boxes, want)
	}
}

func TestLoadFlowers17Errors(t *testing.T) {
	empty := t.TempDir()
	_, err := LoadFlowers17(empty, "train", 1, 8)
	if err == nil || !strings.Contains(err.Error(), "datasplits.mat") || !strings.Contains(err.Error(), flowers17URL) {
		t.Errorf("empty directory: %v, want datasplits.mat and %s", err, flowers17URL)
	}

	dir := writeFlowers17Fixture(t)
	for _, c := range []struct {
		split      string
		fold, size int
		want       string
	}{
		{"training", 1, 8, "unknown split"},
		{"train", 4, 8, "fold 4"},
		{"train", 1, 0, "image size 0"},
	} {
		if _, err := LoadFlowers17(dir, c.split, c.fold, c.size); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s/%d/%d: %v, want %q", c.split, c.fold, c.size, err, c.want)
		}
	}

	os.Remove(filepath.Join(dir, "jpg", "image_0081.jpg"))
	_, err = LoadFlowers17(dir, "train", 1, 8)
	if err == nil || !strings.Contains(err.Error(), "image_0081.jpg") || !strings.Contains(err.Error(), "17flowers.tgz") {
		t.Errorf("missing JPEG: %v, want its path and 17flowers.tgz", err)
	}

	os.RemoveAll(filepath.Join(dir, "trimaps"))
	_, err = LoadFlowers17Masks(dir, "val", 1, 8)
	if err == nil || !strings.Contains(err.Error(), "trimaps.tgz") {
		t.Errorf("missing trimaps: %v, want trimaps.tgz", err)
	}

	v, _ := matfile.NewArray("trn1", []int{1, 1}, []float64{1361})
	writeMatVars(t, filepath.Join(dir, "datasplits.mat"), v)
	if _, err := LoadFlowers17(dir, "train", 1, 8); err == nil || !strings.Contains(err.Error(), "1361") {
		t.Errorf("image number 1361: %v", err)
	}
	if _, err := LoadFlowers17(dir, "val", 1, 8); err == nil || !strings.Contains(err.Error(), "no variable val1") {
		t.Errorf("missing val1: %v", err)
	}
}
