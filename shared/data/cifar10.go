package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// CIFAR-10 binary layout, from https://www.cs.toronto.edu/~kriz/cifar.html:
// each record is one label byte followed by a 32x32 image stored as three
// planes (1024 red bytes, then green, then blue), each plane row-major.
const (
	cifar10Side       = 32
	cifar10Plane      = cifar10Side * cifar10Side
	cifar10RecordSize = 1 + 3*cifar10Plane
	cifar10NumClasses = 10
	cifar10URL        = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
	cifar10DirName    = "cifar-10-batches-bin"
)

// cifar10Files lists the batch files of a split, or nil for an unknown split.
func cifar10Files(split string) []string {
	switch split {
	case "train":
		return []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	case "test":
		return []string{"test_batch.bin"}
	}
	return nil
}

// cifar10ClassNames returns the names batches.meta.txt holds, used when a
// copy of the dataset lacks that file.
func cifar10ClassNames() []string {
	return []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}
}

// LoadCIFAR10 reads the "train" (50,000 images) or "test" (10,000 images)
// split of the binary version of CIFAR-10 (cifar-10-binary.tar.gz from
// https://www.cs.toronto.edu/~kriz/cifar.html). dir is either the extracted
// cifar-10-batches-bin directory or its parent.
//
// Class names come from batches.meta.txt, or are the dataset's standard ten
// names when that file is absent. Images are 32x32x3.
func LoadCIFAR10(dir, split string) (*Dataset, error) {
	files := cifar10Files(split)
	if files == nil {
		return nil, fmt.Errorf("cifar10: unknown split %q (want \"train\" or \"test\")", split)
	}
	root, err := findCIFAR10Dir(dir)
	if err != nil {
		return nil, err
	}
	classes, err := readCIFAR10Classes(filepath.Join(root, "batches.meta.txt"))
	if err != nil {
		return nil, err
	}

	// Size the storage from the file lengths so 600 MB of training images are
	// not grown by repeated appends.
	total := 0
	for _, name := range files {
		path := filepath.Join(root, name)
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("cifar10: %w (the %s split needs %s in %s; download %s)",
				err, split, strings.Join(files, ", "), root, cifar10URL)
		}
		if fi.Size()%cifar10RecordSize != 0 {
			return nil, fmt.Errorf("cifar10: %s is %d bytes, not a multiple of the %d-byte record", path, fi.Size(), cifar10RecordSize)
		}
		total += int(fi.Size() / cifar10RecordSize)
	}
	d := &Dataset{
		Name:    "cifar10/" + split,
		Classes: classes,
		Height:  cifar10Side, Width: cifar10Side, Channels: 3,
		Images: make([]float32, 0, total*3*cifar10Plane),
		Labels: make([]int, 0, total),
	}
	for _, name := range files {
		path := filepath.Join(root, name)
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("cifar10: %w", err)
		}
		d.Images, d.Labels, err = appendCIFAR10Records(bufio.NewReader(f), d.Images, d.Labels)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("cifar10: %s: %w", path, err)
		}
	}
	return d, d.Validate()
}

// ReadCIFAR10Batch decodes one CIFAR-10 binary batch file: a sequence of
// 3073-byte records, each a label byte (0-9) and a 32x32 RGB image in planar
// (CHW) order. It returns the images interleaved as NHWC float32 in [0,1]
// (value/255) and the labels. A partial trailing record is an error.
func ReadCIFAR10Batch(r io.Reader) (images []float32, labels []int, err error) {
	return appendCIFAR10Records(r, nil, nil)
}

// appendCIFAR10Records decodes records from r until EOF, appending to images
// and labels. Memory grows with the data actually read.
func appendCIFAR10Records(r io.Reader, images []float32, labels []int) ([]float32, []int, error) {
	var rec [cifar10RecordSize]byte
	for n := 0; ; n++ {
		_, err := io.ReadFull(r, rec[:])
		if err == io.EOF {
			return images, labels, nil
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return images, labels, fmt.Errorf("record %d truncated (records are %d bytes)", n, cifar10RecordSize)
		}
		if err != nil {
			return images, labels, fmt.Errorf("record %d: %w", n, err)
		}
		if rec[0] >= cifar10NumClasses {
			return images, labels, fmt.Errorf("record %d: label %d is not in 0..%d", n, rec[0], cifar10NumClasses-1)
		}
		labels = append(labels, int(rec[0]))
		planes := rec[1:]
		for p := range cifar10Plane {
			images = append(images,
				float32(planes[p])/255,
				float32(planes[cifar10Plane+p])/255,
				float32(planes[2*cifar10Plane+p])/255)
		}
	}
}

// findCIFAR10Dir returns dir when it holds the batch files, else dir's
// cifar-10-batches-bin subdirectory when that does.
func findCIFAR10Dir(dir string) (string, error) {
	for _, d := range []string{dir, filepath.Join(dir, cifar10DirName)} {
		for _, name := range []string{"data_batch_1.bin", "test_batch.bin"} {
			if _, err := os.Stat(filepath.Join(d, name)); err == nil {
				return d, nil
			}
		}
	}
	return "", fmt.Errorf("cifar10: neither %s nor %s holds data_batch_1.bin..data_batch_5.bin or test_batch.bin; download %s and extract it",
		dir, filepath.Join(dir, cifar10DirName), cifar10URL)
}

// readCIFAR10Classes reads batches.meta.txt: one class name per line, in
// label order, possibly followed by blank lines.
func readCIFAR10Classes(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cifar10ClassNames(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("cifar10: %w", err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if name := strings.TrimSpace(line); name != "" {
			names = append(names, name)
		}
	}
	if len(names) != cifar10NumClasses {
		return nil, fmt.Errorf("cifar10: %s names %d classes, want %d", path, len(names), cifar10NumClasses)
	}
	return names, nil
}
