package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

var negZero = float32(math.Copysign(0, -1))

// sampleMeta fills every metadata field.
func sampleMeta() Meta {
	return Meta{
		Arch:          Arch{Name: "WRN-10-1", Depth: 10, Width: 1, NumClasses: 3, InputSize: 32, Channels: 3},
		Activation:    "softplus",
		Normalization: Normalization{Mean: []float32{0.4914, 0.4822, 0.4465}, Std: []float32{0.247, 0.2435, 0.2616}},
		ClassNames:    []string{"circle", "square", "triangle"},
		Dataset:       "shapes",
		Method:        "art",
		Hyper: map[string]any{
			"epsilon":       8.0 / 255,
			"batch_size":    128.0,
			"optimizer":     "sgd",
			"nesterov":      true,
			"milestones":    []any{50.0, 75.0},
			"softplus_beta": 10.0,
		},
		Metrics:  map[string]float64{"clean_accuracy": 0.875, "top_k_intersection": 0.4321},
		Training: Training{Step: 123456, Epoch: 42, Seed: -7},
		Created:  time.Date(2025, 11, 25, 4, 28, 0, 123, time.UTC),
		Notes:    "résumé: «unicode» and \"quotes\"\nsecond line",
	}
}

// sampleCheckpoint holds one tensor of every dtype, special float values, a
// scalar and an empty tensor.
func sampleCheckpoint() *Checkpoint {
	nanPayload := math.Float32frombits(0x7fc0_1234)
	return &Checkpoint{
		Meta: sampleMeta(),
		Tensors: []*Tensor{
			NewFloat32("/stem/conv/weights", []int{2, 1, 1, 3}, []float32{
				1.5, negZero, float32(math.Inf(1)), float32(math.Inf(-1)), nanPayload, math.SmallestNonzeroFloat32,
			}),
			NewFloat64("/f64", []int{3}, []float64{math.Pi, -math.MaxFloat64, math.Copysign(0, -1)}),
			NewInt64("/train/step", []int{}, []int64{math.MinInt64}),
			NewInt64("/ints", []int{2, 2}, []int64{math.MaxInt64, -1, 0, 1 << 40}),
			NewInt32("/i32", []int{2}, []int32{math.MinInt32, math.MaxInt32}),
			NewUint64("/train/rng_state", []int{3}, []uint64{math.MaxUint64, 0, 0x0123456789abcdef}),
			NewUint8("/u8", []int{5}, []uint8{0, 1, 127, 128, 255}),
			NewFloat32("/empty", []int{0, 3}, nil),
		},
	}
}

func mustWrite(t testing.TB, c *Checkpoint, opts ...Option) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, c, opts...); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// assertSameTensors requires the same names, dtypes, shapes and stored bytes
// in the same order.
func assertSameTensors(t *testing.T, got, want []*Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.DType != w.DType || !reflect.DeepEqual(g.Shape, w.Shape) || !bytes.Equal(g.data, w.data) {
			t.Errorf("tensor %d = %s %s %v % x, want %s %s %v % x", i, g.Name, g.DType, g.Shape, g.data, w.Name, w.DType, w.Shape, w.data)
		}
	}
}

func TestRoundTripIsBitExact(t *testing.T) {
	want := sampleCheckpoint()
	got, err := ReadBytes(mustWrite(t, want))
	if err != nil {
		t.Fatalf("ReadBytes: %v", err)
	}
	if !reflect.DeepEqual(got.Meta, want.Meta) {
		t.Errorf("meta = %#v\nwant %#v", got.Meta, want.Meta)
	}
	assertSameTensors(t, got.Tensors, want.Tensors)

	w, _ := got.Tensor("/stem/conv/weights")
	f, err := w.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	if f[0] != 1.5 || !math.Signbit(float64(f[1])) || f[1] != 0 || !math.IsInf(float64(f[2]), 1) ||
		!math.IsInf(float64(f[3]), -1) || math.Float32bits(f[4]) != 0x7fc0_1234 || f[5] != math.SmallestNonzeroFloat32 {
		t.Errorf("float32 values = %v", f)
	}
	s, _ := got.Tensor("/train/step")
	if v, err := s.Int64s(); err != nil || len(v) != 1 || v[0] != math.MinInt64 || len(s.Shape) != 0 {
		t.Errorf("scalar = %v %v (shape %v), want [%d]", v, err, s.Shape, int64(math.MinInt64))
	}
	r, _ := got.Tensor("/train/rng_state")
	if v, err := r.Uint64s(); err != nil || !slices.Equal(v, []uint64{math.MaxUint64, 0, 0x0123456789abcdef}) {
		t.Errorf("uint64 values = %v, %v", v, err)
	}
}

