package matfile

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// Hand-built fixtures. They follow the MAT-File Format document directly and
// share no code with the package's encoder.

// byteOrder is implemented by binary.LittleEndian and binary.BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// headerBytes returns a 128-byte level-5 header: text, a subsystem offset,
// version 0x0100 and the endian indicator, all in the given byte order.
func headerBytes(order byteOrder, text string, subsys uint64) []byte {
	h := make([]byte, 128)
	copy(h, text+strings.Repeat(" ", 116-len(text)))
	order.PutUint64(h[116:], subsys)
	order.PutUint16(h[124:], 0x0100)
	if order == binary.LittleEndian {
		copy(h[126:], "IM")
	} else {
		copy(h[126:], "MI")
	}
	return h
}

// builder assembles data elements in one byte order.
type builder struct{ order byteOrder }

// elem is a regular data element: 8-byte tag, payload, padding to 8.
func (b builder) elem(typ uint32, payload []byte) []byte {
	out := b.order.AppendUint32(nil, typ)
	out = b.order.AppendUint32(out, uint32(len(payload)))
	out = append(out, payload...)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	return out
}

// small is a small data element: byte count and type packed in 4 bytes,
// then the (at most 4) data bytes, padded to 8.
func (b builder) small(typ uint32, payload []byte) []byte {
	out := b.order.AppendUint32(nil, uint32(len(payload))<<16|typ)
	out = append(out, payload...)
	return append(out, make([]byte, 4-len(payload))...)
}

func (b builder) u32s(v ...uint32) []byte {
	var out []byte
	for _, x := range v {
		out = b.order.AppendUint32(out, x)
	}
	return out
}

// matrix is an miMATRIX element with the given flags word, dimensions,
// name and trailing subelements.
func (b builder) matrix(flags uint32, dims []uint32, name string, rest ...[]byte) []byte {
	payload := b.elem(6, b.u32s(flags, 0))
	payload = append(payload, b.elem(5, b.u32s(dims...))...)
	if len(name) > 0 && len(name) <= 4 {
		payload = append(payload, b.small(1, []byte(name))...)
	} else {
		payload = append(payload, b.elem(1, []byte(name))...)
	}
	for _, r := range rest {
		payload = append(payload, r...)
	}
	return b.elem(14, payload)
}

// literalLE is x = [1 2; 3 4] as a double array whose values are stored as
// miUINT8, with its name and data in small data elements, little-endian.
var literalLE = []byte{
	0x0e, 0, 0, 0, 0x30, 0, 0, 0, // miMATRIX, 48 bytes
	6, 0, 0, 0, 8, 0, 0, 0, // miUINT32, 8 bytes: array flags
	6, 0, 0, 0, 0, 0, 0, 0, // class double, no flags; nzmax 0
	5, 0, 0, 0, 8, 0, 0, 0, // miINT32, 8 bytes: dimensions
	2, 0, 0, 0, 2, 0, 0, 0, // 2 x 2
	1, 0, 1, 0, 'x', 0, 0, 0, // small miINT8, 1 byte: name "x"
	2, 0, 4, 0, 1, 3, 2, 4, // small miUINT8, 4 bytes: column-major values
}

// literalBE is the same variable, big-endian.
var literalBE = []byte{
	0, 0, 0, 0x0e, 0, 0, 0, 0x30,
	0, 0, 0, 6, 0, 0, 0, 8,
	0, 0, 0, 6, 0, 0, 0, 0,
	0, 0, 0, 5, 0, 0, 0, 8,
	0, 0, 0, 2, 0, 0, 0, 2,
	0, 1, 0, 1, 'x', 0, 0, 0,
	0, 4, 0, 2, 1, 3, 2, 4,
}

func literalFile(order byteOrder) []byte {
	body := literalLE
	if order == binary.BigEndian {
		body = literalBE
	}
	return append(headerBytes(order, "MATLAB 5.0 MAT-file, hand-built", 0), body...)
}

