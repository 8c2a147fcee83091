package data

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cubFixture holds the five annotation files of a four-image CUB fixture, in
// parseCUBAnnotations order. The per-image files list ids out of order, as
// nothing requires them sorted.
func cubFixture() [5]string {
	return [5]string{
		"1 001.Albatross/a_1.jpg\n2 002.Gull/g_2.jpg\n3 002.Gull/g_3.jpg\n4 003.Tern/t_4.jpg\n",
		"4 3\n3 2\n2 2\n1 1\n",
		"1 1\n2 0\n3 1\n4 0\n\n",
		"1 10.0 6.0 20.0 8.0\n2 0 5 20 40\n3 3 3 21 27\n4 4 4 10 14.5\n",
		"1 001.Albatross\r\n2 002.Gull\r\n3 003.Tern\r\n",
	}
}

func parseCUBFixture(files [5]string) (*cubAnnotations, error) {
	r := func(i int) *strings.Reader { return strings.NewReader(files[i]) }
	return parseCUBAnnotations(r(0), r(1), r(2), r(3), r(4))
}

func TestParseCUBAnnotationsJoinsFilesById(t *testing.T) {
	ann, err := parseCUBFixture(cubFixture())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ann.classes, ","); got != "001.Albatross,002.Gull,003.Tern" {
		t.Errorf("classes %s", got)
	}
	want := []cubImage{
		{1, "001.Albatross/a_1.jpg", 0, true, 10, 6, 20, 8},
		{2, "002.Gull/g_2.jpg", 1, false, 0, 5, 20, 40},
		{3, "002.Gull/g_3.jpg", 1, true, 3, 3, 21, 27},
		{4, "003.Tern/t_4.jpg", 2, false, 4, 4, 10, 14.5},
	}
	if len(ann.images) != len(want) {
		t.Fatalf("%d images, want %d", len(ann.images), len(want))
	}
	for i := range want {
		if ann.images[i] != want[i] {
			t.Errorf("image %d = %+v, want %+v", i, ann.images[i], want[i])
		}
	}
}

func TestParseCUBAnnotationsRejectsMalformedLinesNamingFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name   string
		file   int
		text   string
		errHas string
	}{
		{"extra field", 0, "1 a.jpg\n2 b.jpg extra\n3 c.jpg\n4 d.jpg\n", "images.txt:2: 3 fields, want 2"},
		{"zero id", 0, "0 a.jpg\n", `images.txt:1: image id "0"`},
		{"repeated image", 0, "1 a.jpg\n1 b.jpg\n", "images.txt:2: image id 1 repeated"},
		{"path escapes images/", 0, "1 ../a.jpg\n2 b\n3 c\n4 d\n", "images.txt:1: image name"},
		{"absolute path", 0, "1 /etc/a.jpg\n2 b\n3 c\n4 d\n", "images.txt:1: image name"},
		{"label out of range", 1, "1 1\n2 4\n3 1\n4 1\n", "image_class_labels.txt:2: class id \"4\""},
		{"label of unknown image", 1, "1 1\n2 1\n3 1\n4 1\n5 1\n", "image_class_labels.txt:5: image id 5 is not in images.txt"},
		{"missing label", 1, "1 1\n2 1\n4 1\n", "image_class_labels.txt: no line for image id 3"},
		{"repeated label", 1, "1 1\n2 1\n2 1\n4 1\n", "image_class_labels.txt:3: image id 2 repeated"},
		{"split value", 2, "1 1\n2 0\n3 2\n4 0\n", `train_test_split.txt:3: is_training_image "2"`},
		{"box NaN", 3, "1 NaN 1 1 1\n", `bounding_boxes.txt:1: box value "NaN"`},
		{"box zero width", 3, "1 1 1 0 1\n", "bounding_boxes.txt:1: box x=1 y=1 width=0"},
		{"box four fields", 3, "1 1 1 1 1\n\n2 1 1 1\n", "bounding_boxes.txt:3: 4 fields, want 5"},
		{"class id gap", 4, "1 a\n3 c\n", "classes.txt:2: class id 3, want ids 1..2"},
		{"class repeated", 4, "1 a\n1 b\n2 c\n", "classes.txt:2: class id 1 repeated"},
		{"long line", 4, "1 " + strings.Repeat("a", 5000) + "\n", "classes.txt:1: line longer than"},
	} {
		files := cubFixture()
		files[tc.file] = tc.text
		_, err := parseCUBFixture(files)
		if err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.errHas)
		}
	}
}

