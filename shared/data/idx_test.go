package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idxBytes encodes an unsigned-byte IDX file with the given dimensions and
// data.
func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, idxUbyte, byte(len(dims))})
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

func TestReadIDXDecodesPlainAndGzipFiles(t *testing.T) {
	data := []byte{0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255}
	raw := idxBytes([]int{2, 3, 2}, data)
	for name, file := range map[string][]byte{"plain": raw, "gzip": gzipped(raw)} {
		idx, err := ReadIDX(bytes.NewReader(file))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(idx.Dims) != 3 || idx.Dims[0] != 2 || idx.Dims[1] != 3 || idx.Dims[2] != 2 {
			t.Errorf("%s: dims %v, want [2 3 2]", name, idx.Dims)
		}
		if !bytes.Equal(idx.Data, data) {
			t.Errorf("%s: data %v, want %v", name, idx.Data, data)
		}
	}
}

func TestReadIDXRefusesDamagedFilesWithOneLineErrors(t *testing.T) {
	good := idxBytes([]int{2, 2}, []byte{1, 2, 3, 4})
	for name, tc := range map[string]struct {
		file []byte
		want string
	}{
		"empty":             {nil, "file truncated"},
		"wrong magic":       {append([]byte{0x50, 0x4b}, good[2:]...), "does not start with two zero bytes"},
		"float elements":    {append([]byte{0, 0, 0x0D}, good[3:]...), "float32 (0x0d) is not supported"},
		"unknown type":      {append([]byte{0, 0, 0x42}, good[3:]...), "unknown element type"},
		"no dimensions":     {[]byte{0, 0, idxUbyte, 0}, "0 dimensions"},
		"five dimensions":   {idxBytes([]int{1, 1, 1, 1, 1}, []byte{0}), "5 dimensions"},
		"zero dimension":    {idxBytes([]int{2, 0}, nil), "dimension 1 is 0"},
		"huge header":       {idxBytes([]int{60000, 60000, 28}, []byte{1, 2}), "values in all"},
		"truncated header":  {good[:6], "file truncated"},
		"truncated data":    {good[:len(good)-1], "truncated: 3 of the 4 data bytes"},
		"trailing data":     {append(append([]byte(nil), good...), 9), "data beyond the 4 bytes"},
		"truncated gzip":    {gzipped(good)[:20], "IDX"},
		"gzip of non-IDX":   {gzipped([]byte("hello, world")), "not an IDX file"},
		"truncated in gzip": {gzipped(good[:len(good)-2]), "truncated: 2 of the 4"},
	} {
		_, err := ReadIDX(bytes.NewReader(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", name, err, tc.want)
		}
	}
}

// writeIDXSplit writes a split's images (n images of h x w, pixel value
// from pix) and labels into dir, gzip-compressed when gz.
func writeIDXSplit(t *testing.T, dir, split string, labels []byte, h, w int, gz bool) {
	t.Helper()
	images, labelsName, _ := idxFiles(split)
	pix := make([]byte, len(labels)*h*w)
	for i := range pix {
		pix[i] = byte(i * 7)
	}
	for name, b := range map[string][]byte{
		images:     idxBytes([]int{len(labels), h, w}, pix),
		labelsName: idxBytes([]int{len(labels)}, labels),
	} {
		if gz {
			b, name = gzipped(b), name+".gz"
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// unchecked is mnistSet without the official checksums, to load the small
// files the tests write.
func unchecked(s idxSet) idxSet { s.sums = nil; return s }

func TestIDXDatasetLoadsOneChannelImagesInUnitRange(t *testing.T) {
	dir := t.TempDir()
	writeIDXSplit(t, dir, "train", []byte{5, 0, 4}, 4, 3, true)
	writeIDXSplit(t, dir, "test", []byte{7, 2}, 4, 3, false)
	for split, labels := range map[string][]int{"train": {5, 0, 4}, "test": {7, 2}} {
		d, err := unchecked(mnistSet).load(dir, split)
		if err != nil {
			t.Fatal(err)
		}
		if d.Name != "mnist/"+split || d.Height != 4 || d.Width != 3 || d.Channels != 1 || len(d.Classes) != 10 {
			t.Errorf("%s: %s %dx%dx%d, %d classes", split, d.Name, d.Height, d.Width, d.Channels, len(d.Classes))
		}
		for i, l := range labels {
			if d.Labels[i] != l {
				t.Errorf("%s: labels %v, want %v", split, d.Labels, labels)
			}
		}
		// Pixel 13 (image 1, row 0, column 1) was byte 13*7 = 91.
		if got, want := d.Images[13], float32(91)/255; got != want {
			t.Errorf("%s: pixel 13 = %v, want %v", split, got, want)
		}
	}
}

func TestIDXDatasetRefusesMismatchedCountsAndLabels(t *testing.T) {
	dir := t.TempDir()
	writeIDXSplit(t, dir, "train", []byte{1, 2, 3}, 2, 2, false)
	// A labels file of two labels for three images.
	if err := os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), idxBytes([]int{2}, []byte{1, 2}), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := unchecked(mnistSet).load(dir, "train"); err == nil || !strings.Contains(err.Error(), "3 images but 2 labels") {
		t.Errorf("mismatched counts: %v", err)
	}
	writeIDXSplit(t, dir, "test", []byte{1, 10}, 2, 2, false)
	if _, err := unchecked(mnistSet).load(dir, "test"); err == nil || !strings.Contains(err.Error(), "label 10 of image 1") {
		t.Errorf("label 10: %v", err)
	}
}

func TestLoadMNISTRefusesFilesThatAreNotTheOfficialOnes(t *testing.T) {
	dir := t.TempDir()
	writeIDXSplit(t, dir, "test", []byte{7, 2, 1}, 28, 28, true)
	_, err := LoadMNIST(dir, "test")
	if err == nil || !strings.Contains(err.Error(), "is not the official file") {
		t.Errorf("LoadMNIST of other files: %v, want a checksum error", err)
	}
}

func TestLoadOfMissingIDXFilesSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		load func(string, string) (*Dataset, error)
		dir  string
		want string
	}{
		{LoadMNIST, dir, "holds no t10k-images-idx3-ubyte(.gz)"},
		{LoadFashionMNIST, dir, "apt-get install dataset-fashion-mnist"},
		{LoadFashionMNIST, filepath.Join(dir, "nowhere"), "is not a directory"},
	} {
		_, err := tc.load(tc.dir, "test")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.dir, err, tc.want)
		}
	}
	if _, err := LoadMNIST(dir, "val"); err == nil || !strings.Contains(err.Error(), `unknown split "val"`) {
		t.Errorf("split val: %v", err)
	}
}

