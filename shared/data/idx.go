package data

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// IDX is one file of the IDX format that MNIST and Fashion-MNIST ship in
// (http://yann.lecun.com/exdb/mnist/, "file formats"): a 4-byte magic
// number (two zero bytes, the element type, the number of dimensions), one
// big-endian uint32 per dimension, then the elements in row-major order.
// Only unsigned bytes (type 0x08), the type of both datasets, are read.
type IDX struct {
	// Dims are the sizes of the dimensions, outermost first (images: N,
	// rows, columns; labels: N).
	Dims []int
	// Data holds the product of Dims elements.
	Data []byte
}

const (
	idxUbyte = 0x08
	// idxMaxDims and idxMaxValues bound what a header may announce, so a
	// damaged or hostile file is refused before anything is allocated
	// (MNIST's training images are 47 million bytes).
	idxMaxDims   = 4
	idxMaxValues = 1 << 28
)

var idxTypeNames = map[byte]string{0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64"}

// ReadIDX decodes an IDX file of unsigned bytes from r, gzip-compressed or
// not (the datasets ship .gz files). It refuses a wrong magic number, an
// element type other than unsigned byte, more than 4 dimensions, a zero or
// oversized dimension, and a file shorter or longer than its header says,
// each with a one-line error.
func ReadIDX(r io.Reader) (*IDX, error) {
	idx, _, err := readIDX(r)
	return idx, err
}

// readIDX is ReadIDX that also returns the SHA-256 of the decompressed
// bytes, which the dataset loaders compare with the official files'.
func readIDX(r io.Reader) (*IDX, string, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	sum := sha256.New()
	in := io.TeeReader(br, sum)
	var magic [4]byte
	if _, err := io.ReadFull(in, magic[:]); err != nil {
		return nil, "", fmt.Errorf("IDX header: %w", short(err))
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, "", fmt.Errorf("not an IDX file: magic number %#08x does not start with two zero bytes", binary.BigEndian.Uint32(magic[:]))
	}
	if magic[2] != idxUbyte {
		name := idxTypeNames[magic[2]]
		if name == "" {
			return nil, "", fmt.Errorf("not an IDX file: unknown element type %#02x", magic[2])
		}
		return nil, "", fmt.Errorf("IDX element type %s (%#02x) is not supported; want unsigned bytes", name, magic[2])
	}
	nd := int(magic[3])
	if nd < 1 || nd > idxMaxDims {
		return nil, "", fmt.Errorf("IDX file with %d dimensions; want 1 to %d", nd, idxMaxDims)
	}
	dimBytes := make([]byte, 4*nd)
	if _, err := io.ReadFull(in, dimBytes); err != nil {
		return nil, "", fmt.Errorf("IDX header: %w", short(err))
	}
	idx := &IDX{Dims: make([]int, nd)}
	total := 1
	for i := range nd {
		d := binary.BigEndian.Uint32(dimBytes[4*i:])
		if d == 0 || uint64(total)*uint64(d) > idxMaxValues {
			return nil, "", fmt.Errorf("IDX dimension %d is %d: want 1 to %d values in all", i, d, idxMaxValues)
		}
		idx.Dims[i] = int(d)
		total *= int(d)
	}
	// Read at most one byte more than announced: a longer file is refused,
	// and a hostile header on a short file allocates no more than it holds.
	data, err := io.ReadAll(io.LimitReader(in, int64(total)+1))
	if err != nil {
		return nil, "", fmt.Errorf("IDX data: %w", err)
	}
	switch {
	case len(data) < total:
		return nil, "", fmt.Errorf("IDX file truncated: %d of the %d data bytes its header announces", len(data), total)
	case len(data) > total:
		return nil, "", fmt.Errorf("IDX file has data beyond the %d bytes its header announces", total)
	}
	idx.Data = data
	return idx, hex.EncodeToString(sum.Sum(nil)), nil
}

func short(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("file truncated")
	}
	return err
}

// readIDXFile reads an IDX file (gzip or not), naming the file in errors.
func readIDXFile(path string) (*IDX, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	idx, sum, err := readIDX(f)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return idx, sum, nil
}

// idxImages converts an IDX array of N images (N x rows x columns) and one
// of N labels into a one-channel dataset, refusing mismatched counts and
// labels outside the classes.
func idxImages(name string, classes []string, images, labels *IDX) (*Dataset, error) {
	if len(images.Dims) != 3 {
		return nil, fmt.Errorf("%s: the images file has %d dimensions, want 3 (images, rows, columns)", name, len(images.Dims))
	}
	if len(labels.Dims) != 1 {
		return nil, fmt.Errorf("%s: the labels file has %d dimensions, want 1", name, len(labels.Dims))
	}
	n, h, w := images.Dims[0], images.Dims[1], images.Dims[2]
	if labels.Dims[0] != n {
		return nil, fmt.Errorf("%s: %d images but %d labels", name, n, labels.Dims[0])
	}
	d := &Dataset{Name: name, Classes: classes, Height: h, Width: w, Channels: 1,
		Images: make([]float32, len(images.Data)), Labels: make([]int, n)}
	for i, l := range labels.Data {
		if int(l) >= len(classes) {
			return nil, fmt.Errorf("%s: label %d of image %d is not one of the %d classes", name, l, i, len(classes))
		}
		d.Labels[i] = int(l)
	}
	for i, v := range images.Data {
		d.Images[i] = float32(v) / 255
	}
	return d, d.Validate()
}
