package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/attribution"
)

// The .npy encoding is byte-for-byte NumPy's format 1.0 for '<f4'.
func TestEncodeNPYBytes(t *testing.T) {
	cases := []struct {
		values []float32
		shape  []int
		header string
		data   string
	}{
		{[]float32{1, 2, 3, 4, 5, -0.5}, []int{2, 3},
			"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + strings.Repeat(" ", 58) + "\n",
			"0000803f0000004000004040000080400000a040000000bf"},
		{[]float32{0.25}, []int{1},
			"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }" + strings.Repeat(" ", 60) + "\n",
			"0000803e"},
	}
	for _, c := range cases {
		raw, _ := hex.DecodeString(c.data)
		want := append([]byte("\x93NUMPY\x01\x00\x76\x00"+c.header), raw...)
		got, err := encodeNPY(c.values, c.shape...)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("shape %v:\n got %q\nwant %q", c.shape, got, want)
		}
		if len(got)-len(raw) != 128 {
			t.Errorf("header block of %d bytes, want 128", len(got)-len(raw))
		}
	}
	if _, err := encodeNPY([]float32{1, 2}, 3); err == nil {
		t.Error("no error for a shape that does not match the values")
	}
}

// readNPY decodes what encodeNPY writes (the test's independent reader).
func readNPY(t *testing.T, path string) ([]float32, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:8]) != "\x93NUMPY\x01\x00" {
		t.Fatalf("%s: bad magic", path)
	}
	hl := int(binary.LittleEndian.Uint16(b[8:10]))
	header := string(b[10 : 10+hl])
	raw := b[10+hl:]
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v, header
}

func TestExplainWritesPredictionAndMap(t *testing.T) {
	ck := tinyCheckpoint(t)
	// A file image of another size, resized to the model's 16x16.
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for y := range 30 {
		for x := range 40 {
			img.Set(x, y, color.RGBA{uint8(6 * x), uint8(8 * y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "in.png")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ image, method string }{{"shapes:3", "grad"}, {file, "ig"}, {"shapes:0", "gradcam"}} {
		out := filepath.Join(t.TempDir(), c.method)
		o := ExplainOptions{Ckpt: ck, Image: c.image, Method: c.method, Target: -1, IGSteps: 8, Samples: 4, Sigma: 0.1, Seed: 1, Out: out}
		if err := Explain(o, io.Discard); err != nil {
			t.Fatal(err)
		}
		var res ExplainResult
		b, err := os.ReadFile(filepath.Join(out, "explain.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for _, p := range res.Prediction.Probabilities {
			sum += p
		}
		if len(res.Prediction.Logits) != 10 || math.Abs(sum-1) > 1e-9 || res.Target != res.Prediction.Class {
			t.Errorf("%s: prediction %+v", c.method, res.Prediction)
		}
		if strings.HasPrefix(c.image, "shapes:") != (res.Label >= 0) {
			t.Errorf("%s: label %d", c.image, res.Label)
		}
		x, header := readNPY(t, filepath.Join(out, "input.npy"))
		if !strings.Contains(header, "'shape': (16, 16, 3)") || len(x) != 16*16*3 {
			t.Fatalf("input.npy header %q, %d values", header, len(x))
		}
		got, header := readNPY(t, filepath.Join(out, "map.npy"))
		if !strings.Contains(header, "'shape': (16, 16, 3)") {
			t.Errorf("map.npy header %q", header)
		}
		// The stored map is the method's map of the stored input.
		net, _, err := loadCheckpoint(ck)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := explainMethod(c.method, 8, 4, 0.1, 1)
		want, err := attribution.Attribute(net, m, x, []int{res.Target})
		if err != nil {
			t.Fatal(err)
		}
		nonzero := false
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%s: map[%d] = %v, want %v", c.method, i, got[i], want[i])
			}
			nonzero = nonzero || want[i] != 0
		}
		if !nonzero {
			t.Errorf("%s: all-zero map", c.method)
		}
		if st, err := os.Stat(filepath.Join(out, "map.png")); err != nil || st.Size() < 500 {
			t.Errorf("map.png: %v", err)
		}
	}
}

func TestAttackCommand(t *testing.T) {
	ck := tinyCheckpoint(t)
	for _, kind := range []string{"ifia", "masscenter", "targeted", "pgd"} {
		out := filepath.Join(t.TempDir(), kind)
		o := AttackOptions{Ckpt: ck, Image: "shapes:1", Attack: kind, TargetImage: "shapes:2", Method: "grad", IGSteps: 4,
			Eps: 8.0 / 255, Step: 2.0 / 255, Steps: 5, Restarts: 1, Beta: 50, Seed: 1, Out: out}
		res, err := Attack(o, io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		x, _ := readNPY(t, filepath.Join(out, "image.npy"))
		adv, header := readNPY(t, filepath.Join(out, "adv.npy"))
		if !strings.Contains(header, "(16, 16, 3)") {
			t.Errorf("%s: adv.npy header %q", kind, header)
		}
		linf := 0.0
		for i := range adv {
			if adv[i] < 0 || adv[i] > 1 {
				t.Fatalf("%s: adv[%d] = %v outside [0,1]", kind, i, adv[i])
			}
			linf = max(linf, math.Abs(float64(adv[i]-x[i])))
		}
		if linf > 8.0/255+1e-6 || math.Abs(linf-float64(res.Linf)) > 1e-6 {
			t.Errorf("%s: L-inf %v (reported %v)", kind, linf, res.Linf)
		}
		if res.TopK < 0 || res.TopK > 1 || res.Kendall < -1 || res.Kendall > 1 {
			t.Errorf("%s: top-k %v Kendall %v", kind, res.TopK, res.Kendall)
		}
		if kind == "pgd" {
			if len(res.Trace) != 0 {
				t.Errorf("pgd has a trace")
			}
			continue
		}
		if len(res.Trace) != o.Steps+1 {
			t.Fatalf("%s: %d trace entries, want %d", kind, len(res.Trace), o.Steps+1)
		}
		if res.Trace[0].TopK != 1 || res.Trace[0].Kendall < 0.999 {
			t.Errorf("%s: the clean iterate compares %v/%v with itself", kind, res.Trace[0].TopK, res.Trace[0].Kendall)
		}
		if res.KeptStep >= 0 {
			kept := res.Trace[res.KeptStep]
			if !kept.Correct || math.Abs(float64(kept.TopK-res.TopK)) > 1e-9 {
				t.Errorf("%s: kept iterate %+v, recomputed top-k %v", kind, kept, res.TopK)
			}
			if res.After.Class != res.Label {
				t.Errorf("%s: prediction after %d, label %d", kind, res.After.Class, res.Label)
			}
		}
	}
}
