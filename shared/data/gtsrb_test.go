package data

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gtsrbFixtureImage returns a w x h image filled with border whose region roi
// is filled by inner(x, y).
func gtsrbFixtureImage(w, h int, roi image.Rectangle, border color.RGBA, inner func(x, y int) color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			if (image.Point{x, y}).In(roi) {
				img.SetRGBA(x, y, inner(x, y))
			} else {
				img.SetRGBA(x, y, border)
			}
		}
	}
	return img
}

func gtsrbWriteFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

var (
	gtsrbRed   = color.RGBA{200, 0, 0, 255}
	gtsrbGreen = color.RGBA{10, 220, 30, 255}
)

// gtsrbGradient gives each ROI pixel its own colour, so a shifted or resized
// crop shows.
func gtsrbGradient(x, y int) color.RGBA { return color.RGBA{uint8(20 * x), uint8(20 * y), 77, 255} }

func TestParseGTSRBCSVReadsColumnsByName(t *testing.T) {
	in := "\ufeffFilename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\r\n" +
		"00000_00000.ppm;29;30;5;6;24;25;0\r\n" +
		"00000_00001.ppm;30;30;5;5;25;25;7\r\n"
	recs, hasClass, err := parseGTSRBCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if !hasClass || len(recs) != 2 {
		t.Fatalf("hasClass=%v, %d records", hasClass, len(recs))
	}
	want := gtsrbRecord{file: "00000_00000.ppm", roi: image.Rect(5, 6, 24, 25), class: 0}
	if recs[0] != want {
		t.Errorf("record 0 = %+v, want %+v", recs[0], want)
	}
	if recs[1].class != 7 || recs[1].roi != image.Rect(5, 5, 25, 25) {
		t.Errorf("record 1 = %+v", recs[1])
	}

	// The unlabelled test file has the same columns less ClassId; column
	// order does not matter.
	recs, hasClass, err = parseGTSRBCSV(strings.NewReader("Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;Filename\n1;2;3;4;00000.ppm\n"))
	if err != nil {
		t.Fatal(err)
	}
	if hasClass || recs[0] != (gtsrbRecord{file: "00000.ppm", roi: image.Rect(1, 2, 3, 4), class: -1}) {
		t.Errorf("unlabelled: hasClass=%v, record %+v", hasClass, recs[0])
	}
}

func TestParseGTSRBCSVRejectsMalformedRowsWithLineNumbers(t *testing.T) {
	const header = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"
	const good = "a.ppm;10;10;1;1;9;9;3\n"
	for _, tc := range []struct {
		name, in, errHas string
	}{
		{"empty", "", "empty file"},
		{"missing ROI column", "Filename;Roi.X1;Roi.Y1;Roi.X2;ClassId\n", `lacks column "roi.y2"`},
		{"repeated column", "Filename;Filename;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2\n", "repeats"},
		{"field count", header + good + "b.ppm;10;10;1;1;9;9\n", "line 3"},
		{"non-integer", header + good + "b.ppm;10;10;1;x;9;9;3\n", `line 3: Roi.Y1 "x"`},
		{"negative", header + "b.ppm;10;10;-1;1;9;9;3\n", `line 2: Roi.X1 "-1"`},
		{"empty ROI", header + "b.ppm;10;10;5;1;5;9;3\n", "line 2: empty ROI"},
		{"class 43", header + good + good + "b.ppm;10;10;1;1;9;9;43\n", "line 4: ClassId 43"},
		{"path escape", header + "../b.ppm;10;10;1;1;9;9;3\n", "line 2: file name"},
		{"subdirectory", header + "d/b.ppm;10;10;1;1;9;9;3\n", "line 2: file name"},
	} {
		_, _, err := parseGTSRBCSV(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.errHas)
		}
	}
}