func mustRead(t *testing.T, b []byte) *File {
	t.Helper()
	f, err := Read(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return f
}

func TestReadHandBuiltBothByteOrders(t *testing.T) {
	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		t.Run(order.String(), func(t *testing.T) {
			f := mustRead(t, literalFile(order))
			if f.Header != "MATLAB 5.0 MAT-file, hand-built" {
				t.Errorf("Header = %q", f.Header)
			}
			if len(f.Vars) != 1 {
				t.Fatalf("%d variables, want 1", len(f.Vars))
			}
			x := f.Var("x")
			if x == nil || x.Class != Double || !reflect.DeepEqual(x.Dims, []int{2, 2}) {
				t.Fatalf("x = %+v, want a 2x2 double", x)
			}
			got, err := x.Float64s()
			if err != nil {
				t.Fatal(err)
			}
			if want := []float64{1, 3, 2, 4}; !reflect.DeepEqual(got, want) {
				t.Errorf("values = %v, want %v", got, want)
			}
			// MATLAB's x(2,1) is 3 and x(1,2) is 2.
			if v := got[x.Offset(1, 0)]; v != 3 {
				t.Errorf("x(2,1) = %v, want 3", v)
			}
			if v := got[x.Offset(0, 1)]; v != 2 {
				t.Errorf("x(1,2) = %v, want 2", v)
			}
		})
	}
}

// compressedElement wraps elements in a zlib-compressed miCOMPRESSED element.
func compressedElement(order byteOrder, inner []byte) []byte {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(inner)
	zw.Close()
	out := order.AppendUint32(nil, 15)
	out = order.AppendUint32(out, uint32(z.Len()))
	return append(out, z.Bytes()...)
}

func TestReadCompressedAndConvertedTypes(t *testing.T) {
	b := builder{binary.LittleEndian}
	// int16 values stored as miINT8, inside an miCOMPRESSED element.
	neg := b.matrix(10, []uint32{1, 3}, "neg", b.small(1, []byte{0xff, 5, 0x80}))
	// char stored as miUTF8: 5 characters in 6 bytes.
	word := b.matrix(4, []uint32{1, 5}, "word", b.elem(16, []byte("héllo")))
	// logical (uint8 class with the logical flag) and global.
	mask := b.matrix(9|0x0200|0x0400, []uint32{2, 1}, "mask", b.small(2, []byte{1, 0}))
	// single values stored as miINT32 (big values survive the conversion).
	s := b.matrix(7, []uint32{1, 2}, "s", b.elem(5, b.u32s(uint32(1<<24), math.MaxUint32)))
	// complex double stored as miINT16 (real) and miDOUBLE (imaginary).
	imag := b.order.AppendUint64(nil, math.Float64bits(0.5))
	z := b.matrix(6|0x0800, []uint32{1, 1}, "z", b.small(3, []byte{0xfe, 0xff}), b.elem(9, imag))

	file := headerBytes(binary.LittleEndian, "MATLAB 5.0 MAT-file", 0)
	file = append(file, compressedElement(binary.LittleEndian, neg)...)
	file = append(file, word...)
	file = append(file, mask...)
	file = append(file, compressedElement(binary.LittleEndian, append(s, z...))...)
	f := mustRead(t, file)

	var names []string
	for _, v := range f.Vars {
		names = append(names, v.Name)
	}
	if want := []string{"neg", "word", "mask", "s", "z"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("variables %v, want %v", names, want)
	}
	if got := f.Var("neg").Real; !reflect.DeepEqual(got, []int16{-1, 5, -128}) {
		t.Errorf("neg = %#v, want []int16{-1, 5, -128}", got)
	}
	if got, err := f.Var("word").Text(); err != nil || got != "héllo" {
		t.Errorf("word = %q, %v; want héllo", got, err)
	}
	m := f.Var("mask")
	if !m.Logical || !m.Global || m.Class != Uint8 || !reflect.DeepEqual(m.Real, []uint8{1, 0}) {
		t.Errorf("mask = %+v, want global logical [1 0]", m)
	}
	if got := f.Var("s").Real; !reflect.DeepEqual(got, []float32{1 << 24, -1}) {
		t.Errorf("s = %#v, want []float32{16777216, -1}", got)
	}
	zv := f.Var("z")
	if !reflect.DeepEqual(zv.Real, []float64{-2}) || !reflect.DeepEqual(zv.Imag, []float64{0.5}) {
		t.Errorf("z = %v + %vi, want -2 + 0.5i", zv.Real, zv.Imag)
	}
}

