package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
)

// Errors a reader may wrap with details; test for them with errors.Is.
var (
	ErrNotCheckpoint = errors.New("checkpoint: not an ART checkpoint (bad magic)")
	ErrVersion       = errors.New("checkpoint: unsupported format version")
	ErrTruncated     = errors.New("checkpoint: truncated")
	ErrChecksum      = errors.New("checkpoint: checksum mismatch")
)

// Read reads one checkpoint from r. It reads exactly the checkpoint's bytes
// and nothing past them. Memory grows with the bytes that actually arrive,
// so the lengths in a damaged preamble cannot make it allocate far more than
// the input holds.
func Read(r io.Reader) (*Checkpoint, error) {
	b, err := readBytes(r, 0, -1)
	if err != nil {
		return nil, err
	}
	return parse(b, false)
}

// readBytes reads a checkpoint's bytes from r: the preamble first, which is
// checked before anything else is read, then the lengths it gives against
// size (the file's size, or -1 when r is a stream whose size is unknown),
// then at most the bytes the preamble announces, plus extra more so that
// trailing data can be seen. So a file that is not a checkpoint is refused
// after 28 bytes, whatever its size (a sparse file, /dev/zero), and memory
// grows only with bytes that actually arrive.
func readBytes(r io.Reader, extra int, size int64) ([]byte, error) {
	pre := make([]byte, preambleLen)
	n, err := io.ReadFull(r, pre)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("checkpoint: reading: %w", err)
	}
	p, err := parsePreamble(pre[:n])
	if err != nil {
		return nil, err
	}
	switch {
	case size >= 0 && size < int64(p.total):
		return nil, p.truncated(int(size))
	case size > int64(p.total):
		return nil, fmt.Errorf("checkpoint: %d bytes of unexpected data after the checksum", size-int64(p.total))
	}
	var buf bytes.Buffer
	buf.Grow(min(p.total, 64<<10))
	buf.Write(pre)
	if _, err := io.CopyN(&buf, r, int64(p.total-preambleLen+extra)); err != nil && err != io.EOF {
		return nil, fmt.Errorf("checkpoint: reading: %w", err)
	}
	return buf.Bytes(), nil
}

// ReadBytes reads a checkpoint from b, which must hold exactly one
// checkpoint, as fetched by the browser. The result does not refer to b.
func ReadBytes(b []byte) (*Checkpoint, error) {
	return parse(b, true)
}

// ReadFile reads the checkpoint in the named file. Whatever the file is (a
// huge or sparse file, a device such as /dev/zero, a pipe), it reads the
// preamble first and refuses what is not a checkpoint from it, checks the
// lengths against the file's size where it has one, and never reads more
// than one byte past the length the preamble gives.
func ReadFile(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading checkpoint: %w", err)
	}
	defer f.Close()
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	} else if err == nil && fi.IsDir() {
		return nil, fmt.Errorf("reading %s: is a directory, not a checkpoint", path)
	}
	b, err := readBytes(f, 1, size)
	if err == nil {
		var c *Checkpoint
		if c, err = parse(b, false); err == nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("reading %s: %w", path, err)
}

// preamble holds the fixed-size start of a file.
type preamble struct {
	headerLen, dataLen int
	dataStart          int // file offset of the data section
	total              int // file length, trailer included
}

