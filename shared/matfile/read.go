package matfile

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// dataType is the type field of a data element tag (the miXXX values of
// the MAT-File Format document).
type dataType uint32

const (
	miINT8       dataType = 1
	miUINT8      dataType = 2
	miINT16      dataType = 3
	miUINT16     dataType = 4
	miINT32      dataType = 5
	miUINT32     dataType = 6
	miSINGLE     dataType = 7
	miDOUBLE     dataType = 9
	miINT64      dataType = 12
	miUINT64     dataType = 13
	miMATRIX     dataType = 14
	miCOMPRESSED dataType = 15
	miUTF8       dataType = 16
	miUTF16      dataType = 17
	miUTF32      dataType = 18
)

// size is the byte size of one value of t, or 0 for a type that does not
// hold plain numbers.
func (t dataType) size() int {
	switch t {
	case miINT8, miUINT8, miUTF8:
		return 1
	case miINT16, miUINT16, miUTF16:
		return 2
	case miINT32, miUINT32, miSINGLE, miUTF32:
		return 4
	case miINT64, miUINT64, miDOUBLE:
		return 8
	}
	return 0
}

func (t dataType) String() string {
	switch t {
	case miINT8:
		return "miINT8"
	case miUINT8:
		return "miUINT8"
	case miINT16:
		return "miINT16"
	case miUINT16:
		return "miUINT16"
	case miINT32:
		return "miINT32"
	case miUINT32:
		return "miUINT32"
	case miSINGLE:
		return "miSINGLE"
	case miDOUBLE:
		return "miDOUBLE"
	case miINT64:
		return "miINT64"
	case miUINT64:
		return "miUINT64"
	case miMATRIX:
		return "miMATRIX"
	case miCOMPRESSED:
		return "miCOMPRESSED"
	case miUTF8:
		return "miUTF8"
	case miUTF16:
		return "miUTF16"
	case miUTF32:
		return "miUTF32"
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

const (
	headerSize = 128
	tagSize    = 8
	// maxDepth bounds the nesting of cells and structs, so a hostile file
	// cannot exhaust the stack.
	maxDepth = 32
	// firstChunk is the largest buffer allocated before any data has been
	// read: bigger elements grow their buffer as bytes actually arrive, so a
	// lying size field cannot make Read allocate more than the file holds.
	firstChunk = 64 << 10
)

// hdf5Signature starts an HDF5 file; v7.3 MAT-files have it at offset 512.
var hdf5Signature = []byte("\x89HDF\r\n\x1a\n")

// Read reads a level-5 MAT-file: every variable, including those inside
// miCOMPRESSED elements. Both byte orders are accepted; values are converted
// from their storage type to their array class (a double array that MATLAB
// stored as miUINT8 reads as []float64). Read consumes r sequentially and
// allocates in proportion to the data actually present.
//
// Sparse, function-handle and opaque arrays are returned with their Class
// (and, where present, Name and Dims) but no content. The subsystem data
// element, which only backs such arrays, is skipped.
func Read(r io.Reader) (*File, error) {
	var hdr [headerSize]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if n >= len(hdf5Signature) && bytes.HasPrefix(hdr[:], hdf5Signature) {
			return nil, ErrHDF5
		}
		return nil, fmt.Errorf("matfile: reading the 128-byte header: %w", noEOF(err))
	}
	if bytes.HasPrefix(hdr[:], hdf5Signature) || bytes.HasPrefix(hdr[:], []byte("MATLAB 7.3")) {
		return nil, ErrHDF5
	}
	var order binary.ByteOrder
	switch string(hdr[126:128]) {
	case "IM":
		order = binary.LittleEndian
	case "MI":
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("matfile: not a level-5 MAT-file: endian indicator %q, want \"IM\" or \"MI\"", hdr[126:128])
	}
	if hdr[0] == 0 || hdr[1] == 0 || hdr[2] == 0 || hdr[3] == 0 {
		// Level-4 files start with a binary type word; level 5 with text.
		return nil, errors.New("matfile: not a level-5 MAT-file: header text starts with a zero byte (a level-4 MAT-file?)")
	}
	switch v := order.Uint16(hdr[124:126]); v {
	case 0x0100:
	case 0x0200:
		return nil, ErrHDF5
	default:
		return nil, fmt.Errorf("matfile: unsupported MAT-file version 0x%04x, want 0x0100", v)
	}
	subsys := order.Uint64(hdr[116:124])
	if subsys == 0x2020202020202020 {
		subsys = 0 // MATLAB fills an unused offset with spaces
	}

	f := &File{Header: strings.TrimRight(string(hdr[:116]), " \x00")}
	d := decoder{order: order}
	pos := uint64(headerSize)
	for i := 0; ; i++ {
		start := pos
		typ, size, err := d.readTag(r)
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, fmt.Errorf("matfile: element %d at offset %d: %w", i, start, err)
		}
		pos += tagSize + uint64(size)
		skip := subsys != 0 && start == subsys
		var vars []*Array
		switch typ {
		case miMATRIX:
			var b []byte
			if b, err = readBytes(r, uint64(size)); err == nil {
				if p := padding(uint64(size)); p > 0 {
					// A file may end without its last element's padding.
					n, _ := io.ReadFull(r, make([]byte, p))
					pos += uint64(n)
				}
				if !skip {
					var a *Array
					if a, err = d.matrix(b, 0); err == nil {
						vars = append(vars, a)
					}
				}
			}
		case miCOMPRESSED:
			vars, err = d.compressed(r, size, skip)
		default:
			err = fmt.Errorf("unexpected top-level element %v (want miMATRIX or miCOMPRESSED)", typ)
		}
		if err != nil {
			return nil, fmt.Errorf("matfile: element %d at offset %d: %w", i, start, err)
		}
		f.Vars = append(f.Vars, vars...)
	}
}

