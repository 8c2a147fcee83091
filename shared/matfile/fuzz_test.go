package matfile

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzRead checks that Read never panics and that whatever it accepts and
// Write can encode survives a second round trip byte for byte.
func FuzzRead(f *testing.F) {
	f.Add(literalFile(binary.LittleEndian))
	f.Add(literalFile(binary.BigEndian))
	for _, write := range []func(*bytes.Buffer, ...*Array) error{
		func(b *bytes.Buffer, v ...*Array) error { return Write(b, v...) },
		func(b *bytes.Buffer, v ...*Array) error { return WriteCompressed(b, v...) },
	} {
		var buf bytes.Buffer
		if err := write(&buf, allClasses(&testing.T{})...); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
		f.Add(buf.Bytes()[:buf.Len()/2]) // truncated
	}
	b := builder{binary.BigEndian}
	names := make([]byte, 8)
	copy(names, "a")
	st := b.matrix(2, []uint32{1, 1}, "s", b.small(5, b.u32s(8)), b.elem(1, names), b.matrix(6, []uint32{1, 1}, "", b.small(2, []byte{7})))
	f.Add(append(headerBytes(binary.BigEndian, "MATLAB 5.0 MAT-file", 0), st...))
	v73 := headerBytes(binary.LittleEndian, "MATLAB 7.3 MAT-file", 512)
	f.Add(v73)
	bad := literalFile(binary.LittleEndian)
	copy(bad[126:], "XX")
	f.Add(bad)

	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, v := range file.Vars {
			// Accessors must not panic on anything Read returns.
			v.Float64s()
			v.Ints()
			v.Uint8s()
			v.Text()
			v.Len()
			v.Strides()
		}
		var first bytes.Buffer
		if err := Write(&first, file.Vars...); err != nil {
			return // e.g. sparse or one-dimensional arrays
		}
		again, err := Read(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("re-reading written file: %v", err)
		}
		var second bytes.Buffer
		if err := Write(&second, again.Vars...); err != nil {
			t.Fatalf("re-writing: %v", err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("round trip changed the encoding")
		}
	})
}
