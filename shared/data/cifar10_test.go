package data

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cifarPixel is the fixture's byte for channel c at (y, x) of record n; the
// three channels differ so that a planar/interleaved mix-up shows.
func cifarPixel(n, c, y, x int) byte { return byte(n*7 + c*85 + y*3 + x) }

// cifarRecords builds a batch file holding one record per label.
func cifarRecords(labels ...byte) []byte {
	var buf bytes.Buffer
	for n, l := range labels {
		buf.WriteByte(l)
		for c := range 3 {
			for y := range 32 {
				for x := range 32 {
					buf.WriteByte(cifarPixel(n, c, y, x))
				}
			}
		}
	}
	return buf.Bytes()
}

func TestReadCIFAR10BatchTransposesPlanarToNHWC(t *testing.T) {
	images, labels, err := ReadCIFAR10Batch(bytes.NewReader(cifarRecords(3, 9)))
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) != 2 || labels[0] != 3 || labels[1] != 9 {
		t.Fatalf("labels %v, want [3 9]", labels)
	}
	if len(images) != 2*32*32*3 {
		t.Fatalf("%d values, want %d", len(images), 2*32*32*3)
	}
	for n := range 2 {
		for y := range 32 {
			for x := range 32 {
				for c := range 3 {
					got := images[((n*32+y)*32+x)*3+c]
					if want := float32(cifarPixel(n, c, y, x)) / 255; got != want {
						t.Fatalf("image %d (y=%d, x=%d, c=%d) = %v, want %v", n, y, x, c, got, want)
					}
				}
			}
		}
	}
	// Spot-check one value by hand: record 1, green, row 2, column 5.
	if got, want := images[((1*32+2)*32+5)*3+1], float32(7+85+6+5)/255; got != want {
		t.Errorf("record 1 green (2,5) = %v, want %v", got, want)
	}
}

func TestReadCIFAR10BatchRejectsLabelAboveNine(t *testing.T) {
	_, _, err := ReadCIFAR10Batch(bytes.NewReader(cifarRecords(1, 10)))
	if err == nil || !strings.Contains(err.Error(), "record 1: label 10") {
		t.Errorf("error %v, want one about record 1's label 10", err)
	}
}

func TestReadCIFAR10BatchRejectsPartialRecord(t *testing.T) {
	b := cifarRecords(1, 2)
	_, _, err := ReadCIFAR10Batch(bytes.NewReader(b[:len(b)-1]))
	if err == nil || !strings.Contains(err.Error(), "record 1 truncated") {
		t.Errorf("error %v, want record 1 truncated", err)
	}
}

// writeCIFAR10Dir writes a cifar-10-batches-bin directory under parent with
// one record per train batch (labels 0..4) and two test records (7, 8).
func writeCIFAR10Dir(t *testing.T, parent string, meta bool) string {
	t.Helper()
	dir := filepath.Join(parent, "cifar-10-batches-bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		write("data_batch_"+string(rune('1'+i))+".bin", cifarRecords(byte(i)))
	}
	write("test_batch.bin", cifarRecords(7, 8))
	if meta {
		write("batches.meta.txt", []byte("c0\nc1\nc2\nc3\nc4\nc5\nc6\nc7\nc8\nc9\n\n"))
	}
	return dir
}