type decoder struct {
	order binary.ByteOrder
}

// readTag reads a full 8-byte tag from a stream. It returns io.EOF only when
// the stream ends cleanly before the tag.
func (d decoder) readTag(r io.Reader) (dataType, uint32, error) {
	var tag [tagSize]byte
	if _, err := io.ReadFull(r, tag[:]); err != nil {
		if err == io.EOF {
			return 0, 0, io.EOF
		}
		return 0, 0, fmt.Errorf("reading tag: %w", err)
	}
	w := d.order.Uint32(tag[:4])
	if w>>16 != 0 {
		return 0, 0, fmt.Errorf("small data element (type %v) where a variable was expected", dataType(w&0xffff))
	}
	return dataType(w), d.order.Uint32(tag[4:]), nil
}

// compressed decodes the zlib stream of an miCOMPRESSED element of size
// bytes, which holds one or more miMATRIX elements. With skip set it only
// consumes the element.
func (d decoder) compressed(r io.Reader, size uint32, skip bool) ([]*Array, error) {
	lr := &io.LimitedReader{R: r, N: int64(size)}
	var vars []*Array
	if !skip {
		zr, err := zlib.NewReader(lr)
		if err != nil {
			return nil, fmt.Errorf("miCOMPRESSED: %w", noEOF(err))
		}
		for {
			typ, n, err := d.readTag(zr)
			if err == io.EOF {
				break // zlib has verified the checksum
			}
			if err != nil {
				return nil, fmt.Errorf("miCOMPRESSED: %w", noEOF(err))
			}
			if typ != miMATRIX {
				return nil, fmt.Errorf("miCOMPRESSED holds %v, want miMATRIX", typ)
			}
			b, err := readBytes(zr, uint64(n))
			if err != nil {
				return nil, fmt.Errorf("miCOMPRESSED: %w", err)
			}
			if p := padding(uint64(n)); p > 0 {
				io.ReadFull(zr, make([]byte, p)) // padding is optional at the end
			}
			a, err := d.matrix(b, 0)
			if err != nil {
				return nil, err
			}
			vars = append(vars, a)
		}
	}
	// Trailing bytes after the zlib stream belong to this element; skip them.
	if _, err := io.Copy(io.Discard, lr); err != nil {
		return nil, fmt.Errorf("miCOMPRESSED: %w", err)
	}
	if lr.N > 0 {
		return nil, fmt.Errorf("miCOMPRESSED: %w (%d of %d bytes missing)", io.ErrUnexpectedEOF, lr.N, size)
	}
	return vars, nil
}