// TestOfficialMNISTAndFashionMNIST loads the real files where they are: MNIST
// through the Go module proxy (skipped offline), Fashion-MNIST from Debian's
// package (skipped where it is not installed).
func TestOfficialMNISTAndFashionMNIST(t *testing.T) {
	check := func(name string, load func(split string) (*Dataset, error), split string, n int, first []int) {
		t.Helper()
		d, err := load(split)
		if err != nil {
			t.Fatalf("%s %s: %v", name, split, err)
		}
		if d.Len() != n || d.Height != 28 || d.Width != 28 || d.Channels != 1 {
			t.Errorf("%s %s: %d images of %dx%dx%d, want %d of 28x28x1", name, split, d.Len(), d.Height, d.Width, d.Channels, n)
		}
		for i, l := range first {
			if d.Labels[i] != l {
				t.Errorf("%s %s: first labels %v, want %v", name, split, d.Labels[:len(first)], first)
				break
			}
		}
	}
	t.Run("mnist", func(t *testing.T) {
		dir, err := MNISTDir()
		if err != nil {
			t.Skipf("no MNIST module (offline?): %v", err)
		}
		load := func(split string) (*Dataset, error) { return LoadMNIST(dir, split) }
		check("mnist", load, "test", 10000, []int{7, 2, 1, 0, 4})
		if !testing.Short() {
			check("mnist", load, "train", 60000, []int{5, 0, 4, 1, 9})
		}
	})
	t.Run("fashion-mnist", func(t *testing.T) {
		if _, err := os.Stat(FashionMNISTDir); err != nil {
			t.Skipf("Debian's dataset-fashion-mnist is not installed: %v", err)
		}
		load := func(split string) (*Dataset, error) { return LoadFashionMNIST(FashionMNISTDir, split) }
		check("fashion-mnist", load, "train", 60000, []int{9, 0, 0, 3, 0, 2, 7, 2})
		check("fashion-mnist", load, "test", 10000, []int{9, 2, 1, 1, 6})
	})
}

// FuzzReadIDX checks that no input makes ReadIDX panic, that an accepted
// file's data has the size its dimensions give, and that an error is one
// line.
func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2}, []byte{1, 2, 3, 4}))
	f.Add(gzipped(idxBytes([]int{3}, []byte{7, 2, 1})))
	f.Add(idxBytes([]int{1, 28, 28}, make([]byte, 784)))
	f.Add([]byte{0, 0, 8, 1, 0, 0, 0, 5, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := ReadIDX(bytes.NewReader(b))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error of more than one line: %q", err)
			}
			return
		}
		n := 1
		for _, d := range idx.Dims {
			n *= d
		}
		if len(idx.Data) != n {
			t.Errorf("dims %v but %d bytes", idx.Dims, len(idx.Data))
		}
	})
}