func TestEmptyCheckpointRoundTrips(t *testing.T) {
	got, err := ReadBytes(mustWrite(t, &Checkpoint{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tensors) != 0 || !reflect.DeepEqual(got.Meta, Meta{}) {
		t.Errorf("got %+v, want an empty checkpoint", got)
	}
}

func TestReadFileReadAndReadBytesAgree(t *testing.T) {
	c := sampleCheckpoint()
	path := filepath.Join(t.TempDir(), "m.ckpt")
	if err := WriteFile(path, c); err != nil {
		t.Fatal(err)
	}
	b := mustWrite(t, c)
	fromFile, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fromReader, err := Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []*Checkpoint{fromFile, fromReader} {
		if !reflect.DeepEqual(got.Meta, c.Meta) {
			t.Errorf("meta differs: %#v", got.Meta)
		}
		assertSameTensors(t, got.Tensors, c.Tensors)
	}
}

func TestReadStopsAtTheEndOfTheCheckpoint(t *testing.T) {
	a := &Checkpoint{Meta: Meta{Notes: "first"}, Tensors: []*Tensor{NewFloat32("/x", []int{1}, []float32{1})}}
	b := &Checkpoint{Meta: Meta{Notes: "second"}}
	stream := bytes.NewReader(append(mustWrite(t, a), append(mustWrite(t, b), "tail"...)...))
	for _, want := range []string{"first", "second"} {
		c, err := Read(stream)
		if err != nil {
			t.Fatal(err)
		}
		if c.Meta.Notes != want {
			t.Errorf("notes = %q, want %q", c.Meta.Notes, want)
		}
	}
	if rest, _ := io.ReadAll(stream); string(rest) != "tail" {
		t.Errorf("left in the stream: %q, want \"tail\"", rest)
	}
}

func TestReadBytesDoesNotAliasInput(t *testing.T) {
	b := mustWrite(t, &Checkpoint{Tensors: []*Tensor{NewFloat32("/x", []int{2}, []float32{1, 2})}})
	c, err := ReadBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	x, _ := c.Tensor("/x")
	if v, _ := x.Float32s(); !slices.Equal(v, []float32{1, 2}) {
		t.Errorf("after clearing the input, values = %v, want [1 2]", v)
	}
}

func TestConstructorsCopyTheirInputs(t *testing.T) {
	shape, values := []int{2}, []float32{1, 2}
	x := NewFloat32("/x", shape, values)
	shape[0], values[0] = 5, 9
	if v, err := x.Float32s(); err != nil || !slices.Equal(v, []float32{1, 2}) || !slices.Equal(x.Shape, []int{2}) {
		t.Errorf("tensor = %v %v shape %v, want [1 2] shape [2]", v, err, x.Shape)
	}
	raw := []byte{1, 2, 3}
	u := NewTensor("/u", Uint8, []int{3}, raw)
	raw[0] = 7
	if v, _ := u.Uint8s(); !slices.Equal(v, []uint8{1, 2, 3}) {
		t.Errorf("NewTensor kept a reference: %v", v)
	}
}

func TestNewTensorMatchesTypedConstructor(t *testing.T) {
	typed := NewInt32("/a", []int{2}, []int32{-2, 300})
	raw := NewTensor("/a", Int32, []int{2}, []byte{0xfe, 0xff, 0xff, 0xff, 0x2c, 0x01, 0, 0})
	if !bytes.Equal(typed.Bytes(), raw.Bytes()) {
		t.Errorf("NewInt32 stores % x, want little-endian % x", typed.Bytes(), raw.Bytes())
	}
}

func TestAccessorsConvertOnlyWithoutLoss(t *testing.T) {
	f32 := NewFloat32("/f", []int{2}, []float32{0.1, -3})
	if v, err := f32.Float64s(); err != nil || !slices.Equal(v, []float64{float64(float32(0.1)), -3}) {
		t.Errorf("float32 as float64 = %v, %v", v, err)
	}
	i32 := NewInt32("/i", []int{2}, []int32{-5, 7})
	if v, err := i32.Int64s(); err != nil || !slices.Equal(v, []int64{-5, 7}) {
		t.Errorf("int32 as int64 = %v, %v", v, err)
	}
	u8 := NewUint8("/u", []int{2}, []uint8{200, 3})
	if v, err := u8.Int64s(); err != nil || !slices.Equal(v, []int64{200, 3}) {
		t.Errorf("uint8 as int64 = %v, %v", v, err)
	}
	for name, err := range map[string]error{
		"float64 as float32": second(NewFloat64("/d", []int{1}, []float64{1}).Float32s()),
		"int64 as int32":     second(NewInt64("/l", []int{1}, []int64{1}).Int32s()),
		"float32 as int64":   second(f32.Int64s()),
		"int32 as uint64":    second(i32.Uint64s()),
		"int32 as uint8":     second(i32.Uint8s()),
	} {
		if err == nil || !strings.Contains(err.Error(), "cannot be read as") {
			t.Errorf("%s: err = %v, want a conversion error", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestAccessorsRejectDataThatDoesNotFitTheShape(t *testing.T) {
	x := NewFloat32("/x", []int{3}, []float32{1, 2})
	_, err := x.Float32s()
	if err == nil || !strings.Contains(err.Error(), `tensor "/x": shape [3] of float32 needs 12 bytes (3 elements), has 8 bytes`) {
		t.Errorf("err = %v", err)
	}
}

func TestNumElements(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		want  int
	}{
		{nil, 1}, {[]int{}, 1}, {[]int{3, 3, 16, 32}, 4608}, {[]int{0, 5}, 0}, {[]int{-1, 2}, -1},
		{[]int{1 << 40, 1 << 40}, -1},
	} {
		if got := (&Tensor{Shape: tc.shape}).NumElements(); got != tc.want {
			t.Errorf("NumElements(%v) = %d, want %d", tc.shape, got, tc.want)
		}
	}
}

func TestFloat16StorageRoundsToNearestHalf(t *testing.T) {
	values := []float32{0, negZero, 1, -1.5, 0.1, 3.14159, 1e-3, 6e-8, 1e-9, 65504, -65519, 123.456,
		float32(math.Inf(1)), float32(math.NaN())}
	c := &Checkpoint{Tensors: []*Tensor{
		NewFloat32("/w", []int{len(values)}, values),
		NewInt64("/step", nil, []int64{9}),
		NewFloat64("/d", []int{1}, []float64{0.1}),
	}}
	got, err := ReadBytes(mustWrite(t, c, WithFloat16()))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := got.Tensor("/w")
	if w.DType != Float16 {
		t.Fatalf("dtype = %s, want float16", w.DType)
	}
	v, err := w.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, negZero, 1, -1.5, 0.099975586, 3.140625, 0.0010004044, 5.9604645e-08, 0, 65504, -65504, 123.4375,
		float32(math.Inf(1)), float32(math.NaN())}
	for i := range want {
		if v[i] != want[i] && !(math.IsNaN(float64(v[i])) && math.IsNaN(float64(want[i]))) ||
			math.Signbit(float64(v[i])) != math.Signbit(float64(want[i])) {
			t.Errorf("value %d: %v stored as %v, want %v", i, values[i], v[i], want[i])
		}
		// Normal halves keep a relative error of at most 2^-11.
		if a := math.Abs(float64(values[i])); a >= 0x1p-14 && a <= 65504 {
			if rel := math.Abs(float64(v[i])-float64(values[i])) / a; rel > 0x1p-11 {
				t.Errorf("value %d: relative error %g exceeds half precision", i, rel)
			}
		}
	}
	if d, _ := got.Tensor("/d"); d.DType != Float64 {
		t.Errorf("float64 tensor stored as %s, want float64", d.DType)
	}
	if s, _ := got.Tensor("/step"); s.DType != Int64 {
		t.Errorf("int64 tensor stored as %s, want int64", s.DType)
	}
}

func TestFloat16HalvesTheDataSection(t *testing.T) {
	big := &Checkpoint{Tensors: []*Tensor{NewFloat32("/w", []int{1000}, make([]float32, 1000))}}
	full, half := len(mustWrite(t, big)), len(mustWrite(t, big, WithFloat16()))
	if full-half != 2000 {
		t.Errorf("float32 file %d bytes, float16 file %d bytes: want 2000 bytes less", full, half)
	}
}

func TestFloat16RejectsValuesBeyondItsRange(t *testing.T) {
	c := &Checkpoint{Tensors: []*Tensor{NewFloat32("/bn/variance", []int{3}, []float32{1, 2, 70000})}}
	err := Write(io.Discard, c, WithFloat16())
	const want = `checkpoint: tensor "/bn/variance": value 70000 at index 2 is outside the float16 range (±65504)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

// TestWriteMatchesDocumentedLayout pins the byte layout that docs/checkpoint.md
// describes, with a header spelled out in full.
func TestWriteMatchesDocumentedLayout(t *testing.T) {
	c := &Checkpoint{
		Meta:    Meta{Arch: Arch{Name: "WRN-10-1"}, Metrics: map[string]float64{"clean_accuracy": 0.5}},
		Tensors: []*Tensor{NewUint8("/a", []int{3}, []uint8{1, 2, 3}), NewInt32("/b", []int{}, []int32{-2})},
	}
	got := mustWrite(t, c)

	const hdr = `{"meta":{"arch":{"name":"WRN-10-1"},"metrics":{"clean_accuracy":0.5}},"tensors":[` +
		`{"name":"/a","dtype":"uint8","shape":[3],"offset":0,"length":3,"crc32":1438416925},` +
		`{"name":"/b","dtype":"int32","shape":[],"offset":64,"length":4,"crc32":1195612314}]}`
	var want []byte
	want = append(want, "ARTCKPT\x00"...)
	want = binary.LittleEndian.AppendUint32(want, 1)
	want = binary.LittleEndian.AppendUint64(want, uint64(len(hdr)))
	want = binary.LittleEndian.AppendUint64(want, 68) // 3 bytes, padding to 64, 4 bytes
	want = append(want, hdr...)
	for len(want)%64 != 0 {
		want = append(want, 0)
	}
	want = append(want, 1, 2, 3)
	want = append(want, make([]byte, 61)...)
	want = append(want, 0xfe, 0xff, 0xff, 0xff)
	want = binary.LittleEndian.AppendUint32(want, crc32.ChecksumIEEE(want))

	if crc32.ChecksumIEEE([]byte{1, 2, 3}) != 1438416925 || crc32.ChecksumIEEE([]byte{0xfe, 0xff, 0xff, 0xff}) != 1195612314 {
		t.Fatal("the per-tensor checksums in the expected header are wrong")
	}
	if !bytes.Equal(got, want) {
		t.Errorf("file =\n%q\nwant\n%q", got, want)
	}
}

func TestTruncationAtEveryOffsetIsReported(t *testing.T) {
	b := mustWrite(t, &Checkpoint{
		Meta:    Meta{Arch: Arch{Name: "WRN-10-1"}},
		Tensors: []*Tensor{NewFloat32("/w", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}), NewInt64("/s", nil, []int64{3})},
	})
	for n := range len(b) {
		_, err := ReadBytes(b[:n])
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("ReadBytes of the first %d of %d bytes: err = %v, want ErrTruncated", n, len(b), err)
		}
		_, err = Read(bytes.NewReader(b[:n]))
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("Read of the first %d of %d bytes: err = %v, want ErrTruncated", n, len(b), err)
		}
	}
}

func TestTruncationMessageSaysWhatIsMissing(t *testing.T) {
	b := mustWrite(t, &Checkpoint{Tensors: []*Tensor{NewFloat32("/w", []int{100}, make([]float32, 100))}})
	hlen := int(binary.LittleEndian.Uint64(b[12:]))
	start := (preambleLen + hlen + 63) / 64 * 64
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "checkpoint: truncated: empty input"},
		{5, "checkpoint: truncated: expected 28 bytes of preamble, got 5"},
		{30, "checkpoint: truncated: expected " + itoa(hlen) + " bytes of header, got 2"},
		{start + 10, "checkpoint: truncated: expected 400 bytes of tensor data, got 10"},
		{len(b) - 1, "checkpoint: truncated: expected 4 bytes of checksum, got 3"},
	} {
		_, err := ReadBytes(b[:tc.n])
		if err == nil || err.Error() != tc.want {
			t.Errorf("first %d bytes: err = %v, want %q", tc.n, err, tc.want)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestAnyFlippedBitIsDetected(t *testing.T) {
	b := mustWrite(t, sampleCheckpoint())
	for i := range b {
		for bit := range 8 {
			d := bytes.Clone(b)
			d[i] ^= 1 << bit
			_, err := ReadBytes(d)
			if err == nil {
				t.Fatalf("flipping bit %d of byte %d went unnoticed", bit, i)
			}
			// Past the preamble every byte is covered by the checksum.
			if i >= preambleLen && !errors.Is(err, ErrChecksum) {
				t.Fatalf("flipping bit %d of byte %d: err = %v, want ErrChecksum", bit, i, err)
			}
		}
	}
}

func TestBadMagicIsNotACheckpoint(t *testing.T) {
	for _, in := range []string{"PK\x03\x04 a zip file, not a checkpoint", "B", "ARTCKPT\x01", "\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00"} {
		_, err := ReadBytes([]byte(in))
		if !errors.Is(err, ErrNotCheckpoint) || err.Error() != "checkpoint: not an ART checkpoint (bad magic)" {
			t.Errorf("ReadBytes(%q): err = %v, want ErrNotCheckpoint", in, err)
		}
	}
}

func TestFutureVersionIsUnsupported(t *testing.T) {
	b := mustWrite(t, &Checkpoint{})
	binary.LittleEndian.PutUint32(b[8:], 2)
	_, err := ReadBytes(b)
	const want = "checkpoint: unsupported format version 2 (this package reads version 1)"
	if !errors.Is(err, ErrVersion) || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestTrailingBytesAreRejected(t *testing.T) {
	b := append(mustWrite(t, &Checkpoint{}), "xyz"...)
	_, err := ReadBytes(b)
	if err == nil || err.Error() != "checkpoint: 3 bytes of unexpected data after the checksum" {
		t.Errorf("err = %v", err)
	}
}

func TestHugeLengthsAreRejectedWithoutAllocating(t *testing.T) {
	pre := func(hlen, dlen uint64) []byte {
		b := []byte(magic)
		b = binary.LittleEndian.AppendUint32(b, Version)
		b = binary.LittleEndian.AppendUint64(b, hlen)
		b = binary.LittleEndian.AppendUint64(b, dlen)
		return append(b, make([]byte, 100)...)
	}
	_, err := ReadBytes(pre(1<<40, 0))
	if err == nil || err.Error() != "checkpoint: header length 1099511627776 exceeds the limit of 67108864 bytes" {
		t.Errorf("huge header: err = %v", err)
	}
	_, err = ReadBytes(pre(10, math.MaxUint64))
	if err == nil || !strings.Contains(err.Error(), "too large for this platform") {
		t.Errorf("huge data: err = %v", err)
	}
	// Lengths within the limits but beyond the input must not be allocated.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, b := range [][]byte{pre(60<<20, 0), pre(10, 1<<40)} {
		if _, err := Read(bytes.NewReader(b)); !errors.Is(err, ErrTruncated) {
			t.Errorf("err = %v, want ErrTruncated", err)
		}
		if _, err := ReadBytes(b); !errors.Is(err, ErrTruncated) {
			t.Errorf("err = %v, want ErrTruncated", err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
		t.Errorf("reading 128-byte inputs allocated %d bytes", n)
	}
}

// rawFile builds a file around a given header and data section with valid
// lengths and checksum, for testing how the tensor table is checked.
func rawFile(hdr string, data []byte) []byte {
	b := []byte(magic)
	b = binary.LittleEndian.AppendUint32(b, Version)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(hdr)))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(data)))
	b = append(b, hdr...)
	for len(b)%alignment != 0 {
		b = append(b, 0)
	}
	b = append(b, data...)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func TestMalformedTensorTablesAreRejected(t *testing.T) {
	data := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	crc := itoa(int(crc32.ChecksumIEEE(data[:4])))
	entry := func(name, dtype, shape string, offset, length int, crc string) string {
		return `{"name":"` + name + `","dtype":"` + dtype + `","shape":` + shape + `,"offset":` + itoa(offset) +
			`,"length":` + itoa(length) + `,"crc32":` + crc + `}`
	}
	ok := entry("/a", "float32", "[1]", 0, 4, crc)
	for _, tc := range []struct {
		name, hdr, want string
	}{
		{"valid", `{"tensors":[` + ok + `]}`, ""},
		{"duplicate name", `{"tensors":[` + ok + `,` + ok + `]}`, `checkpoint: duplicate tensor name "/a"`},
		{"empty name", `{"tensors":[` + entry("", "float32", "[1]", 0, 4, crc) + `]}`, `checkpoint: tensor #0: empty name`},
		{"unknown dtype", `{"tensors":[` + entry("/a", "bfloat16", "[2]", 0, 4, crc) + `]}`,
			`checkpoint: tensor "/a": unknown dtype "bfloat16"`},
		{"shape does not match length", `{"tensors":[` + entry("/a", "float32", "[2]", 0, 4, crc) + `]}`,
			`checkpoint: tensor "/a": shape [2] of float32 does not match its length of 4 bytes`},
		{"negative dimension", `{"tensors":[` + entry("/a", "float32", "[-1,-1]", 0, 4, crc) + `]}`,
			`checkpoint: tensor "/a": shape [-1 -1] of float32 does not match its length of 4 bytes`},
		{"beyond the data", `{"tensors":[` + entry("/a", "float32", "[1]", 6, 4, crc) + `]}`,
			`checkpoint: tensor "/a": bytes [6, 10) lie outside the 8-byte data section`},
		{"negative offset", `{"tensors":[` + entry("/a", "float32", "[1]", -4, 4, crc) + `]}`,
			`checkpoint: tensor "/a": bytes [-4, 0) lie outside the 8-byte data section`},
		{"tensor checksum", `{"tensors":[` + entry("/a", "float32", "[1]", 4, 4, crc) + `]}`,
			`checkpoint: checksum mismatch in tensor "/a": header says b63cfbcd, data gives 538d4d69`},
		{"not JSON", `{"tensors":[`, `checkpoint: decoding header: unexpected end of JSON input`},
	} {
		c, err := ReadBytes(rawFile(tc.hdr, data))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == "" && (len(c.Tensors) != 1 || !bytes.Equal(c.Tensors[0].data, data[:4])):
			t.Errorf("%s: read %+v", tc.name, c.Tensors)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestWriteRejectsInvalidCheckpoints(t *testing.T) {
	x := NewFloat32("/x", []int{1}, []float32{1})
	for _, tc := range []struct {
		name string
		c    *Checkpoint
		want string
	}{
		{"nil checkpoint", nil, "checkpoint: nil checkpoint"},
		{"nil tensor", &Checkpoint{Tensors: []*Tensor{x, nil}}, "checkpoint: tensor 1 is nil"},
		{"empty name", &Checkpoint{Tensors: []*Tensor{NewFloat32("", nil, []float32{1})}},
			`checkpoint: tensor 0: name "" is empty or not valid UTF-8`},
		{"invalid UTF-8 name", &Checkpoint{Tensors: []*Tensor{NewFloat32("/\xff", nil, []float32{1})}},
			`checkpoint: tensor 0: name "/\xff" is empty or not valid UTF-8`},
		{"duplicate name", &Checkpoint{Tensors: []*Tensor{x, NewInt64("/x", nil, []int64{1})}},
			`checkpoint: duplicate tensor name "/x"`},
		{"unknown dtype", &Checkpoint{Tensors: []*Tensor{NewTensor("/b", "bool", []int{1}, []byte{1})}},
			`checkpoint: tensor "/b": unknown dtype "bool"`},
		{"values do not fit shape", &Checkpoint{Tensors: []*Tensor{NewFloat32("/w", []int{2, 2}, []float32{1, 2, 3})}},
			`checkpoint: tensor "/w": shape [2 2] of float32 needs 16 bytes (4 elements), has 12 bytes`},
		{"negative dimension", &Checkpoint{Tensors: []*Tensor{NewFloat32("/w", []int{-1}, nil)}},
			`checkpoint: tensor "/w": invalid shape [-1]`},
	} {
		var buf bytes.Buffer
		err := Write(&buf, tc.c)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %d bytes before failing", tc.name, buf.Len())
		}
	}
}

// failingWriter accepts n bytes, then fails.
type failingWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(b []byte) (int, error) {
	if len(b) > w.n {
		k := w.n
		w.n = 0
		return k, errDiskFull
	}
	w.n -= len(b)
	return len(b), nil
}

func TestWriteReportsWriterErrors(t *testing.T) {
	c := sampleCheckpoint()
	size := len(mustWrite(t, c))
	for n := 0; n < size; n += 7 {
		err := Write(&failingWriter{n: n}, c)
		if !errors.Is(err, errDiskFull) || !strings.HasPrefix(err.Error(), "checkpoint: writing: ") {
			t.Fatalf("failing after %d of %d bytes: err = %v", n, size, err)
		}
	}
	if err := Write(&failingWriter{n: size}, c); err != nil {
		t.Errorf("writer with room for exactly %d bytes: %v", size, err)
	}
}

func TestMetaJSONKeys(t *testing.T) {
	b, err := json.Marshal(sampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := []string{"activation", "arch", "class_names", "created", "dataset", "hyper", "method", "metrics",
		"normalization", "notes", "training"}
	if got := slices.Sorted(mapKeys(m)); !slices.Equal(got, want) {
		t.Errorf("meta keys = %v, want %v", got, want)
	}
	const arch = `{"name":"WRN-10-1","depth":10,"width":1,"num_classes":3,"input_size":32,"channels":3}`
	if string(m["arch"]) != arch {
		t.Errorf("arch = %s, want %s", m["arch"], arch)
	}
	if got := string(m["training"]); got != `{"step":123456,"epoch":42,"seed":-7}` {
		t.Errorf("training = %s", got)
	}
	if got := string(m["normalization"]); got != `{"mean":[0.4914,0.4822,0.4465],"std":[0.247,0.2435,0.2616]}` {
		t.Errorf("normalization = %s", got)
	}
	if b, _ := json.Marshal(Meta{}); string(b) != "{}" {
		t.Errorf("empty meta = %s, want {}", b)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
