// Package matfile reads and writes MATLAB level-5 MAT-files, the format of
// MATLAB's save -v6 and -v7 and of scipy.io.savemat. Several image datasets
// (SVHN, Oxford Flowers) ship their pixels, labels and splits in it.
//
// The format is described in MathWorks' "MAT-File Format" document (Level 5
// MAT-File Format chapter): a 128-byte header (descriptive text, subsystem
// data offset, version 0x0100 and an endian indicator "IM" or "MI") followed
// by tagged data elements. Each element has an 8-byte tag (data type, byte
// count) or, for at most 4 bytes of data, a packed 4-byte "small data
// element" tag; data is padded to 8 bytes. Variables are miMATRIX elements,
// optionally wrapped in an miCOMPRESSED element (a zlib stream, MATLAB -v7).
// Version 7.3 files are HDF5 containers and are not supported (ErrHDF5).
//
// Arrays are column-major (Fortran order), as in MATLAB: element
// (i0, i1, ..., ik) of an array with dimensions d0 x d1 x ... x dk is stored
// at i0 + d0*(i1 + d1*(i2 + ...)). Array.Strides and Array.Offset compute
// that index.
package matfile

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf16"
)

// ErrHDF5 reports a MATLAB v7.3 MAT-file, which is an HDF5 container rather
// than a level-5 MAT-file.
var ErrHDF5 = errors.New("matfile: MATLAB v7.3 (HDF5) MAT-files are not supported; re-save with save -v7 or scipy.io.savemat")

// Class is a MATLAB array class, as stored in the array flags of an
// miMATRIX element (the mxCLASS values of the MAT-File Format document).
type Class uint8

// Array classes. Logical arrays are stored as Uint8 with Array.Logical set.
const (
	Cell     Class = 1
	Struct   Class = 2
	Object   Class = 3
	Char     Class = 4
	Sparse   Class = 5
	Double   Class = 6
	Single   Class = 7
	Int8     Class = 8
	Uint8    Class = 9
	Int16    Class = 10
	Uint16   Class = 11
	Int32    Class = 12
	Uint32   Class = 13
	Int64    Class = 14
	Uint64   Class = 15
	Function Class = 16
	Opaque   Class = 17
)

