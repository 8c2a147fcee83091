package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType is the element type of a stored tensor. Its value is the name used
// in the file header, which is also the numpy dtype name.
type DType string

// The element types a checkpoint can hold. All are stored little-endian.
const (
	Float32 DType = "float32"
	Float16 DType = "float16" // IEEE 754 binary16; read back as float32.
	Float64 DType = "float64"
	Int64   DType = "int64"
	Int32   DType = "int32"
	Uint64  DType = "uint64" // e.g. random number generator state.
	Uint8   DType = "uint8"
)

// Size is the number of bytes of one element, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case Float64, Int64, Uint64:
		return 8
	case Float32, Int32:
		return 4
	case Float16:
		return 2
	case Uint8:
		return 1
	}
	return 0
}

// Tensor is a named n-dimensional array stored row-major (C order).
//
// Name is a hierarchical scope path such as "/group1/block0/conv1/weights";
// names are unique within a checkpoint. A scalar has an empty Shape.
type Tensor struct {
	Name  string
	DType DType
	Shape []int

	data []byte // little-endian elements, row-major
}

// NewTensor returns a tensor of the given dtype holding a copy of data, the
// little-endian row-major bytes of its elements. It is the generic form of
// the typed constructors, for code that already holds raw tensor bytes.
// Whether len(data) fits dtype and shape is checked when the tensor is
// written or read back.
func NewTensor(name string, dtype DType, shape []int, data []byte) *Tensor {
	return &Tensor{Name: name, DType: dtype, Shape: cloneShape(shape), data: append([]byte(nil), data...)}
}

// NewFloat32 returns a float32 tensor holding a copy of values. A mismatch
// between len(values) and shape is reported when the tensor is written.
func NewFloat32(name string, shape []int, values []float32) *Tensor {
	return newTensor(name, Float32, shape, values, func(b []byte, v float32) {
		binary.LittleEndian.PutUint32(b, math.Float32bits(v))
	})
}

// NewFloat64 returns a float64 tensor holding a copy of values.
func NewFloat64(name string, shape []int, values []float64) *Tensor {
	return newTensor(name, Float64, shape, values, func(b []byte, v float64) {
		binary.LittleEndian.PutUint64(b, math.Float64bits(v))
	})
}

// NewInt64 returns an int64 tensor holding a copy of values.
func NewInt64(name string, shape []int, values []int64) *Tensor {
	return newTensor(name, Int64, shape, values, func(b []byte, v int64) {
		binary.LittleEndian.PutUint64(b, uint64(v))
	})
}

// NewInt32 returns an int32 tensor holding a copy of values.
func NewInt32(name string, shape []int, values []int32) *Tensor {
	return newTensor(name, Int32, shape, values, func(b []byte, v int32) {
		binary.LittleEndian.PutUint32(b, uint32(v))
	})
}

// NewUint64 returns a uint64 tensor holding a copy of values.
func NewUint64(name string, shape []int, values []uint64) *Tensor {
	return newTensor(name, Uint64, shape, values, binary.LittleEndian.PutUint64)
}

// NewUint8 returns a uint8 tensor holding a copy of values.
func NewUint8(name string, shape []int, values []uint8) *Tensor {
	return &Tensor{Name: name, DType: Uint8, Shape: cloneShape(shape), data: append([]byte(nil), values...)}
}

func newTensor[T any](name string, dtype DType, shape []int, values []T, put func([]byte, T)) *Tensor {
	size := dtype.Size()
	data := make([]byte, len(values)*size)
	for i, v := range values {
		put(data[i*size:], v)
	}
	return &Tensor{Name: name, DType: dtype, Shape: cloneShape(shape), data: data}
}

// cloneShape copies shape, mapping nil to an empty (scalar) shape so that
// the header always says "shape": [] rather than null.
func cloneShape(shape []int) []int {
	return append([]int{}, shape...)
}

