package matfile

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
)

// headerText is written into the 116-byte descriptive text of the header.
// It carries no date, so the same variables always give the same bytes.
const headerText = "MATLAB 5.0 MAT-file, written by github.com/artrobust/art/shared/matfile"

// Write writes vars as an uncompressed little-endian level-5 MAT-file (the
// layout of MATLAB's save -v6 and of scipy.io.savemat), which MATLAB, scipy
// and Read accept. Values are stored in the data type of their class; data
// of at most 4 bytes uses the small data element format. Names of cell
// elements and struct field values are not stored.
func Write(w io.Writer, vars ...*Array) error {
	return write(w, false, vars)
}

// WriteCompressed is like Write but stores each variable in its own
// zlib-compressed miCOMPRESSED element, as MATLAB's save -v7 does.
func WriteCompressed(w io.Writer, vars ...*Array) error {
	return write(w, true, vars)
}

func write(w io.Writer, compress bool, vars []*Array) error {
	sizes := make([]uint64, len(vars))
	for i, v := range vars {
		if v == nil {
			return fmt.Errorf("matfile: writing variable %d: nil array", i)
		}
		if err := v.checkWritable(0); err != nil {
			return fmt.Errorf("matfile: writing: %w", err)
		}
		sizes[i] = matrixSize(v, v.Name)
		if sizes[i] > math.MaxUint32 {
			return fmt.Errorf("matfile: writing %s: %d bytes do not fit a level-5 MAT-file element (4 GiB)", v.label(), sizes[i])
		}
	}

	bw := bufio.NewWriter(w)
	var hdr [headerSize]byte
	copy(hdr[:116], headerText+strings.Repeat(" ", 116-len(headerText)))
	// hdr[116:124], the subsystem data offset, stays zero: there is none.
	binary.LittleEndian.PutUint16(hdr[124:], 0x0100)
	copy(hdr[126:], "IM")
	bw.Write(hdr[:])

	for i, v := range vars {
		if !compress {
			e := encoder{w: bw}
			e.matrix(v, v.Name, sizes[i])
			if e.err != nil {
				return fmt.Errorf("matfile: writing %s: %w", v.label(), e.err)
			}
			continue
		}
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		e := encoder{w: zw}
		e.matrix(v, v.Name, sizes[i])
		if e.err == nil {
			e.err = zw.Close()
		}
		if e.err == nil && buf.Len() > math.MaxUint32 {
			e.err = fmt.Errorf("%d compressed bytes do not fit an element (4 GiB)", buf.Len())
		}
		if e.err != nil {
			return fmt.Errorf("matfile: writing %s: %w", v.label(), e.err)
		}
		e = encoder{w: bw}
		e.tag(miCOMPRESSED, uint32(buf.Len()))
		e.write(buf.Bytes())
		if e.err != nil {
			return fmt.Errorf("matfile: writing %s: %w", v.label(), e.err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("matfile: writing: %w", err)
	}
	return nil
}

// checkWritable verifies that a and its elements can be encoded.
func (a *Array) checkWritable(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("arrays nested deeper than %d levels", maxDepth)
	}
	if len(a.Dims) < 2 {
		return fmt.Errorf("%s: %d dimensions, MATLAB arrays have at least 2", a.label(), len(a.Dims))
	}
	for _, d := range a.Dims {
		if d < 0 || d > math.MaxInt32 {
			return fmt.Errorf("%s: dimension %d out of range", a.label(), d)
		}
	}
	if a.Logical && (a.Class != Uint8 || a.Imag != nil) {
		return fmt.Errorf("%s: logical arrays must be real uint8, not %s", a.label(), a.Class)
	}
	switch a.Class {
	case Cell, Struct, Object:
		if a.Class != Cell {
			for _, f := range a.Fields {
				if f == "" || strings.IndexByte(f, 0) >= 0 {
					return fmt.Errorf("%s: invalid field name %q", a.label(), f)
				}
			}
		}
		for i, e := range a.Elems {
			if e == nil {
				return fmt.Errorf("%s: element %d is nil", a.label(), i)
			}
			if err := e.checkWritable(depth + 1); err != nil {
				return fmt.Errorf("%s: element %d: %w", a.label(), i, err)
			}
		}
	case Char, Double, Single, Int8, Uint8, Int16, Uint16, Int32, Uint32, Int64, Uint64:
		want := storageType(a.Class)
		if t, _ := sliceType(a.Real); t != want {
			return fmt.Errorf("%s: %s array holds %T", a.label(), a.Class, a.Real)
		}
		if t, _ := sliceType(a.Imag); a.Imag != nil && t != want {
			return fmt.Errorf("%s: %s array has imaginary part %T", a.label(), a.Class, a.Imag)
		}
	default:
		return fmt.Errorf("%s: cannot write %s arrays", a.label(), a.Class)
	}
	return a.checkShape()
}

// storageType is the data type Write uses for the values of a class.
func storageType(c Class) dataType {
	switch c {
	case Double:
		return miDOUBLE
	case Single:
		return miSINGLE
	case Int8:
		return miINT8
	case Uint8:
		return miUINT8
	case Int16:
		return miINT16
	case Uint16, Char:
		return miUINT16
	case Int32:
		return miINT32
	case Uint32:
		return miUINT32
	case Int64:
		return miINT64
	case Uint64:
		return miUINT64
	}
	return 0
}

// sliceType returns the data type and byte length of a typed value slice.
func sliceType(v any) (dataType, uint64) {
	n := uint64(max(sliceLen(v), 0))
	switch v.(type) {
	case []float64:
		return miDOUBLE, 8 * n
	case []float32:
		return miSINGLE, 4 * n
	case []int8:
		return miINT8, n
	case []uint8:
		return miUINT8, n
	case []int16:
		return miINT16, 2 * n
	case []uint16:
		return miUINT16, 2 * n
	case []int32:
		return miINT32, 4 * n
	case []uint32:
		return miUINT32, 4 * n
	case []int64:
		return miINT64, 8 * n
	case []uint64:
		return miUINT64, 8 * n
	}
	return 0, 0
}

// subSize is the encoded size of a subelement holding n bytes.
func subSize(n uint64) uint64 {
	if n > 0 && n <= 4 {
		return tagSize
	}
	return tagSize + n + padding(n)
}

// fieldWidth is the fixed width of the field names of a struct: the
// longest name plus its NUL terminator.
func fieldWidth(fields []string) int {
	w := 0
	for _, f := range fields {
		w = max(w, len(f)+1)
	}
	return w
}

// matrixSize is the size of the content of a's miMATRIX element (without
// its tag) when written under name.
func matrixSize(a *Array, name string) uint64 {
	n := subSize(8) + subSize(4*uint64(len(a.Dims))) + subSize(uint64(len(name)))
	switch a.Class {
	case Cell, Struct, Object:
		if a.Class == Object {
			n += subSize(uint64(len(a.ClassName)))
		}
		if a.Class != Cell {
			n += subSize(4) + subSize(uint64(fieldWidth(a.Fields)*len(a.Fields)))
		}
		for _, e := range a.Elems {
			n += tagSize + matrixSize(e, "")
		}
	default:
		_, b := sliceType(a.Real)
		n += subSize(b)
		if a.Imag != nil {
			_, b = sliceType(a.Imag)
			n += subSize(b)
		}
	}
	return n
}

// encoder writes little-endian data elements, keeping the first error.
type encoder struct {
	w   io.Writer
	err error
}

func (e *encoder) write(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) tag(t dataType, n uint32) {
	var b [tagSize]byte
	binary.LittleEndian.PutUint32(b[:], uint32(t))
	binary.LittleEndian.PutUint32(b[4:], n)
	e.write(b[:])
}

// sub writes a subelement of type t holding the values of v (a typed slice
// or a byte string).
func (e *encoder) sub(t dataType, v any) {
	var n uint64
	if s, ok := v.(string); ok {
		v, n = []byte(s), uint64(len(s))
	} else {
		_, n = sliceType(v)
	}
	if n > 0 && n <= 4 {
		// Small data element: byte count in the upper 16 bits of the type.
		var b [tagSize]byte
		binary.LittleEndian.PutUint32(b[:], uint32(n)<<16|uint32(t))
		data, _ := binary.Append(nil, binary.LittleEndian, v)
		copy(b[4:], data)
		e.write(b[:])
		return
	}
	e.tag(t, uint32(n))
	if e.err == nil {
		if b, ok := v.([]byte); ok {
			_, e.err = e.w.Write(b)
		} else {
			e.err = binary.Write(e.w, binary.LittleEndian, v)
		}
	}
	e.write(make([]byte, padding(n)))
}

// matrix writes a as an miMATRIX element named name whose content is size
// bytes (from matrixSize).
func (e *encoder) matrix(a *Array, name string, size uint64) {
	e.tag(miMATRIX, uint32(size))
	flags := uint32(a.Class)
	if a.Imag != nil {
		flags |= 0x0800
	}
	if a.Global {
		flags |= 0x0400
	}
	if a.Logical {
		flags |= 0x0200
	}
	e.sub(miUINT32, []uint32{flags, 0})
	dims := make([]int32, len(a.Dims))
	for i, d := range a.Dims {
		dims[i] = int32(d)
	}
	e.sub(miINT32, dims)
	e.sub(miINT8, name)
	switch a.Class {
	case Cell, Struct, Object:
		if a.Class == Object {
			e.sub(miINT8, a.ClassName)
		}
		if a.Class != Cell {
			width := fieldWidth(a.Fields)
			e.sub(miINT32, []int32{int32(width)})
			names := make([]byte, width*len(a.Fields))
			for i, f := range a.Fields {
				copy(names[i*width:], f)
			}
			e.sub(miINT8, names)
		}
		for _, el := range a.Elems {
			e.matrix(el, "", matrixSize(el, ""))
		}
	default:
		t := storageType(a.Class)
		e.sub(t, a.Real)
		if a.Imag != nil {
			e.sub(t, a.Imag)
		}
	}
}