func TestReadStructAndCellBigEndian(t *testing.T) {
	b := builder{binary.BigEndian}
	// s.a = 7 (double stored as miUINT8); s.bb = 'hi' (char as miUINT16).
	// MATLAB pads field names to 32 bytes.
	names := make([]byte, 64)
	copy(names, "a")
	copy(names[32:], "bb")
	fa := b.matrix(6, []uint32{1, 1}, "", b.small(2, []byte{7}))
	fbb := b.matrix(4, []uint32{1, 2}, "", b.small(4, []byte{0, 'h', 0, 'i'}))
	st := b.matrix(2, []uint32{1, 1}, "s", b.small(5, b.u32s(32)), b.elem(1, names), fa, fbb)
	// c = {int32(9), []}: the empty element is a bare miMATRIX tag.
	c9 := b.matrix(12, []uint32{1, 1}, "", b.small(5, b.u32s(9)))
	empty := b.elem(14, nil)
	cell := b.matrix(1, []uint32{1, 2}, "c", c9, empty)

	file := append(headerBytes(binary.BigEndian, "MATLAB 5.0 MAT-file", 0), st...)
	f := mustRead(t, append(file, cell...))

	s := f.Var("s")
	if s == nil || s.Class != Struct || !reflect.DeepEqual(s.Fields, []string{"a", "bb"}) {
		t.Fatalf("s = %+v, want a struct with fields a, bb", s)
	}
	a, err := s.Field("a", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Float64s(); !reflect.DeepEqual(got, []float64{7}) {
		t.Errorf("s.a = %v, want [7]", got)
	}
	bb, err := s.Field("bb", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := bb.Text(); got != "hi" {
		t.Errorf("s.bb = %q, want hi", got)
	}
	if _, err := s.Field("zz", 0); err == nil {
		t.Error("Field of a missing name succeeded")
	}

	c := f.Var("c")
	if c == nil || c.Class != Cell || len(c.Elems) != 2 {
		t.Fatalf("c = %+v, want a 1x2 cell", c)
	}
	if !reflect.DeepEqual(c.Elems[0].Real, []int32{9}) {
		t.Errorf("c{1} = %#v, want int32 9", c.Elems[0].Real)
	}
	if e := c.Elems[1]; e.Len() != 0 || !reflect.DeepEqual(e.Dims, []int{0, 0}) {
		t.Errorf("c{2} = %+v, want an empty 0x0 array", e)
	}
}

func TestReadSkipsSubsystemDataAndKeepsSparseClass(t *testing.T) {
	b := builder{binary.LittleEndian}
	// A sparse 3x3 array: flags, dims, name, then ir/jc/pr that are not read.
	sp := b.matrix(5, []uint32{3, 3}, "sp", b.elem(5, b.u32s(0)), b.elem(5, b.u32s(0, 1, 1, 1)), b.elem(9, make([]byte, 8)))
	sub := b.matrix(9, []uint32{1, 8}, "", b.elem(2, []byte("subsys!!")))
	hdr := headerBytes(binary.LittleEndian, "MATLAB 5.0 MAT-file", uint64(128+len(sp)))
	f := mustRead(t, append(append(hdr, sp...), sub...))
	if len(f.Vars) != 1 {
		t.Fatalf("%d variables, want 1 (subsystem data skipped)", len(f.Vars))
	}
	v := f.Vars[0]
	if v.Name != "sp" || v.Class != Sparse || !reflect.DeepEqual(v.Dims, []int{3, 3}) {
		t.Errorf("variable = %+v, want sparse 3x3 sp", v)
	}
	if _, err := v.Float64s(); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("Float64s of a sparse array: %v, want a not-supported error", err)
	}
}

func TestReadRejectsV73(t *testing.T) {
	h := headerBytes(binary.LittleEndian, "MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 .", 512)
	binary.LittleEndian.PutUint16(h[124:], 0x0200)
	v73 := append(h, make([]byte, 384)...)
	v73 = append(v73, hdf5Signature...)
	if _, err := Read(bytes.NewReader(v73)); !errors.Is(err, ErrHDF5) {
		t.Errorf("v7.3 file: %v, want ErrHDF5", err)
	}
	plain := append(append([]byte(nil), hdf5Signature...), make([]byte, 200)...)
	if _, err := Read(bytes.NewReader(plain)); !errors.Is(err, ErrHDF5) {
		t.Errorf("HDF5 file: %v, want ErrHDF5", err)
	}
	if !strings.Contains(ErrHDF5.Error(), "v7.3") || !strings.Contains(ErrHDF5.Error(), "HDF5") {
		t.Errorf("ErrHDF5 = %q should name v7.3 and HDF5", ErrHDF5)
	}
}

func TestReadRejectsBadHeader(t *testing.T) {
	good := literalFile(binary.LittleEndian)
	cases := []struct {
		name string
		edit func([]byte)
		want string
	}{
		{"endian", func(b []byte) { copy(b[126:], "XY") }, "endian indicator"},
		{"version", func(b []byte) { b[124], b[125] = 0, 3 }, "version"},
		{"level4", func(b []byte) { b[0] = 0 }, "level-4"},
	}
	for _, c := range cases {
		b := append([]byte(nil), good...)
		c.edit(b)
		_, err := Read(bytes.NewReader(b))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", c.name, err, c.want)
		}
	}
	if _, err := Read(bytes.NewReader(good[:50])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("50-byte header: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestReadTruncatedFails(t *testing.T) {
	file := literalFile(binary.LittleEndian)
	for _, cut := range []int{128 + 4, 128 + 20, len(file) - 3} {
		if _, err := Read(bytes.NewReader(file[:cut])); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d of %d: %v, want io.ErrUnexpectedEOF", cut, len(file), err)
		}
	}
	var buf bytes.Buffer
	a, _ := NewArray("v", []int{100, 1}, make([]float64, 100))
	if err := WriteCompressed(&buf, a); err != nil {
		t.Fatal(err)
	}
	comp := buf.Bytes()
	for _, cut := range []int{128 + 6, 128 + 12, len(comp) - 1} {
		if _, err := Read(bytes.NewReader(comp[:cut])); err == nil {
			t.Errorf("compressed file cut at %d of %d: no error", cut, len(comp))
		}
	}
	// A flipped byte of the zlib checksum.
	bad := append([]byte(nil), comp...)
	bad[len(bad)-1] ^= 0xff
	if _, err := Read(bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("bad zlib checksum: %v, want a checksum error", err)
	}
}

func TestReadLyingSizeAllocatesLittle(t *testing.T) {
	b := builder{binary.LittleEndian}
	file := headerBytes(binary.LittleEndian, "MATLAB 5.0 MAT-file", 0)
	file = append(file, b.u32s(14, 0xfffffff0)...) // claims ~4 GiB
	file = append(file, make([]byte, 64)...)
	// A cell claiming 2^30 elements in a few bytes.
	file2 := headerBytes(binary.LittleEndian, "MATLAB 5.0 MAT-file", 0)
	file2 = append(file2, b.matrix(1, []uint32{1 << 15, 1 << 15}, "c")...)
	for i, f := range [][]byte{file, file2} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Read(bytes.NewReader(f))
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("file %d: no error", i)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
			t.Errorf("file %d: allocated %d bytes for a %d-byte file", i, alloc, len(f))
		}
	}
}