// NumElements is the product of the shape's dimensions (1 for a scalar).
// It is -1 if a dimension is negative or the product overflows an int.
func (t *Tensor) NumElements() int {
	return numElements(t.Shape, math.MaxInt)
}

// numElements returns the product of shape, or -1 if a dimension is
// negative or the product exceeds limit.
func numElements(shape []int, limit int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		if d != 0 && n > limit/d {
			return -1
		}
		n *= d
	}
	if n > limit {
		return -1
	}
	return n
}

// validate checks that the tensor's dtype is known and its data holds
// exactly the elements its shape calls for.
func (t *Tensor) validate() error {
	size := t.DType.Size()
	if size == 0 {
		return fmt.Errorf("tensor %q: unknown dtype %q", t.Name, t.DType)
	}
	n := numElements(t.Shape, math.MaxInt/size)
	if n < 0 {
		return fmt.Errorf("tensor %q: invalid shape %v", t.Name, t.Shape)
	}
	if len(t.data) != n*size {
		return fmt.Errorf("tensor %q: shape %v of %s needs %d bytes (%d elements), has %d bytes",
			t.Name, t.Shape, t.DType, n*size, n, len(t.data))
	}
	return nil
}

// Bytes returns a copy of the tensor's stored elements: little-endian,
// row-major, in the tensor's DType.
func (t *Tensor) Bytes() []byte {
	return append([]byte(nil), t.data...)
}

// Float32s returns the tensor's values as float32. Float16 tensors are
// widened exactly; other dtypes are an error, since narrowing float64 or
// integers would silently lose values.
func (t *Tensor) Float32s() ([]float32, error) {
	switch t.DType {
	case Float32:
		return decode(t, func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) })
	case Float16:
		return decode(t, func(b []byte) float32 { return halfToFloat32(binary.LittleEndian.Uint16(b)) })
	}
	return nil, t.convError("float32")
}

// Float64s returns the tensor's values as float64, widening float32 and
// float16 tensors exactly.
func (t *Tensor) Float64s() ([]float64, error) {
	switch t.DType {
	case Float64:
		return decode(t, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) })
	case Float32:
		return decode(t, func(b []byte) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) })
	case Float16:
		return decode(t, func(b []byte) float64 { return float64(halfToFloat32(binary.LittleEndian.Uint16(b))) })
	}
	return nil, t.convError("float64")
}

// Int64s returns the tensor's values as int64, widening int32 and uint8
// tensors.
func (t *Tensor) Int64s() ([]int64, error) {
	switch t.DType {
	case Int64:
		return decode(t, func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) })
	case Int32:
		return decode(t, func(b []byte) int64 { return int64(int32(binary.LittleEndian.Uint32(b))) })
	case Uint8:
		return decode(t, func(b []byte) int64 { return int64(b[0]) })
	}
	return nil, t.convError("int64")
}

// Int32s returns the values of an int32 tensor.
func (t *Tensor) Int32s() ([]int32, error) {
	if t.DType != Int32 {
		return nil, t.convError("int32")
	}
	return decode(t, func(b []byte) int32 { return int32(binary.LittleEndian.Uint32(b)) })
}

// Uint64s returns the values of a uint64 tensor.
func (t *Tensor) Uint64s() ([]uint64, error) {
	if t.DType != Uint64 {
		return nil, t.convError("uint64")
	}
	return decode(t, binary.LittleEndian.Uint64)
}

// Uint8s returns a copy of the values of a uint8 tensor.
func (t *Tensor) Uint8s() ([]uint8, error) {
	if t.DType != Uint8 {
		return nil, t.convError("uint8")
	}
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return t.Bytes(), nil
}

func (t *Tensor) convError(want string) error {
	return fmt.Errorf("checkpoint: tensor %q holds %s values, which cannot be read as %s", t.Name, t.DType, want)
}

func decode[T any](t *Tensor, get func([]byte) T) ([]T, error) {
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	size := t.DType.Size()
	out := make([]T, len(t.data)/size)
	for i := range out {
		out[i] = get(t.data[i*size:])
	}
	return out, nil
}