// parsePreamble decodes the first min(len(b), preambleLen) bytes of a file,
// checking the lengths against the format's and the platform's limits.
func parsePreamble(b []byte) (preamble, error) {
	n := min(len(b), len(magic))
	if string(b[:n]) != magic[:n] {
		return preamble{}, ErrNotCheckpoint
	}
	if len(b) == 0 {
		return preamble{}, fmt.Errorf("%w: empty input", ErrTruncated)
	}
	if len(b) < preambleLen {
		return preamble{}, fmt.Errorf("%w: expected %d bytes of preamble, got %d", ErrTruncated, preambleLen, len(b))
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != Version {
		return preamble{}, fmt.Errorf("%w %d (this package reads version %d)", ErrVersion, v, Version)
	}
	hlen := binary.LittleEndian.Uint64(b[12:])
	if hlen > maxHeaderLen {
		return preamble{}, fmt.Errorf("checkpoint: header length %d exceeds the limit of %d bytes", hlen, maxHeaderLen)
	}
	p := preamble{headerLen: int(hlen), dataStart: int(dataStart(int64(hlen)))}
	dlen := binary.LittleEndian.Uint64(b[20:])
	if dlen > uint64(math.MaxInt-p.dataStart-trailerLen) {
		return preamble{}, fmt.Errorf("checkpoint: data section of %d bytes is too large for this platform", dlen)
	}
	p.dataLen = int(dlen)
	p.total = p.dataStart + p.dataLen + trailerLen
	return p, nil
}

// truncated describes which part of the file ends early when only got of
// its bytes are present.
func (p preamble) truncated(got int) error {
	sections := []struct {
		name     string
		from, to int
	}{
		{"header", preambleLen, preambleLen + p.headerLen},
		{"header padding", preambleLen + p.headerLen, p.dataStart},
		{"tensor data", p.dataStart, p.dataStart + p.dataLen},
		{"checksum", p.dataStart + p.dataLen, p.total},
	}
	for _, s := range sections {
		if got < s.to {
			return fmt.Errorf("%w: expected %d bytes of %s, got %d", ErrTruncated, s.to-s.from, s.name, got-s.from)
		}
	}
	return nil
}

// parse decodes a whole file. Tensors refer to b unless copyData is set.
func parse(b []byte, copyData bool) (*Checkpoint, error) {
	p, err := parsePreamble(b[:min(len(b), preambleLen)])
	if err != nil {
		return nil, err
	}
	if len(b) < p.total {
		return nil, p.truncated(len(b))
	}
	if len(b) > p.total {
		return nil, fmt.Errorf("checkpoint: %d bytes of unexpected data after the checksum", len(b)-p.total)
	}
	// Verify the checksum before decoding, so that damage anywhere past the
	// preamble is reported as such rather than as a confusing header error.
	end := p.total - trailerLen
	stored, computed := binary.LittleEndian.Uint32(b[end:]), crc32.ChecksumIEEE(b[:end])
	if stored != computed {
		return nil, fmt.Errorf("%w: file says %08x, contents give %08x", ErrChecksum, stored, computed)
	}

	var h header
	if err := json.Unmarshal(b[preambleLen:preambleLen+p.headerLen], &h); err != nil {
		return nil, fmt.Errorf("checkpoint: decoding header: %w", err)
	}
	data := b[p.dataStart:end]
	if copyData {
		data = bytes.Clone(data)
	}
	c := &Checkpoint{Meta: h.Meta, Tensors: make([]*Tensor, 0, len(h.Tensors))}
	seen := make(map[string]bool, len(h.Tensors))
	for i, e := range h.Tensors {
		t, err := e.tensor(data)
		if err != nil && e.Name == "" {
			return nil, fmt.Errorf("checkpoint: tensor #%d: %w", i, err)
		} else if err != nil {
			return nil, fmt.Errorf("checkpoint: tensor %q: %w", e.Name, err)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("checkpoint: duplicate tensor name %q", t.Name)
		}
		seen[t.Name] = true
		if got := crc32.ChecksumIEEE(t.data); got != e.CRC32 {
			return nil, fmt.Errorf("%w in tensor %q: header says %08x, data gives %08x", ErrChecksum, t.Name, e.CRC32, got)
		}
		c.Tensors = append(c.Tensors, t)
	}
	return c, nil
}

// tensor checks the entry's dtype, shape and extent against the data
// section and returns its tensor, whose bytes alias data.
func (e entry) tensor(data []byte) (*Tensor, error) {
	if e.Name == "" {
		return nil, errors.New("empty name")
	}
	size := e.DType.Size()
	if size == 0 {
		return nil, fmt.Errorf("unknown dtype %q", e.DType)
	}
	if e.Offset < 0 || e.Length < 0 || e.Offset > int64(len(data)) || e.Length > int64(len(data))-e.Offset {
		return nil, fmt.Errorf("bytes [%d, %d) lie outside the %d-byte data section", e.Offset, e.Offset+e.Length, len(data))
	}
	if n := numElements(e.Shape, int(e.Length)/size); n < 0 || int64(n*size) != e.Length {
		return nil, fmt.Errorf("shape %v of %s does not match its length of %d bytes", e.Shape, e.DType, e.Length)
	}
	b := data[e.Offset : e.Offset+e.Length : e.Offset+e.Length]
	return &Tensor{Name: e.Name, DType: e.DType, Shape: cloneShape(e.Shape), data: b}, nil
}
