package model

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/checkpoint"
)

// wrnCheckpointFile is a valid WRN-10-1 checkpoint (10 classes, 32x32 RGB,
// float16, about 160 kB, like the shipped ones) as file bytes.
func wrnCheckpointFile(t testing.TB) []byte {
	t.Helper()
	cfg, err := ParseArch("WRN-10-1", 10, 32, 3)
	if err != nil {
		t.Fatal(err)
	}
	vals := cfg.InitValues(1)
	ck := &checkpoint.Checkpoint{Meta: checkpoint.Meta{Arch: cfg.Arch(),
		Normalization: checkpoint.Normalization{Mean: cfg.Mean, Std: cfg.Std}}}
	for _, v := range cfg.Variables() {
		ck.Tensors = append(ck.Tensors, checkpoint.NewFloat32(v.Path, v.Shape, vals[v.Path]))
	}
	var b bytes.Buffer
	if err := checkpoint.Write(&b, ck, checkpoint.WithFloat16()); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withMeta rewrites the "meta" object of a checkpoint file's JSON header
// and recomputes the lengths, the padding and the checksum, as someone
// crafting a hostile file would (docs/checkpoint.md): the result passes
// every integrity check, whatever meta says.
func withMeta(t testing.TB, file, meta []byte) []byte {
	t.Helper()
	hlen := binary.LittleEndian.Uint64(file[12:])
	dlen := binary.LittleEndian.Uint64(file[20:])
	header := file[28 : 28+hlen]
	i := bytes.Index(header, []byte(`,"tensors":`))
	if !bytes.HasPrefix(header, []byte(`{"meta":`)) || i < 0 {
		t.Fatalf("unexpected header %.80s", header)
	}
	start := (28 + int(hlen) + 63) / 64 * 64
	data := file[start : start+int(dlen)]
	var h bytes.Buffer
	h.WriteString(`{"meta":`)
	h.Write(meta)
	h.Write(header[i:])
	out := make([]byte, 28, 28+h.Len()+64+len(data)+4)
	copy(out, file[:12])
	binary.LittleEndian.PutUint64(out[12:], uint64(h.Len()))
	binary.LittleEndian.PutUint64(out[20:], dlen)
	out = append(out, h.Bytes()...)
	out = append(out, make([]byte, (len(out)+63)/64*64-len(out))...)
	out = append(out, data...)
	return binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(out))
}

// loadChecked is what every loader does before it builds a network (natively
// LoadNet and art publish; in the browser CheckCheckpoint and
// LoadCheckpoint): read, rebuild the configuration from the metadata, take
// the weights. It returns the bytes allocated on the way.
func loadChecked(b []byte) (allocated uint64, err error) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	defer func() {
		runtime.ReadMemStats(&after)
		allocated = after.TotalAlloc - before.TotalAlloc
	}()
	ck, err := checkpoint.ReadBytes(b)
	if err != nil {
		return 0, err
	}
	cfg, err := ConfigFromMeta(ck.Meta)
	if err != nil {
		return 0, err
	}
	_, err = cfg.ValuesFromCheckpoint(ck)
	return 0, err
}

// allocLimit is the most that loading a checkpoint of n bytes may allocate:
// a copy of the file, the weights widened to float32, and the JSON decoding.
func allocLimit(n int) uint64 { return uint64(4*n + 1<<20) }

// A checkpoint whose integrity checks all pass but whose metadata asks for
// an absurd network (the input size 100000, WRN-6000000004-1, and
// the like) is refused with a one-line error, allocating no more than a
// small multiple of the file: the architecture is bounded first, then
// compared with the tensors the file holds before it is listed.
func TestHostileArchitecturesAreRefusedBeforeAllocating(t *testing.T) {
	good := wrnCheckpointFile(t)
	if _, err := loadChecked(good); err != nil {
		t.Fatalf("the untouched checkpoint: %v", err)
	}
	norm := `"normalization":{"mean":[0.5,0.5,0.5],"std":[0.25,0.25,0.25]}`
	for _, tc := range []struct{ meta, want string }{
		{`{"arch":{"name":"WRN-10-1","depth":10,"width":1,"num_classes":10,"input_size":100000,"channels":3},` + norm + `}`, "input size 100000 is over the limit"},
		{`{"arch":{"name":"WRN-10-1","depth":10,"width":1,"num_classes":10,"input_size":5000,"channels":3},` + norm + `}`, "input size 5000"},
		{`{"arch":{"name":"WRN-6000000004-1","depth":6000000004,"width":1,"num_classes":10,"input_size":32,"channels":3},` + norm + `}`, "depth 6000000004 is over the limit"},
		{`{"arch":{"name":"WRN-6000000004-1","num_classes":10,"input_size":32,"channels":3}}`, "over the limit"},
		{`{"arch":{"name":"WRN-99999999999999999999-1","num_classes":10,"input_size":32,"channels":3}}`, "WRN-"},
		{`{"arch":{"name":"WRN-994-1","num_classes":10,"input_size":32,"channels":3}}`, "it needs 4959 tensors, the file holds 39"},
		{`{"arch":{"name":"WRN-10-64","num_classes":10,"input_size":32,"channels":3}}`, "does not match the architecture"},
		{`{"arch":{"name":"WRN-10-100000000","num_classes":10,"input_size":32,"channels":3}}`, "width 100000000 is over the limit"},
		{`{"arch":{"name":"WRN-10-1","num_classes":1000000000000,"input_size":32,"channels":3}}`, "classes is over the limit"},
		{`{"arch":{"name":"WRN-10-1","num_classes":10,"input_size":32,"channels":1000000000000}}`, "channels is over the limit"},
		{`{"arch":{"name":"WRN-10-1","num_classes":10,"input_size":32,"channels":-5}}`, "normalisation needs one mean"},
		{`{"arch":{"name":"WRN-10-1","num_classes":10,"input_size":-1,"channels":3}}`, "input size -1"},
		{`{"arch":{"name":"ResNet-152","num_classes":10,"input_size":224,"channels":3}}`, "does not match the architecture"},
		{`{"arch":{"name":"VGG16-GAP","num_classes":100000,"input_size":512,"channels":3}}`, "does not match the architecture"},
	} {
		b := withMeta(t, good, []byte(tc.meta))
		alloc, err := loadChecked(b)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("meta %s: error %v, want one line containing %q", tc.meta, err, tc.want)
		}
		if limit := allocLimit(len(b)); alloc > limit {
			t.Errorf("meta %s: allocated %d bytes loading a %d-byte file (limit %d)", tc.meta, alloc, len(b), limit)
		}
	}
}