// matrix decodes the content of an miMATRIX element (the bytes after its tag).
func (d decoder) matrix(b []byte, depth int) (*Array, error) {
	if len(b) == 0 {
		// MATLAB writes an empty matrix, e.g. an empty cell, as a bare tag.
		return &Array{Class: Double, Dims: []int{0, 0}, Real: []float64{}}, nil
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("arrays nested deeper than %d levels", maxDepth)
	}
	p := &parser{order: d.order, b: b}

	typ, flags, err := p.next()
	if err != nil {
		return nil, fmt.Errorf("array flags: %w", err)
	}
	if typ != miUINT32 || len(flags) != 8 {
		return nil, fmt.Errorf("array flags: got %v with %d bytes, want miUINT32 with 8", typ, len(flags))
	}
	w := d.order.Uint32(flags)
	a := &Array{
		Class:   Class(w & 0xff),
		Global:  w&0x0400 != 0,
		Logical: w&0x0200 != 0,
	}
	complexData := w&0x0800 != 0
	if a.Class == Function || a.Class == Opaque {
		// These do not follow the dims/name layout; their content lives in
		// the subsystem data, which this package does not interpret.
		return a, nil
	}
	if a.Class < Cell || a.Class > Uint64 {
		return nil, fmt.Errorf("unknown array class %d", uint8(a.Class))
	}

	typ, db, err := p.next()
	if err != nil {
		return nil, fmt.Errorf("dimensions: %w", err)
	}
	if typ != miINT32 || len(db) < 4 || len(db)%4 != 0 {
		return nil, fmt.Errorf("dimensions: got %v with %d bytes, want miINT32 with a multiple of 4", typ, len(db))
	}
	a.Dims = make([]int, len(db)/4)
	for i := range a.Dims {
		a.Dims[i] = int(int32(d.order.Uint32(db[4*i:])))
	}
	n, ok := product(a.Dims)
	if !ok {
		return nil, fmt.Errorf("invalid dimensions %v", a.Dims)
	}

	typ, name, err := p.next()
	if err != nil {
		return nil, fmt.Errorf("array name: %w", err)
	}
	if typ != miINT8 && typ != miUINT8 && typ != miUTF8 {
		return nil, fmt.Errorf("array name stored as %v, want miINT8", typ)
	}
	a.Name = string(name)

	switch a.Class {
	case Sparse:
		return a, nil
	case Cell:
		// Every element takes at least a tag, which bounds n by the data.
		if n > len(p.b)/tagSize {
			return nil, fmt.Errorf("%s: %d cells for dimensions %v but only %d bytes", a.label(), n, a.Dims, len(p.b))
		}
		a.Elems = make([]*Array, n)
		for i := range a.Elems {
			if a.Elems[i], err = d.child(p, depth); err != nil {
				return nil, fmt.Errorf("%s: cell %d: %w", a.label(), i, err)
			}
		}
		return a, nil
	case Struct, Object:
		if err := d.structure(a, p, n, depth); err != nil {
			return nil, fmt.Errorf("%s: %w", a.label(), err)
		}
		return a, nil
	}

	typ, real, err := p.next()
	if err != nil {
		return nil, fmt.Errorf("%s: real part: %w", a.label(), err)
	}
	if a.Real, err = d.values(a.Class, typ, real); err != nil {
		return nil, fmt.Errorf("%s: real part: %w", a.label(), err)
	}
	if complexData {
		typ, imag, err := p.next()
		if err != nil {
			return nil, fmt.Errorf("%s: imaginary part: %w", a.label(), err)
		}
		if a.Imag, err = d.values(a.Class, typ, imag); err != nil {
			return nil, fmt.Errorf("%s: imaginary part: %w", a.label(), err)
		}
	}
	if err := a.checkShape(); err != nil {
		return nil, err
	}
	return a, nil
}

