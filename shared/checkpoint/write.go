package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/artrobust/art/shared/nanjson"
)

// Version is the format version this package writes and reads.
const Version = 1

const (
	magic        = "ARTCKPT\x00"
	preambleLen  = 28 // magic, version uint32, header length uint64, data length uint64
	alignment    = 64 // of the data section and of every tensor in it
	trailerLen   = 4  // CRC-32 of everything before it
	maxHeaderLen = 64 << 20
)

// header is the JSON header: the metadata and the tensor table.
type header struct {
	Meta    Meta    `json:"meta"`
	Tensors []entry `json:"tensors"`
}

// entry locates one tensor in the data section.
type entry struct {
	Name   string `json:"name"`
	DType  DType  `json:"dtype"`
	Shape  []int  `json:"shape"`
	Offset int64  `json:"offset"` // from the start of the data section
	Length int64  `json:"length"` // in bytes
	CRC32  uint32 `json:"crc32"`  // IEEE CRC-32 of the tensor's bytes
}

// An Option changes how Write stores a checkpoint.
type Option func(*options)

type options struct {
	float16 bool
}

// WithFloat16 stores float32 tensors as IEEE half precision, rounding to
// nearest even, which halves their size (the browser demo's checkpoints must
// stay small). Reading such a tensor with Float32s widens it back. A finite
// value beyond the half range (±65504) makes Write fail rather than turn
// into Inf. Other dtypes are stored unchanged.
func WithFloat16() Option {
	return func(o *options) { o.float16 = true }
}

// Write writes c to w in the checkpoint format. All tensors are validated
// before the first byte is written.
func Write(w io.Writer, c *Checkpoint, opts ...Option) error {
	if c == nil {
		return errors.New("checkpoint: nil checkpoint")
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	entries, blobs, dataLen, err := layout(c.Tensors, o)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	// A number that is not finite (a NaN metric, a hyper-parameter) is
	// written as null rather than losing the checkpoint.
	hdr, err := nanjson.Marshal(header{Meta: c.Meta, Tensors: entries})
	if err != nil {
		return fmt.Errorf("checkpoint: encoding header: %w", err)
	}
	if len(hdr) > maxHeaderLen {
		return fmt.Errorf("checkpoint: header of %d bytes exceeds the limit of %d", len(hdr), maxHeaderLen)
	}

	sw := &sumWriter{w: w, crc: crc32.NewIEEE()}
	var pre [preambleLen]byte
	copy(pre[:], magic)
	binary.LittleEndian.PutUint32(pre[8:], Version)
	binary.LittleEndian.PutUint64(pre[12:], uint64(len(hdr)))
	binary.LittleEndian.PutUint64(pre[20:], uint64(dataLen))
	sw.write(pre[:])
	sw.write(hdr)
	sw.pad(dataStart(int64(len(hdr))) - preambleLen - int64(len(hdr)))
	pos := int64(0)
	for i, b := range blobs {
		sw.pad(entries[i].Offset - pos)
		sw.write(b)
		pos = entries[i].Offset + int64(len(b))
	}
	var trailer [trailerLen]byte
	binary.LittleEndian.PutUint32(trailer[:], sw.crc.Sum32())
	sw.write(trailer[:])
	if sw.err != nil {
		return fmt.Errorf("checkpoint: writing: %w", sw.err)
	}
	return nil
}

// layout validates the tensors, encodes their stored bytes and places them
// in the data section.
func layout(tensors []*Tensor, o options) (entries []entry, blobs [][]byte, dataLen int64, err error) {
	entries = make([]entry, 0, len(tensors))
	seen := make(map[string]bool, len(tensors))
	for i, t := range tensors {
		if t == nil {
			return nil, nil, 0, fmt.Errorf("tensor %d is nil", i)
		}
		if t.Name == "" || !utf8.ValidString(t.Name) {
			return nil, nil, 0, fmt.Errorf("tensor %d: name %q is empty or not valid UTF-8", i, t.Name)
		}
		if seen[t.Name] {
			return nil, nil, 0, fmt.Errorf("duplicate tensor name %q", t.Name)
		}
		seen[t.Name] = true
		if err := t.validate(); err != nil {
			return nil, nil, 0, err
		}
		dtype, data := t.DType, t.data
		if o.float16 && dtype == Float32 {
			if data, err = toHalf(t); err != nil {
				return nil, nil, 0, err
			}
			dtype = Float16
		}
		off := alignUp(dataLen)
		entries = append(entries, entry{
			Name:   t.Name,
			DType:  dtype,
			Shape:  cloneShape(t.Shape),
			Offset: off,
			Length: int64(len(data)),
			CRC32:  crc32.ChecksumIEEE(data),
		})
		blobs = append(blobs, data)
		dataLen = off + int64(len(data))
	}
	return entries, blobs, dataLen, nil
}

// toHalf encodes a float32 tensor's values as float16.
func toHalf(t *Tensor) ([]byte, error) {
	out := make([]byte, len(t.data)/2)
	for i := range len(t.data) / 4 {
		f := math.Float32frombits(binary.LittleEndian.Uint32(t.data[4*i:]))
		if isHalfOverflow(f) {
			return nil, fmt.Errorf("tensor %q: value %g at index %d is outside the float16 range (±65504)", t.Name, f, i)
		}
		binary.LittleEndian.PutUint16(out[2*i:], float32ToHalf(f))
	}
	return out, nil
}

func alignUp(n int64) int64 { return (n + alignment - 1) / alignment * alignment }

// dataStart is the file offset of the data section for a header of n bytes.
func dataStart(headerLen int64) int64 { return alignUp(preambleLen + headerLen) }

// sumWriter writes to w while computing the CRC-32 of what it wrote; after
// the first error it writes nothing more and keeps the error.
type sumWriter struct {
	w   io.Writer
	crc hash.Hash32
	err error
}

var zeros [alignment]byte

func (s *sumWriter) write(b []byte) {
	if s.err != nil || len(b) == 0 {
		return
	}
	s.crc.Write(b)
	_, s.err = s.w.Write(b)
}

// pad writes n < alignment zero bytes.
func (s *sumWriter) pad(n int64) { s.write(zeros[:n]) }

// WriteFile writes c to the named file atomically: it writes a temporary
// file in the same directory, syncs it to stable storage and renames it over
// path, so that a process killed at any moment leaves either the previous
// file or the new one, never a partial one. A crash may leave the temporary
// file (named ".<base>.*.tmp") behind. An existing file keeps its
// permissions; a new one gets 0644.
func WriteFile(path string, c *Checkpoint, opts ...Option) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	if err := Write(f, c, opts...); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable. Some platforms cannot open or sync
// a directory; the rename itself has happened by then, so errors are
// ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