// writeCUBFixture writes the fixture under parent/CUB_200_2011 with JPEGs of
// different sizes. Image 1 (40x20) is green in its 10 leftmost columns and
// blue elsewhere; the others are uniformly grey.
func writeCUBFixture(t *testing.T, parent string) string {
	t.Helper()
	root := filepath.Join(parent, "CUB_200_2011")
	names := []string{"images.txt", "image_class_labels.txt", "train_test_split.txt", "bounding_boxes.txt", "classes.txt"}
	for i, text := range cubFixture() {
		gtsrbWriteFile(t, filepath.Join(root, names[i]), []byte(text))
	}
	sizes := map[string]image.Point{
		"001.Albatross/a_1.jpg": {40, 20}, "002.Gull/g_2.jpg": {20, 50},
		"002.Gull/g_3.jpg": {30, 30}, "003.Tern/t_4.jpg": {16, 16},
	}
	for name, sz := range sizes {
		img := image.NewRGBA(image.Rect(0, 0, sz.X, sz.Y))
		for y := range sz.Y {
			for x := range sz.X {
				c := color.RGBA{128, 128, 128, 255}
				if name == "001.Albatross/a_1.jpg" {
					c = color.RGBA{0, 0, 220, 255}
					if x < 10 {
						c = color.RGBA{0, 220, 0, 255}
					}
				}
				img.SetRGBA(x, y, c)
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}); err != nil {
			t.Fatal(err)
		}
		gtsrbWriteFile(t, filepath.Join(root, "images", filepath.FromSlash(name)), buf.Bytes())
	}
	return root
}

