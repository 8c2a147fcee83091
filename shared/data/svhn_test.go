package data

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/matfile"
)

// svhnPixel is the test pattern: a distinct value for every row, column,
// channel and image, so a swapped axis shows up as a wrong value.
func svhnPixel(r, c, k, n int) uint8 { return uint8(1 + r + 7*c + 31*k + 53*n) }

// svhnFile returns a MAT-file shaped like SVHN's: X is HxWx3xN uint8 in
// column-major order, y is Nx1 double.
func svhnFile(t testing.TB, h, w int, labels []float64) []byte {
	t.Helper()
	n := len(labels)
	pix := make([]uint8, h*w*3*n)
	for i := range n {
		for k := range 3 {
			for c := range w {
				for r := range h {
					pix[r+h*(c+w*(k+3*i))] = svhnPixel(r, c, k, i)
				}
			}
		}
	}
	x, err := matfile.NewArray("X", []int{h, w, 3, n}, pix)
	if err != nil {
		t.Fatal(err)
	}
	y, err := matfile.NewArray("y", []int{n, 1}, labels)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := matfile.WriteCompressed(&buf, x, y); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeSVHN(t *testing.T, path string, h, w int, labels []float64) {
	t.Helper()
	if err := os.WriteFile(path, svhnFile(t, h, w, labels), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadSVHNTransposesColumnMajorPixels(t *testing.T) {
	dir := t.TempDir()
	// A non-square 4x3 image size catches a row/column swap.
	const h, w = 4, 3
	writeSVHN(t, filepath.Join(dir, "test_32x32.mat"), h, w, []float64{10, 1, 5, 9, 10})
	d, err := LoadSVHN(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Name != "svhn/test" || d.Height != h || d.Width != w || d.Channels != 3 || d.Len() != 5 {
		t.Fatalf("dataset %q %dx%dx%d with %d images, want svhn/test 4x3x3 with 5", d.Name, d.Height, d.Width, d.Channels, d.Len())
	}
	for i, want := range []int{0, 1, 5, 9, 0} {
		if d.Labels[i] != want {
			t.Errorf("label %d = %d, want %d", i, d.Labels[i], want)
		}
	}
	if len(d.Classes) != 10 || d.Classes[0] != "0" || d.Classes[9] != "9" {
		t.Errorf("classes = %v, want 0..9", d.Classes)
	}
	for i := range 5 {
		img := d.Image(i)
		for r := range h {
			for c := range w {
				for k := range 3 {
					got := img[(r*w+c)*3+k]
					if want := float32(svhnPixel(r, c, k, i)) / 255; got != want {
						t.Fatalf("image %d pixel (row %d, col %d, ch %d) = %v, want %v", i, r, c, k, got, want)
					}
				}
			}
		}
	}
}

func TestLoadSVHNErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadSVHN(dir, "train")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "train_32x32.mat")) || !strings.Contains(err.Error(), svhnURL) {
		t.Errorf("missing file: %v, want the path and %s", err, svhnURL)
	}
	if _, err := LoadSVHN(dir, "extra"); err == nil {
		t.Error("split extra accepted")
	}

	bad := filepath.Join(dir, "test_32x32.mat")
	writeSVHN(t, bad, 2, 2, []float64{1, 11})
	if _, err := LoadSVHN(dir, "test"); err == nil || !strings.Contains(err.Error(), "1..10") {
		t.Errorf("label 11: %v, want a label range error", err)
	}

	// y shorter than X.
	x, _ := matfile.NewArray("X", []int{2, 2, 3, 2}, make([]uint8, 24))
	y, _ := matfile.NewArray("y", []int{1, 1}, []float64{3})
	writeMatVars(t, bad, x, y)
	if _, err := LoadSVHN(dir, "test"); err == nil || !strings.Contains(err.Error(), "1 labels for 2 images") {
		t.Errorf("1 label for 2 images: %v", err)
	}

	// Grey images (HxWx1xN) are not SVHN.
	x, _ = matfile.NewArray("X", []int{2, 2, 1, 1}, make([]uint8, 4))
	writeMatVars(t, bad, x, y)
	if _, err := LoadSVHN(dir, "test"); err == nil || !strings.Contains(err.Error(), "HxWx3xN") {
		t.Errorf("1-channel X: %v", err)
	}

	writeMatVars(t, bad, y)
	if _, err := LoadSVHN(dir, "test"); err == nil || !strings.Contains(err.Error(), "want variables X") {
		t.Errorf("no X: %v", err)
	}
}

func writeMatVars(t *testing.T, path string, vars ...*matfile.Array) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := matfile.Write(f, vars...); err != nil {
		t.Fatal(err)
	}
}

// FuzzSVHNDataset checks that no MAT-file content makes the SVHN conversion
// panic, and that what it accepts is a valid dataset.
func FuzzSVHNDataset(f *testing.F) {
	good := svhnFile(f, 2, 3, []float64{10, 4})
	f.Add(good)
	f.Add(good[:len(good)-5])
	f.Add(svhnFile(f, 1, 1, []float64{11}))
	f.Fuzz(func(t *testing.T, b []byte) {
		mat, err := matfile.Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		d, err := svhnDataset(mat, "svhn/fuzz")
		if err != nil {
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("accepted an invalid dataset: %v", err)
		}
	})
}
