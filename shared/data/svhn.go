package data

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/artrobust/art/shared/matfile"
)

// SVHN cropped digits ("format 2"), from http://ufldl.stanford.edu/housenumbers/:
// train_32x32.mat and test_32x32.mat are MATLAB level-5 MAT-files holding
// X, a 32x32x3xN uint8 array indexed X(row, column, channel, image) in
// MATLAB's column-major order, and y, an Nx1 double array of labels 1..10,
// where 10 stands for the digit 0.
const svhnURL = "http://ufldl.stanford.edu/housenumbers/"

// LoadSVHN reads the "train" (73,257 images) or "test" (26,032 images) split
// of the cropped-digit SVHN dataset from dir, which holds train_32x32.mat and
// test_32x32.mat (extra_32x32.mat is not used). Labels are the digits 0..9,
// with the file's label 10 mapped to 0; the class names are "0".."9".
//
// Images are 32x32x3. The float32 training split takes about 900 MB.
func LoadSVHN(dir, split string) (*Dataset, error) {
	if split != "train" && split != "test" {
		return nil, fmt.Errorf("svhn: unknown split %q (want \"train\" or \"test\")", split)
	}
	path := filepath.Join(dir, split+"_32x32.mat")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("svhn: %s not found: download train_32x32.mat and test_32x32.mat from %s into %s", path, svhnURL, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("svhn: %w", err)
	}
	defer f.Close()
	mat, err := matfile.Read(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("svhn: %s: %w", path, err)
	}
	d, err := svhnDataset(mat, "svhn/"+split)
	if err != nil {
		return nil, fmt.Errorf("svhn: %s: %w", path, err)
	}
	return d, nil
}

// svhnDataset converts the X and y variables of an SVHN MAT-file.
func svhnDataset(mat *matfile.File, name string) (*Dataset, error) {
	x, y := mat.Var("X"), mat.Var("y")
	if x == nil || y == nil {
		return nil, errors.New("want variables X (images) and y (labels)")
	}
	if len(x.Dims) != 4 || x.Dims[2] != 3 {
		return nil, fmt.Errorf("X has dimensions %v, want HxWx3xN", x.Dims)
	}
	pix, err := x.Uint8s()
	if err != nil {
		return nil, fmt.Errorf("X: %w", err)
	}
	raw, err := y.Ints()
	if err != nil {
		return nil, fmt.Errorf("y: %w", err)
	}
	h, w, c, n := x.Dims[0], x.Dims[1], x.Dims[2], x.Dims[3]
	if h == 0 || w == 0 {
		return nil, fmt.Errorf("X has dimensions %v: empty images", x.Dims)
	}
	if len(raw) != n {
		return nil, fmt.Errorf("y holds %d labels for %d images in X", len(raw), n)
	}
	d := &Dataset{
		Name:    name,
		Classes: make([]string, 10),
		Height:  h, Width: w, Channels: c,
		Images: make([]float32, len(pix)),
		Labels: make([]int, n),
	}
	for i := range d.Classes {
		d.Classes[i] = strconv.Itoa(i)
	}
	for i, l := range raw {
		if l < 1 || l > 10 {
			return nil, fmt.Errorf("y(%d) = %d, want 1..10", i+1, l)
		}
		d.Labels[i] = l % 10
	}
	// X(r, c, k, i) sits at r + h*(c + w*(k + 3*i)); NHWC wants
	// ((i*h + r)*w + c)*3 + k. Walking the source in order keeps reads
	// sequential.
	s := x.Strides()
	for i := range n {
		for k := range c {
			for col := range w {
				src := pix[i*s[3]+k*s[2]+col*s[1]:]
				dst := d.Images[(i*h*w+col)*c+k:]
				for r := range h {
					dst[r*w*c] = float32(src[r]) / 255
				}
			}
		}
	}
	return d, nil
}