// writeGTSRBTrain writes two classes: 00000 with a 10x9 image whose 4x4 ROI
// (3,2)-(7,6) is a gradient, and 00002 with a 12x12 image whose 6x6 ROI
// (2,3)-(8,9) is uniformly green, both on a red border.
func writeGTSRBTrain(t *testing.T, root string) {
	images := filepath.Join(root, "GTSRB", "Final_Training", "Images")
	roi0 := image.Rect(3, 2, 7, 6)
	gtsrbWriteFile(t, filepath.Join(images, "00000", "00000_00000.ppm"),
		encodeP6(gtsrbFixtureImage(10, 9, roi0, gtsrbRed, gtsrbGradient)))
	gtsrbWriteFile(t, filepath.Join(images, "00000", "GT-00000.csv"),
		[]byte("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n00000_00000.ppm;10;9;3;2;7;6;0\n"))
	roi2 := image.Rect(2, 3, 8, 9)
	gtsrbWriteFile(t, filepath.Join(images, "00002", "00002_00000.ppm"),
		encodeP6(gtsrbFixtureImage(12, 12, roi2, gtsrbRed, func(int, int) color.RGBA { return gtsrbGreen })))
	gtsrbWriteFile(t, filepath.Join(images, "00002", "GT-00002.csv"),
		[]byte("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n00002_00000.ppm;12;12;2;3;8;9;2\n"))
}

func TestLoadGTSRBTrainCropsToExclusiveROI(t *testing.T) {
	dir := t.TempDir()
	writeGTSRBTrain(t, dir)
	d, err := LoadGTSRB(dir, "train", 4)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "gtsrb/train" || d.Len() != 2 || d.Height != 4 || d.Width != 4 || d.Channels != 3 {
		t.Fatalf("%q: %d images of %dx%dx%d", d.Name, d.Len(), d.Height, d.Width, d.Channels)
	}
	if d.Labels[0] != 0 || d.Labels[1] != 2 {
		t.Errorf("labels %v, want [0 2]", d.Labels)
	}
	if len(d.Classes) != 43 || d.Classes[14] != "Stop" || d.Classes[42] != "End of no passing by vehicles over 3.5 metric tons" {
		t.Errorf("classes: %d names, [14]=%q", len(d.Classes), d.Classes[14])
	}
	// A 4x4 ROI resized to 4x4 is the ROI itself, pixel for pixel.
	img := d.Image(0)
	for y := range 4 {
		for x := range 4 {
			c := gtsrbGradient(3+x, 2+y)
			for ch, v := range []uint8{c.R, c.G, c.B} {
				if got, want := img[(y*4+x)*3+ch], float32(v)/255; got != want {
					t.Errorf("image 0 (%d,%d) channel %d = %v, want %v", x, y, ch, got, want)
				}
			}
		}
	}
	// A uniform 6x6 ROI resized to 4x4 stays uniform: no red border leaks in.
	img = d.Image(1)
	for p := range 16 {
		for ch, v := range []uint8{gtsrbGreen.R, gtsrbGreen.G, gtsrbGreen.B} {
			if got, want := img[p*3+ch], float32(v)/255; got != want {
				t.Fatalf("image 1 pixel %d channel %d = %v, want %v", p, ch, got, want)
			}
		}
	}
}

func TestLoadGTSRBTrainRejectsClassIdOutsideItsDirectory(t *testing.T) {
	dir := t.TempDir()
	writeGTSRBTrain(t, dir)
	gtsrbWriteFile(t, filepath.Join(dir, "GTSRB", "Final_Training", "Images", "00002", "GT-00002.csv"),
		[]byte("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n00002_00000.ppm;12;12;2;3;8;9;5\n"))
	_, err := LoadGTSRB(dir, "train", 4)
	if err == nil || !strings.Contains(err.Error(), "has ClassId 5 but lies in class directory 00002") {
		t.Errorf("error %v, want a ClassId/directory mismatch", err)
	}
}