// numVariables, which bounds a listing before it is made, counts exactly
// what Variables lists.
func TestNumVariablesCountsTheListing(t *testing.T) {
	for _, name := range []string{"WRN-10-1", "WRN-10-2", "WRN-16-1", "WRN-16-4", "WRN-28-10", "WRN-40-2", "ResNet-18", "ResNet-50", "VGG16-GAP"} {
		cfg, err := ParseArch(name, 10, 32, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := cfg.numVariables(), len(cfg.Variables()); got != want {
			t.Errorf("%s: numVariables %d, Variables lists %d", name, got, want)
		}
	}
}

// Loading refuses a weight that is NaN or infinite with one line naming the
// tensor, rather than evaluate or ship a broken model.
func TestNonFiniteWeightsAreRefusedNamingTheTensor(t *testing.T) {
	cfg, err := ParseArch("WRN-10-1", 10, 32, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		vals := cfg.InitValues(1)
		vals["/group2/block0/conv1/weights"][17] = bad
		ck := &checkpoint.Checkpoint{Meta: checkpoint.Meta{Arch: cfg.Arch()}}
		for _, v := range cfg.Variables() {
			ck.Tensors = append(ck.Tensors, checkpoint.NewFloat32(v.Path, v.Shape, vals[v.Path]))
		}
		var b bytes.Buffer
		if err := checkpoint.Write(&b, ck); err != nil {
			t.Fatal(err)
		}
		_, err := loadChecked(b.Bytes())
		want := "tensor /group2/block0/conv1/weights holds " + fmt.Sprint(bad) + " at index 17: the weights are not finite"
		if err == nil || err.Error() != want {
			t.Errorf("weight %v: error %v, want %q", bad, err, want)
		}
	}
}

// FuzzCheckpointMetadata mutates the JSON metadata of a valid checkpoint,
// not only its bytes: the lengths and checksums are recomputed, so every
// integrity check passes and only the loader's own checks stand between the
// metadata and the machine. Loading gives an error or a model, never a
// panic, and never allocates more than a small multiple of the file.
func FuzzCheckpointMetadata(f *testing.F) {
	good := wrnCheckpointFile(f)
	for _, m := range []string{
		`{"arch":{"name":"WRN-10-1","depth":10,"width":1,"num_classes":10,"input_size":32,"channels":3}}`,
		`{"arch":{"name":"WRN-10-1","depth":10,"width":1,"num_classes":10,"input_size":100000,"channels":3}}`,
		`{"arch":{"name":"WRN-6000000004-1","depth":6000000004,"width":1,"num_classes":10,"input_size":32,"channels":3}}`,
		`{"arch":{"name":"WRN-994-1","num_classes":10,"input_size":32,"channels":3}}`,
		`{"arch":{"name":"WRN-10-1","num_classes":10,"input_size":32,"channels":3},"normalization":{"mean":[0,0,0],"std":[0,1,1]}}`,
		`{"arch":{"name":"ResNet-152","num_classes":10,"input_size":224,"channels":3}}`,
		`{"arch":{"name":"VGG16-GAP","num_classes":99999,"input_size":512,"channels":16}}`,
		`{"arch":{"name":"WRN-10-1","num_classes":10,"input_size":32,"channels":3},"class_names":["a"],"hyper":{"lr":null}}`,
		`{"arch":null}`, `{}`, `null`, `[]`, `"x"`, `{"arch":{"name":"WRN-10-1","num_classes":-1}}`,
	} {
		f.Add([]byte(m))
	}
	f.Fuzz(func(t *testing.T, meta []byte) {
		b := withMeta(t, good, meta)
		alloc, err := loadChecked(b)
		if err != nil && (err.Error() == "" || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("error %q is not one line", err)
		}
		if limit := allocLimit(len(b)); alloc > limit {
			t.Fatalf("meta %q: allocated %d bytes loading a %d-byte file (limit %d)", meta, alloc, len(b), limit)
		}
	})
}