// child decodes the next subelement of p, which must be an miMATRIX.
func (d decoder) child(p *parser, depth int) (*Array, error) {
	typ, b, err := p.next()
	if err != nil {
		return nil, err
	}
	if typ != miMATRIX {
		return nil, fmt.Errorf("got %v, want miMATRIX", typ)
	}
	return d.matrix(b, depth+1)
}

// structure decodes the rest of a Struct or Object array with n elements:
// [class name,] field name length, field names, then one miMATRIX per field
// per element.
func (d decoder) structure(a *Array, p *parser, n, depth int) error {
	if a.Class == Object {
		typ, cn, err := p.next()
		if err != nil {
			return fmt.Errorf("class name: %w", err)
		}
		if typ != miINT8 && typ != miUINT8 {
			return fmt.Errorf("class name stored as %v, want miINT8", typ)
		}
		a.ClassName = string(cn)
	}
	typ, lb, err := p.next()
	if err != nil {
		return fmt.Errorf("field name length: %w", err)
	}
	if typ != miINT32 || len(lb) != 4 {
		return fmt.Errorf("field name length: got %v with %d bytes, want one miINT32", typ, len(lb))
	}
	width := int(int32(d.order.Uint32(lb)))
	typ, names, err := p.next()
	if err != nil {
		return fmt.Errorf("field names: %w", err)
	}
	if typ != miINT8 && typ != miUINT8 {
		return fmt.Errorf("field names stored as %v, want miINT8", typ)
	}
	if len(names) > 0 && (width <= 0 || len(names)%width != 0) {
		return fmt.Errorf("%d bytes of field names do not split into names of %d bytes", len(names), width)
	}
	for len(names) > 0 {
		a.Fields = append(a.Fields, string(bytes.TrimRight(names[:width], "\x00")))
		names = names[width:]
	}
	nf := len(a.Fields)
	if nf > 0 && n > len(p.b)/tagSize/nf {
		return fmt.Errorf("%d elements of %d fields but only %d bytes", n, nf, len(p.b))
	}
	a.Elems = make([]*Array, n*nf)
	for i := range a.Elems {
		if a.Elems[i], err = d.child(p, depth); err != nil {
			return fmt.Errorf("element %d field %q: %w", i/nf, a.Fields[i%nf], err)
		}
	}
	return nil
}

// values converts the bytes of a data subelement stored as t to the Go
// slice type of class.
func (d decoder) values(class Class, t dataType, b []byte) (any, error) {
	size := t.size()
	if size == 0 {
		return nil, fmt.Errorf("values stored as %v", t)
	}
	if len(b)%size != 0 {
		return nil, fmt.Errorf("%d bytes of %v, not a multiple of %d", len(b), t, size)
	}
	if class == Char {
		switch t {
		case miUTF8:
			return utf16.Encode([]rune(string(b))), nil
		case miUTF32:
			u := decodeAs[uint32](d.order, miUINT32, b)
			r := make([]rune, len(u))
			for i, c := range u {
				r[i] = rune(c)
				if !utf8.ValidRune(r[i]) {
					r[i] = utf8.RuneError
				}
			}
			return utf16.Encode(r), nil
		}
	}
	if t == miUTF8 || t == miUTF16 || t == miUTF32 {
		if class != Char {
			return nil, fmt.Errorf("%s values stored as %v", class, t)
		}
		t = miUINT16 // UTF-8 and UTF-32 were decoded above: this is UTF-16
	}
	switch class {
	case Double:
		return decodeAs[float64](d.order, t, b), nil
	case Single:
		return decodeAs[float32](d.order, t, b), nil
	case Int8:
		return decodeAs[int8](d.order, t, b), nil
	case Uint8:
		return decodeAs[uint8](d.order, t, b), nil
	case Int16:
		return decodeAs[int16](d.order, t, b), nil
	case Uint16, Char:
		return decodeAs[uint16](d.order, t, b), nil
	case Int32:
		return decodeAs[int32](d.order, t, b), nil
	case Uint32:
		return decodeAs[uint32](d.order, t, b), nil
	case Int64:
		return decodeAs[int64](d.order, t, b), nil
	case Uint64:
		return decodeAs[uint64](d.order, t, b), nil
	}
	return nil, fmt.Errorf("class %s has no values", class)
}