// allClasses returns one variable of every class Write supports.
func allClasses(t *testing.T) []*Array {
	t.Helper()
	must := func(a *Array, err error) *Array {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cplx := must(NewArray("cplx", []int{1, 2}, []float64{1, -2}))
	cplx.Imag = []float64{0.25, math.Inf(1)}
	glob := must(NewArray("glob", []int{1, 1}, []int32{-7}))
	glob.Global = true
	obj := must(NewStruct("obj", []int{1, 1}, []string{"v"}, must(NewArray("", []int{1, 1}, []float64{3}))))
	obj.Class, obj.ClassName = Object, "myclass"
	return []*Array{
		must(NewArray("d", []int{2, 3}, []float64{1, 2, 3, 4.5, math.NaN(), -0.0})),
		must(NewArray("f", []int{1, 2}, []float32{1.5, -3})),
		must(NewArray("i8", []int{1, 2}, []int8{math.MinInt8, math.MaxInt8})),
		must(NewArray("u8", []int{2, 2, 2}, []uint8{0, 1, 2, 3, 4, 5, 6, 255})),
		must(NewArray("i16", []int{1, 1}, []int16{math.MinInt16})),
		must(NewArray("u16", []int{1, 3}, []uint16{1, 2, math.MaxUint16})),
		must(NewArray("i32", []int{1, 1}, []int32{math.MinInt32})),
		must(NewArray("u32", []int{1, 1}, []uint32{math.MaxUint32})),
		must(NewArray("i64", []int{1, 2}, []int64{math.MinInt64, math.MaxInt64})),
		must(NewArray("u64", []int{1, 1}, []uint64{math.MaxUint64})),
		must(NewArray("b", []int{1, 3}, []bool{true, false, true})),
		must(NewArray("empty", []int{0, 0}, []float64{})),
		NewChar("txt", "naïve 🌼"),
		cplx, glob, obj,
		must(NewCell("c", []int{2, 1}, NewChar("", "a"), must(NewCell("", []int{1, 1}, must(NewArray("", []int{1, 1}, []uint8{9})))))),
		must(NewStruct("st", []int{1, 2}, []string{"x", "name"},
			must(NewArray("", []int{1, 1}, []float64{1})), NewChar("", "first"),
			must(NewArray("", []int{1, 1}, []float64{2})), NewChar("", "second"))),
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	for _, compress := range []bool{false, true} {
		vars := allClasses(t)
		var buf bytes.Buffer
		write := Write
		if compress {
			write = WriteCompressed
		}
		if err := write(&buf, vars...); err != nil {
			t.Fatalf("compress=%v: %v", compress, err)
		}
		f := mustRead(t, buf.Bytes())
		if len(f.Vars) != len(vars) {
			t.Fatalf("compress=%v: read %d variables, wrote %d", compress, len(f.Vars), len(vars))
		}
		for i, want := range vars {
			got := f.Vars[i]
			// NaN != NaN, so compare the bits of float64 data.
			if w, ok := want.Real.([]float64); ok {
				g, _ := got.Real.([]float64)
				if len(g) != len(w) {
					t.Errorf("compress=%v %s: %d values, want %d", compress, want.Name, len(g), len(w))
					continue
				}
				for j := range w {
					if math.Float64bits(g[j]) != math.Float64bits(w[j]) {
						t.Errorf("compress=%v %s[%d] = %v, want %v", compress, want.Name, j, g[j], w[j])
					}
				}
				got.Real, want.Real = nil, nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("compress=%v: read %+v, wrote %+v", compress, got, want)
			}
		}
	}
	txt, _ := NewChar("", "naïve 🌼").Text()
	if txt != "naïve 🌼" {
		t.Errorf("char round trip through UTF-16 = %q", txt)
	}
}

func TestWriteMatchesHandBuiltBytes(t *testing.T) {
	// x = uint8([1 2; 3 4]): the literal fixture with class uint8 and the
	// writer's header; name and data must use small data elements.
	want := append([]byte(nil), literalLE...)
	want[16] = 9 // class uint8
	a, err := NewArray("x", []int{2, 2}, []uint8{1, 3, 2, 4})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, a); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	if !bytes.HasPrefix(got, []byte(headerText)) || string(got[126:128]) != "IM" || got[124] != 0 || got[125] != 1 {
		t.Errorf("header = %q", got[:128])
	}
	if !bytes.Equal(got[128:], want) {
		t.Errorf("body =\n% x\nwant\n% x", got[128:], want)
	}
}

func TestWriteRejectsInvalidArrays(t *testing.T) {
	cases := map[string]*Array{
		"wrong type":  {Name: "a", Class: Double, Dims: []int{1, 1}, Real: []float32{1}},
		"wrong count": {Name: "a", Class: Double, Dims: []int{2, 2}, Real: []float64{1}},
		"one dim":     {Name: "a", Class: Double, Dims: []int{1}, Real: []float64{1}},
		"sparse":      {Name: "a", Class: Sparse, Dims: []int{1, 1}},
		"logical i32": {Name: "a", Class: Int32, Logical: true, Dims: []int{1, 1}, Real: []int32{1}},
		"nil cell":    {Name: "a", Class: Cell, Dims: []int{1, 1}, Elems: []*Array{nil}},
		"bad field":   {Name: "a", Class: Struct, Dims: []int{1, 1}, Fields: []string{""}, Elems: []*Array{NewChar("", "")}},
	}
	for name, a := range cases {
		if err := Write(io.Discard, a); err == nil {
			t.Errorf("%s: Write succeeded", name)
		}
	}
	if _, err := NewArray("a", []int{2, 2}, []float64{1, 2, 3}); err == nil {
		t.Error("NewArray with 3 values for 2x2 succeeded")
	}
	if _, err := NewArray("a", []int{1, 1}, []string{"no"}); err == nil {
		t.Error("NewArray of []string succeeded")
	}
}

func TestAccessorsConvertAndCheck(t *testing.T) {
	d, _ := NewArray("d", []int{1, 3}, []float64{1, 255, 7})
	u8, err := d.Uint8s()
	if err != nil || !reflect.DeepEqual(u8, []uint8{1, 255, 7}) {
		t.Errorf("Uint8s = %v, %v; want [1 255 7]", u8, err)
	}
	ints, err := d.Ints()
	if err != nil || !reflect.DeepEqual(ints, []int{1, 255, 7}) {
		t.Errorf("Ints = %v, %v; want [1 255 7]", ints, err)
	}
	frac, _ := NewArray("frac", []int{1, 1}, []float64{1.5})
	if _, err := frac.Ints(); err == nil {
		t.Error("Ints of 1.5 succeeded")
	}
	big, _ := NewArray("big", []int{1, 1}, []float64{256})
	if _, err := big.Uint8s(); err == nil {
		t.Error("Uint8s of 256 succeeded")
	}
	huge, _ := NewArray("huge", []int{1, 1}, []uint64{math.MaxUint64})
	if _, err := huge.Ints(); err == nil {
		t.Error("Ints of MaxUint64 succeeded")
	}
	i16, _ := NewArray("i16", []int{1, 2}, []int16{-3, 4})
	if f, err := i16.Float64s(); err != nil || !reflect.DeepEqual(f, []float64{-3, 4}) {
		t.Errorf("Float64s of int16 = %v, %v", f, err)
	}
	raw := []uint8{1, 2}
	u, _ := NewArray("u", []int{1, 2}, raw)
	if got, _ := u.Uint8s(); &got[0] != &raw[0] {
		t.Error("Uint8s of a uint8 array copied its storage")
	}
	if _, err := d.Text(); err == nil {
		t.Error("Text of a double array succeeded")
	}
	c, _ := NewCell("c", []int{1, 1}, d)
	if _, err := c.Float64s(); err == nil {
		t.Error("Float64s of a cell succeeded")
	}
}

func TestOffsetIsColumnMajor(t *testing.T) {
	a := &Array{Dims: []int{2, 3, 4}}
	if s := a.Strides(); !reflect.DeepEqual(s, []int{1, 2, 6}) {
		t.Errorf("Strides = %v, want [1 2 6]", s)
	}
	if o := a.Offset(1, 2, 3); o != 1+2*2+3*6 {
		t.Errorf("Offset(1,2,3) = %d, want 23", o)
	}
	if a.Len() != 24 {
		t.Errorf("Len = %d, want 24", a.Len())
	}
	for _, sub := range [][]int{{2, 0, 0}, {0, 0}, {0, -1, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Offset%v did not panic", sub)
				}
			}()
			a.Offset(sub...)
		}()
	}
}