func TestLoadCIFAR10ReadsSplitsFromDirOrParent(t *testing.T) {
	parent := t.TempDir()
	dir := writeCIFAR10Dir(t, parent, true)

	train, err := LoadCIFAR10(parent, "train")
	if err != nil {
		t.Fatal(err)
	}
	if train.Name != "cifar10/train" || train.Len() != 5 || train.Height != 32 || train.Width != 32 || train.Channels != 3 {
		t.Fatalf("train: %q with %d images of %dx%dx%d", train.Name, train.Len(), train.Height, train.Width, train.Channels)
	}
	for i, l := range train.Labels {
		if l != i {
			t.Errorf("train label %d = %d, want %d (batches in order)", i, l, i)
		}
	}
	if train.Classes[9] != "c9" || len(train.Classes) != 10 {
		t.Errorf("classes %v, want c0..c9 from batches.meta.txt", train.Classes)
	}

	test, err := LoadCIFAR10(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	if test.Len() != 2 || test.Labels[0] != 7 || test.Labels[1] != 8 {
		t.Fatalf("test labels %v, want [7 8]", test.Labels)
	}
	// Image 1 of the test batch is fixture record 1.
	if got, want := test.Image(1)[(4*32+6)*3+2], float32(cifarPixel(1, 2, 4, 6))/255; got != want {
		t.Errorf("test image 1 blue (4,6) = %v, want %v", got, want)
	}
}

func TestLoadCIFAR10WithoutMetaUsesStandardNames(t *testing.T) {
	dir := writeCIFAR10Dir(t, t.TempDir(), false)
	d, err := LoadCIFAR10(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	if d.Classes[0] != "airplane" || d.Classes[9] != "truck" {
		t.Errorf("classes %v, want airplane..truck", d.Classes)
	}
}

func TestLoadCIFAR10ErrorsNameMissingFilesAndDownload(t *testing.T) {
	_, err := LoadCIFAR10(t.TempDir(), "train")
	if err == nil || !strings.Contains(err.Error(), "cifar-10-binary.tar.gz") || !strings.Contains(err.Error(), "data_batch_1.bin") {
		t.Errorf("empty dir: error %v, want the expected files and the download", err)
	}

	dir := writeCIFAR10Dir(t, t.TempDir(), true)
	if err := os.Remove(filepath.Join(dir, "data_batch_3.bin")); err != nil {
		t.Fatal(err)
	}
	_, err = LoadCIFAR10(dir, "train")
	if err == nil || !strings.Contains(err.Error(), "data_batch_3.bin") {
		t.Errorf("missing batch 3: error %v, want it named", err)
	}

	if _, err := LoadCIFAR10(dir, "validation"); err == nil {
		t.Error("split \"validation\" accepted")
	}
}

func TestLoadCIFAR10RejectsFileNotMultipleOfRecord(t *testing.T) {
	dir := writeCIFAR10Dir(t, t.TempDir(), true)
	if err := os.WriteFile(filepath.Join(dir, "test_batch.bin"), cifarRecords(1)[:3000], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCIFAR10(dir, "test")
	if err == nil || !strings.Contains(err.Error(), "not a multiple of the 3073-byte record") {
		t.Errorf("error %v, want the record-size check", err)
	}
}

func TestLoadCIFAR10RejectsWrongClassCount(t *testing.T) {
	dir := writeCIFAR10Dir(t, t.TempDir(), false)
	if err := os.WriteFile(filepath.Join(dir, "batches.meta.txt"), []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCIFAR10(dir, "test")
	if err == nil || !strings.Contains(err.Error(), "names 2 classes, want 10") {
		t.Errorf("error %v, want a class count error", err)
	}
}

func FuzzReadCIFAR10Batch(f *testing.F) {
	f.Add(cifarRecords(0))
	f.Add(cifarRecords(9, 1))
	f.Add(cifarRecords(10))
	f.Add(cifarRecords(1)[:100])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		images, labels, err := ReadCIFAR10Batch(bytes.NewReader(in))
		if err != nil {
			// Whole records fail only on a bad label.
			if len(in)%3073 == 0 && !strings.Contains(err.Error(), "label") {
				t.Fatalf("whole records rejected with %v", err)
			}
			return
		}
		if len(in) != 3073*len(labels) || len(images) != 3072*len(labels) {
			t.Fatalf("%d bytes gave %d labels and %d values", len(in), len(labels), len(images))
		}
		for i, l := range labels {
			if l < 0 || l > 9 {
				t.Fatalf("label %d = %d", i, l)
			}
		}
		for i, v := range images {
			if v < 0 || v > 1 {
				t.Fatalf("value %d = %v", i, v)
			}
		}
	})
}