func TestLoadCUBSplitsLabelsAndScalesBoxes(t *testing.T) {
	parent := t.TempDir()
	writeCUBFixture(t, parent)

	train, err := LoadCUB(parent, "train", 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	if train.Name != "cub/train" || train.Len() != 2 || train.Height != 8 || train.Width != 8 || train.Channels != 3 {
		t.Fatalf("%q: %d images of %dx%dx%d", train.Name, train.Len(), train.Height, train.Width, train.Channels)
	}
	if train.Labels[0] != 0 || train.Labels[1] != 1 {
		t.Errorf("train labels %v, want [0 1] (images 1 and 3)", train.Labels)
	}
	// Image 1 is 40x20: box x=10 y=6 w=20 h=8 scales by 8/40 and 8/20.
	// Image 3 is 30x30: box x=3 y=3 w=21 h=27 scales by 8/30.
	wantBoxes := []Box{{2, 2.4, 6, 5.6}, {0.8, 0.8, 6.4, 8}}
	for i, want := range wantBoxes {
		if train.Boxes[i] != want {
			t.Errorf("train box %d = %+v, want %+v", i, train.Boxes[i], want)
		}
	}
	// A plain resize keeps image 1's green left quarter in output columns 0-1;
	// a centre crop would have dropped it.
	img := train.Image(0)
	for y := range 8 {
		left, right := img[(y*8)*3:(y*8)*3+3], img[(y*8+7)*3:(y*8+7)*3+3]
		if left[1] < 0.7 || left[2] > 0.2 || right[2] < 0.7 || right[1] > 0.2 {
			t.Errorf("row %d: left pixel %v should be green, right pixel %v blue", y, left, right)
		}
	}

	test, err := LoadCUB(filepath.Join(parent, "CUB_200_2011"), "test", 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	if test.Len() != 2 || test.Labels[0] != 1 || test.Labels[1] != 2 {
		t.Fatalf("test labels %v, want [1 2] (images 2 and 4)", test.Labels)
	}
	// Image 4 is 16x16: box x=4 y=4 w=10 h=14.5 ends at row 18.5 > 16, so
	// it is clipped to the image.
	wantBoxes = []Box{{0, 0.8, 8, 7.2}, {2, 2, 7, 8}}
	for i, want := range wantBoxes {
		if test.Boxes[i] != want {
			t.Errorf("test box %d = %+v, want %+v", i, test.Boxes[i], want)
		}
	}
	for i, v := range test.Image(1) {
		if d := v - 128.0/255; d < -0.02 || d > 0.02 {
			t.Fatalf("grey test image value %d = %v, want about 0.502", i, v)
		}
	}

	limited, err := LoadCUB(parent, "test", 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	if limited.Len() != 1 || limited.Labels[0] != 1 || limited.Boxes[0] != wantBoxes[0] {
		t.Errorf("limit 1: labels %v boxes %v, want the first test image only", limited.Labels, limited.Boxes)
	}
}

func TestLoadCUBErrorsNameLayoutAndMissingImage(t *testing.T) {
	_, err := LoadCUB(t.TempDir(), "train", 8, 0)
	if err == nil || !strings.Contains(err.Error(), "images.txt") || !strings.Contains(err.Error(), cubURL) {
		t.Errorf("empty dir: error %v, want the expected files and %s", err, cubURL)
	}

	parent := t.TempDir()
	root := writeCUBFixture(t, parent)
	if err := os.Remove(filepath.Join(root, "images", "002.Gull", "g_3.jpg")); err != nil {
		t.Fatal(err)
	}
	_, err = LoadCUB(parent, "train", 8, 0)
	if err == nil || !strings.Contains(err.Error(), "image 3") {
		t.Errorf("missing image: error %v, want image 3 named", err)
	}
	// The limit stops before the missing image.
	if d, err := LoadCUB(parent, "train", 8, 1); err != nil || d.Len() != 1 {
		t.Errorf("limit 1 with image 3 missing: %v", err)
	}

	if err := os.WriteFile(filepath.Join(root, "train_test_split.txt"), []byte("1 1\n2 x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadCUB(parent, "train", 8, 0)
	if err == nil || !strings.Contains(err.Error(), "train_test_split.txt:2") {
		t.Errorf("bad split file: error %v, want file and line", err)
	}
	if _, err := LoadCUB(parent, "val", 8, 0); err == nil {
		t.Error("split \"val\" accepted")
	}
}

func FuzzParseCUBAnnotations(f *testing.F) {
	fx := cubFixture()
	f.Add(fx[0], fx[1], fx[2], fx[3], fx[4])
	f.Add("1 a.jpg\n", "1 1\n", "1 0\n", "1 0 0 1e308 1e308\n", "1 x\n")
	f.Add("1 ../a.jpg\n", "1 2\n", "1 2\n", "1 NaN 0 1 1\n", "2 x\n")
	f.Add("9223372036854775807 a\n", "", "", "", "")
	f.Add(fx[0], fx[1], "1 1\n2 0\n3 1\n", fx[3], fx[4])
	f.Fuzz(func(t *testing.T, images, labels, split, boxes, classes string) {
		ann, err := parseCUBFixture([5]string{images, labels, split, boxes, classes})
		if err != nil {
			return
		}
		seen := map[int]bool{}
		for i, im := range ann.images {
			if seen[im.id] {
				t.Fatalf("image id %d twice", im.id)
			}
			seen[im.id] = true
			if im.class < 0 || im.class >= len(ann.classes) {
				t.Fatalf("image %d has class %d of %d", i, im.class, len(ann.classes))
			}
			if !(im.w > 0 && im.h > 0 && im.x >= 0 && im.y >= 0) {
				t.Fatalf("image %d has box %v %v %v %v", i, im.x, im.y, im.w, im.h)
			}
			if !filepath.IsLocal(filepath.FromSlash(im.path)) {
				t.Fatalf("image %d has path %q", i, im.path)
			}
		}
		for i, c := range ann.classes {
			if c == "" {
				t.Fatalf("class %d has no name", i)
			}
		}
	})
}
