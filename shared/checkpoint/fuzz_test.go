package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"testing"
	"time"
)

// FuzzRead feeds arbitrary bytes to the readers. Beyond not panicking, it
// checks that Read and ReadBytes agree and that whatever reads successfully
// writes back and reads again to the same checkpoint. Each input is tried
// twice: as given, and with its trailer set to the right checksum, so that
// the fuzzer gets past the checksum into the header and tensor table.
func FuzzRead(f *testing.F) {
	// Seeds stay small: the fuzzer's minimizer is quadratic in input size.
	small := &Checkpoint{
		Meta: Meta{Arch: Arch{Name: "WRN-10-1", Depth: 10}, Hyper: map[string]any{"eps": 0.5}, Created: time.Unix(0, 0).UTC()},
		Tensors: []*Tensor{
			NewFloat32("/w", []int{2, 1}, []float32{1, -2}),
			NewInt64("/s", nil, []int64{7}),
			NewUint8("/e", []int{0}, nil),
		},
	}
	f.Add(mustWrite(f, small))
	f.Add(mustWrite(f, small, WithFloat16()))
	f.Add(mustWrite(f, &Checkpoint{}))
	f.Add(rawFile(`{"tensors":[{"name":"/a","dtype":"float32","shape":[1],"offset":0,"length":4,"crc32":0}]}`, make([]byte, 4)))
	f.Add(rawFile(`{"tensors":[{"name":"/a","dtype":"int64","shape":[-1,-1],"offset":0,"length":8}]}`, make([]byte, 8)))
	f.Add(rawFile(`{"meta":{"hyper":{"a":[1,{"b":null}]},"created":"2025-01-01T00:00:00+01:00"},"tensors":null}`, nil))
	f.Add(rawFile(`{"tensors":[`, nil))
	f.Add([]byte("ARTCKPT\x00\x01\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Add([]byte("ARTCKPT\x00\x01\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\x7f"))
	f.Add([]byte("ARTCKPT"))
	f.Add([]byte("not a checkpoint"))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, b []byte) {
		checkRead(t, b)
		if len(b) >= preambleLen+trailerLen {
			fixed := bytes.Clone(b)
			end := len(fixed) - trailerLen
			binary.LittleEndian.PutUint32(fixed[end:], crc32.ChecksumIEEE(fixed[:end]))
			checkRead(t, fixed)
		}
	})
}

func checkRead(t *testing.T, b []byte) {
	r := bytes.NewReader(b)
	c, err := Read(r)
	cb, errb := ReadBytes(b)
	// Read stops at the checkpoint's end; ReadBytes also rejects what follows.
	if consumed := len(b) - r.Len(); err == nil && consumed == len(b) {
		if errb != nil {
			t.Fatalf("Read succeeded, ReadBytes failed: %v", errb)
		}
		assertSameMeta(t, cb.Meta, c.Meta)
		assertSameTensors(t, cb.Tensors, c.Tensors)
	} else if errb == nil {
		t.Fatalf("ReadBytes succeeded, Read failed (%v) or stopped after %d of %d bytes", err, consumed, len(b))
	}
	if err != nil {
		return
	}

	var buf bytes.Buffer
	if err := Write(&buf, c); err != nil {
		t.Fatalf("writing back a checkpoint that was read: %v", err)
	}
	again, err := ReadBytes(buf.Bytes())
	if err != nil {
		t.Fatalf("reading back a checkpoint that was written: %v", err)
	}
	assertSameMeta(t, again.Meta, c.Meta)
	assertSameTensors(t, again.Tensors, c.Tensors)
}

// assertSameMeta compares metadata by its JSON, which is what the format
// stores (a time's zone may differ in representation, not in value).
func assertSameMeta(t *testing.T, got, want Meta) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Fatalf("meta = %s, want %s", g, w)
	}
}