// decodeAs converts values stored as t (a numeric type whose size divides
// len(b)) to T. Bytes stored as miUINT8 for a uint8 class are returned
// without copying.
func decodeAs[T number](order binary.ByteOrder, t dataType, b []byte) []T {
	if t == miUINT8 {
		if out, ok := any(b).([]T); ok {
			return out
		}
	}
	out := make([]T, len(b)/t.size())
	switch t {
	case miINT8:
		for i := range out {
			out[i] = T(int8(b[i]))
		}
	case miUINT8:
		for i := range out {
			out[i] = T(b[i])
		}
	case miINT16:
		for i := range out {
			out[i] = T(int16(order.Uint16(b[2*i:])))
		}
	case miUINT16:
		for i := range out {
			out[i] = T(order.Uint16(b[2*i:]))
		}
	case miINT32:
		for i := range out {
			out[i] = T(int32(order.Uint32(b[4*i:])))
		}
	case miUINT32:
		for i := range out {
			out[i] = T(order.Uint32(b[4*i:]))
		}
	case miINT64:
		for i := range out {
			out[i] = T(int64(order.Uint64(b[8*i:])))
		}
	case miUINT64:
		for i := range out {
			out[i] = T(order.Uint64(b[8*i:]))
		}
	case miSINGLE:
		for i := range out {
			out[i] = T(math.Float32frombits(order.Uint32(b[4*i:])))
		}
	case miDOUBLE:
		for i := range out {
			out[i] = T(math.Float64frombits(order.Uint64(b[8*i:])))
		}
	}
	return out
}

// parser walks the subelements of an miMATRIX held in memory.
type parser struct {
	order binary.ByteOrder
	b     []byte
}

// next returns the type and data of the next subelement, in either the
// regular or the small data element format.
func (p *parser) next() (dataType, []byte, error) {
	if len(p.b) < tagSize {
		return 0, nil, fmt.Errorf("subelement tag: %w", io.ErrUnexpectedEOF)
	}
	w := p.order.Uint32(p.b)
	if n := w >> 16; n != 0 {
		// Small data element: 2-byte count, 2-byte type, then up to 4 bytes.
		if n > 4 {
			return 0, nil, fmt.Errorf("small data element of %d bytes (at most 4)", n)
		}
		data := p.b[4 : 4+n]
		p.b = p.b[tagSize:]
		return dataType(w & 0xffff), data, nil
	}
	size := uint64(p.order.Uint32(p.b[4:]))
	rest := uint64(len(p.b) - tagSize)
	if size > rest {
		return 0, nil, fmt.Errorf("%v subelement of %d bytes with %d left: %w", dataType(w), size, rest, io.ErrUnexpectedEOF)
	}
	data := p.b[tagSize : tagSize+size]
	p.b = p.b[tagSize+min(size+padding(size), rest):]
	return dataType(w), data, nil
}

// padding is the number of bytes that align n to 8.
func padding(n uint64) uint64 { return (8 - n%8) % 8 }

// readBytes reads exactly n bytes, growing its buffer as data arrives so
// that memory follows the real length of the stream, not the claimed n.
func readBytes(r io.Reader, n uint64) ([]byte, error) {
	if n <= firstChunk {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, noEOF(err)
		}
		return b, nil
	}
	if n > math.MaxInt {
		return nil, fmt.Errorf("element of %d bytes is too large", n)
	}
	b := make([]byte, 0, firstChunk)
	for uint64(len(b)) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(2*uint64(cap(b)), n))
			copy(nb, b)
			b = nb
		}
		m, err := io.ReadFull(r, b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err != nil {
			return nil, fmt.Errorf("%w (%d of %d bytes)", noEOF(err), len(b), n)
		}
	}
	return b, nil
}

// noEOF turns a clean end of stream inside an element into a truncation.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