func (c Class) String() string {
	switch c {
	case Cell:
		return "cell"
	case Struct:
		return "struct"
	case Object:
		return "object"
	case Char:
		return "char"
	case Sparse:
		return "sparse"
	case Double:
		return "double"
	case Single:
		return "single"
	case Int8:
		return "int8"
	case Uint8:
		return "uint8"
	case Int16:
		return "int16"
	case Uint16:
		return "uint16"
	case Int32:
		return "int32"
	case Uint32:
		return "uint32"
	case Int64:
		return "int64"
	case Uint64:
		return "uint64"
	case Function:
		return "function_handle"
	case Opaque:
		return "opaque"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// numeric reports whether c holds numbers in Array.Real.
func (c Class) numeric() bool { return c >= Double && c <= Uint64 }

// File is the content of a MAT-file.
type File struct {
	// Header is the header's descriptive text, without trailing padding.
	Header string
	// Vars holds the variables in file order.
	Vars []*Array
}

// Var returns the variable with the given name, or nil.
func (f *File) Var(name string) *Array {
	for _, v := range f.Vars {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Array is a MATLAB array.
//
// The type of Real (and Imag) follows Class: []float64 for Double, []float32
// for Single, []int8 ... []uint64 for the integer classes (and []uint8 for
// logical arrays), []uint16 UTF-16 code units for Char. Values are stored in
// column-major order. Cell, Struct and Object arrays hold their elements in
// Elems instead; Sparse, Function and Opaque arrays are recognised but their
// content is not read (Real is nil).
type Array struct {
	Name    string
	Class   Class
	Dims    []int
	Logical bool
	Global  bool

	// Real holds the values (the real part of a complex array).
	Real any
	// Imag holds the imaginary part of a complex array, or is nil.
	Imag any

	// Fields names the fields of a Struct or Object array.
	Fields []string
	// ClassName is the class of an Object array.
	ClassName string
	// Elems holds the elements of a Cell array in column-major order, or the
	// field values of a Struct or Object array: field f of element i is
	// Elems[i*len(Fields)+f].
	Elems []*Array
}

// Len is the number of elements, the product of the dimensions.
func (a *Array) Len() int {
	n, _ := product(a.Dims)
	return n
}

// product multiplies dims, reporting false on a negative dimension or overflow.
func product(dims []int) (int, bool) {
	n := 1
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// Strides returns the column-major stride of each dimension, in elements:
// 1, d0, d0*d1, ...
func (a *Array) Strides() []int {
	s := make([]int, len(a.Dims))
	n := 1
	for i, d := range a.Dims {
		s[i] = n
		n *= d
	}
	return s
}

// Offset returns the position in Real (or Elems) of the element with the
// given zero-based subscripts, one per dimension. Like slice indexing, it
// panics on a wrong number of subscripts or one out of range.
func (a *Array) Offset(sub ...int) int {
	if len(sub) != len(a.Dims) {
		panic(fmt.Sprintf("matfile: %d subscripts for a %d-dimensional array", len(sub), len(a.Dims)))
	}
	off, stride := 0, 1
	for i, s := range sub {
		if s < 0 || s >= a.Dims[i] {
			panic(fmt.Sprintf("matfile: subscript %d of dimension %d out of range [0,%d)", s, i, a.Dims[i]))
		}
		off += s * stride
		stride *= a.Dims[i]
	}
	return off
}

// Float64s returns the values as float64s. For a Double array it returns the
// array's own storage, not a copy; other numeric and char arrays are
// converted.
func (a *Array) Float64s() ([]float64, error) {
	switch v := a.Real.(type) {
	case []float64:
		return v, nil
	case []float32:
		return convertSlice[float32, float64](v), nil
	case []int8:
		return convertSlice[int8, float64](v), nil
	case []uint8:
		return convertSlice[uint8, float64](v), nil
	case []int16:
		return convertSlice[int16, float64](v), nil
	case []uint16:
		return convertSlice[uint16, float64](v), nil
	case []int32:
		return convertSlice[int32, float64](v), nil
	case []uint32:
		return convertSlice[uint32, float64](v), nil
	case []int64:
		return convertSlice[int64, float64](v), nil
	case []uint64:
		return convertSlice[uint64, float64](v), nil
	}
	return nil, a.notNumeric()
}

// Ints returns the values as ints. It fails unless every value is a whole
// number that fits an int, so 1-based indices stored as doubles convert
// exactly.
func (a *Array) Ints() ([]int, error) {
	var (
		out []int
		err error
	)
	switch v := a.Real.(type) {
	case []float64:
		out, err = intsFromFloats(v)
	case []float32:
		out, err = intsFromFloats(v)
	case []int8:
		out = convertSlice[int8, int](v)
	case []uint8:
		out = convertSlice[uint8, int](v)
	case []int16:
		out = convertSlice[int16, int](v)
	case []uint16:
		out = convertSlice[uint16, int](v)
	case []int32:
		out = convertSlice[int32, int](v)
	case []uint32:
		out = convertSlice[uint32, int](v)
	case []int64:
		out = convertSlice[int64, int](v)
	case []uint64:
		for i, x := range v {
			if x > math.MaxInt {
				return nil, fmt.Errorf("matfile: %s: element %d (%d) overflows int", a.label(), i, x)
			}
		}
		out = convertSlice[uint64, int](v)
	default:
		return nil, a.notNumeric()
	}
	if err != nil {
		return nil, fmt.Errorf("matfile: %s: %w", a.label(), err)
	}
	return out, nil
}

// Uint8s returns the values as bytes. For a Uint8 (or logical) array it
// returns the array's own storage, not a copy; other numeric arrays convert
// when every value is a whole number in [0, 255].
func (a *Array) Uint8s() ([]uint8, error) {
	if v, ok := a.Real.([]uint8); ok {
		return v, nil
	}
	ints, err := a.Ints()
	if err != nil {
		return nil, err
	}
	out := make([]uint8, len(ints))
	for i, x := range ints {
		if x < 0 || x > math.MaxUint8 {
			return nil, fmt.Errorf("matfile: %s: element %d (%d) is outside [0,255]", a.label(), i, x)
		}
		out[i] = uint8(x)
	}
	return out, nil
}

// Text returns the characters of a Char array in storage (column-major)
// order, which for the usual 1xN row is the string itself.
func (a *Array) Text() (string, error) {
	v, ok := a.Real.([]uint16)
	if a.Class != Char || !ok {
		return "", fmt.Errorf("matfile: %s is a %s array, not char", a.label(), a.Class)
	}
	return string(utf16.Decode(v)), nil
}

// Field returns field name of element i of a Struct or Object array.
func (a *Array) Field(name string, i int) (*Array, error) {
	if a.Class != Struct && a.Class != Object {
		return nil, fmt.Errorf("matfile: %s is a %s array, not struct", a.label(), a.Class)
	}
	for f, fn := range a.Fields {
		if fn != name {
			continue
		}
		k := i*len(a.Fields) + f
		if i < 0 || k >= len(a.Elems) {
			return nil, fmt.Errorf("matfile: %s: element %d out of range [0,%d)", a.label(), i, a.Len())
		}
		return a.Elems[k], nil
	}
	return nil, fmt.Errorf("matfile: %s has no field %q", a.label(), name)
}

func (a *Array) label() string {
	if a.Name == "" {
		return "unnamed array"
	}
	return fmt.Sprintf("variable %q", a.Name)
}

func (a *Array) notNumeric() error {
	switch a.Class {
	case Sparse, Function, Opaque:
		return fmt.Errorf("matfile: %s: %s arrays are not supported", a.label(), a.Class)
	}
	return fmt.Errorf("matfile: %s is a %s array, not numeric", a.label(), a.Class)
}

type number interface {
	~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64 | ~int | ~float32 | ~float64
}

func convertSlice[S, D number](s []S) []D {
	d := make([]D, len(s))
	for i, x := range s {
		d[i] = D(x)
	}
	return d
}

func intsFromFloats[F float32 | float64](v []F) ([]int, error) {
	out := make([]int, len(v))
	for i, x := range v {
		f := float64(x)
		// 2^63 is the first float64 beyond MaxInt; -2^63 is exactly MinInt.
		if f != math.Trunc(f) || f >= math.MaxInt64 || f < math.MinInt64 {
			return nil, fmt.Errorf("element %d (%v) is not a whole number that fits an int", i, f)
		}
		out[i] = int(f)
	}
	return out, nil
}

// NewArray returns a numeric array with the given dimensions, holding data
// in column-major order. data is one of []float64, []float32, []int8,
// []uint8, []int16, []uint16, []int32, []uint32, []int64, []uint64, or
// []bool for a logical array; it is used as is (not copied), except []bool,
// which is converted to bytes.
func NewArray(name string, dims []int, data any) (*Array, error) {
	a := &Array{Name: name, Dims: append([]int(nil), dims...), Real: data}
	switch v := data.(type) {
	case []float64:
		a.Class = Double
	case []float32:
		a.Class = Single
	case []int8:
		a.Class = Int8
	case []uint8:
		a.Class = Uint8
	case []int16:
		a.Class = Int16
	case []uint16:
		a.Class = Uint16
	case []int32:
		a.Class = Int32
	case []uint32:
		a.Class = Uint32
	case []int64:
		a.Class = Int64
	case []uint64:
		a.Class = Uint64
	case []bool:
		b := make([]uint8, len(v))
		for i, x := range v {
			if x {
				b[i] = 1
			}
		}
		a.Class, a.Logical, a.Real = Uint8, true, b
	default:
		return nil, fmt.Errorf("matfile: NewArray %q: unsupported data type %T", name, data)
	}
	if err := a.checkShape(); err != nil {
		return nil, err
	}
	return a, nil
}

// NewChar returns a 1xN char array holding s as UTF-16 code units.
func NewChar(name, s string) *Array {
	u := utf16.Encode([]rune(s))
	return &Array{Name: name, Class: Char, Dims: []int{1, len(u)}, Real: u}
}

// NewCell returns a cell array with the given dimensions and elements in
// column-major order. Element names are not stored in a file.
func NewCell(name string, dims []int, elems ...*Array) (*Array, error) {
	a := &Array{Name: name, Class: Cell, Dims: append([]int(nil), dims...), Elems: elems}
	if err := a.checkShape(); err != nil {
		return nil, err
	}
	return a, nil
}

// NewStruct returns a struct array with the given dimensions and fields;
// values holds field f of element i at i*len(fields)+f.
func NewStruct(name string, dims []int, fields []string, values ...*Array) (*Array, error) {
	a := &Array{Name: name, Class: Struct, Dims: append([]int(nil), dims...), Fields: fields, Elems: values}
	if err := a.checkShape(); err != nil {
		return nil, err
	}
	return a, nil
}

// checkShape verifies that the content agrees with Class and Dims.
func (a *Array) checkShape() error {
	n, ok := product(a.Dims)
	if !ok {
		return fmt.Errorf("matfile: %s: invalid dimensions %v", a.label(), a.Dims)
	}
	switch {
	case a.Class == Cell:
		if len(a.Elems) != n {
			return fmt.Errorf("matfile: %s: %d cell elements for dimensions %v", a.label(), len(a.Elems), a.Dims)
		}
	case a.Class == Struct || a.Class == Object:
		if len(a.Elems) != n*len(a.Fields) {
			return fmt.Errorf("matfile: %s: %d field values for %d elements of %d fields", a.label(), len(a.Elems), n, len(a.Fields))
		}
	case a.Class.numeric() || a.Class == Char:
		if m := sliceLen(a.Real); m != n {
			return fmt.Errorf("matfile: %s: %d values for dimensions %v", a.label(), m, a.Dims)
		}
		if a.Imag != nil && sliceLen(a.Imag) != n {
			return fmt.Errorf("matfile: %s: %d imaginary values for dimensions %v", a.label(), sliceLen(a.Imag), a.Dims)
		}
	}
	return nil
}

// sliceLen is the length of a typed value slice, or -1 for anything else.
func sliceLen(v any) int {
	switch s := v.(type) {
	case []float64:
		return len(s)
	case []float32:
		return len(s)
	case []int8:
		return len(s)
	case []uint8:
		return len(s)
	case []int16:
		return len(s)
	case []uint16:
		return len(s)
	case []int32:
		return len(s)
	case []uint32:
		return len(s)
	case []int64:
		return len(s)
	case []uint64:
		return len(s)
	}
	return -1
}