func TestLoadGTSRBTestNeedsLabelledCSV(t *testing.T) {
	dir := t.TempDir()
	images := filepath.Join(dir, "GTSRB", "Final_Test", "Images")
	roi := image.Rect(1, 1, 5, 5)
	for i, bg := range []color.RGBA{gtsrbGreen, {0, 0, 250, 255}} {
		gtsrbWriteFile(t, filepath.Join(images, []string{"00000.ppm", "00001.ppm"}[i]),
			encodeP6(gtsrbFixtureImage(6, 7, roi, gtsrbRed, func(int, int) color.RGBA { return bg })))
	}
	gtsrbWriteFile(t, filepath.Join(images, "GT-final_test.test.csv"),
		[]byte("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2\n00000.ppm;6;7;1;1;5;5\n00001.ppm;6;7;1;1;5;5\n"))

	_, err := LoadGTSRB(dir, "test", 2)
	if err == nil || !strings.Contains(err.Error(), "has no labels") || !strings.Contains(err.Error(), "GTSRB_Final_Test_GT.zip") {
		t.Fatalf("without GT-final_test.csv: error %v, want a pointer to GTSRB_Final_Test_GT.zip", err)
	}

	// GTSRB_Final_Test_GT.zip extracted beside the GTSRB directory.
	gtsrbWriteFile(t, filepath.Join(dir, "GT-final_test.csv"),
		[]byte("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\r\n00000.ppm;6;7;1;1;5;5;14\r\n00001.ppm;6;7;1;1;5;5;42\r\n"))
	d, err := LoadGTSRB(dir, "test", 2)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2 || d.Labels[0] != 14 || d.Labels[1] != 42 {
		t.Fatalf("labels %v, want [14 42]", d.Labels)
	}
	if got := d.Image(1)[2]; got != float32(250)/255 {
		t.Errorf("test image 1 blue = %v, want 250/255", got)
	}

	// Given the GTSRB directory itself, the loader does not search its parent,
	// but it does find the labels in Final_Test/Images.
	if d, err := LoadGTSRB(filepath.Join(dir, "GTSRB"), "test", 2); err == nil {
		t.Errorf("labels found outside the given directory tree: %v", d.Labels)
	}
	gtsrbWriteFile(t, filepath.Join(images, "GT-final_test.csv"),
		[]byte("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n00000.ppm;6;7;1;1;5;5;1\n"))
	d, err = LoadGTSRB(filepath.Join(dir, "GTSRB"), "test", 2)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 1 || d.Labels[0] != 1 {
		t.Errorf("labels %v, want [1] from Final_Test/Images/GT-final_test.csv", d.Labels)
	}
}

func TestLoadGTSRBErrorsDescribeLayout(t *testing.T) {
	dir := t.TempDir()
	for split, want := range map[string]string{"train": "Final_Training", "test": "Final_Test"} {
		_, err := LoadGTSRB(dir, split, 32)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), gtsrbURL) {
			t.Errorf("%s: error %v, want the layout and %s", split, err, gtsrbURL)
		}
	}
	if _, err := LoadGTSRB(dir, "val", 32); err == nil {
		t.Error("split \"val\" accepted")
	}
	if _, err := LoadGTSRB(dir, "train", 0); err == nil {
		t.Error("size 0 accepted")
	}
}

func TestLoadGTSRBRejectsROIOutsideImage(t *testing.T) {
	dir := t.TempDir()
	writeGTSRBTrain(t, dir)
	gtsrbWriteFile(t, filepath.Join(dir, "GTSRB", "Final_Training", "Images", "00000", "GT-00000.csv"),
		[]byte("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n00000_00000.ppm;10;9;10;2;20;6;0\n"))
	_, err := LoadGTSRB(dir, "train", 4)
	if err == nil || !strings.Contains(err.Error(), "lies outside") {
		t.Errorf("error %v, want the ROI rejected", err)
	}
}

func FuzzParseGTSRBCSV(f *testing.F) {
	f.Add("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n00000_00000.ppm;29;30;5;6;24;25;0\n")
	f.Add("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2\r\n00000.ppm;53;54;6;5;48;49\r\n")
	f.Add("Filename;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n\"a;b\";1;1;2;2;42\n")
	f.Add("Filename;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n../a;1;1;2;2;43\n")
	f.Add("Filename;Filename\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		recs, hasClass, err := parseGTSRBCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		for i, r := range recs {
			if r.roi.Empty() || r.roi.Min.X < 0 || r.roi.Min.Y < 0 {
				t.Fatalf("record %d has ROI %v", i, r.roi)
			}
			if hasClass != (r.class >= 0) || r.class >= gtsrbNumClasses {
				t.Fatalf("record %d has class %d (hasClass %v)", i, r.class, hasClass)
			}
			if r.file == "" || filepath.Base(r.file) != r.file || !filepath.IsLocal(r.file) {
				t.Fatalf("record %d has file %q", i, r.file)
			}
		}
	})
}
