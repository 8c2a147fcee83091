package checkpoint

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// pythonWithNumpy returns a Python interpreter that can import numpy, or
// skips the test.
func pythonWithNumpy(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append([]string{p}, candidates...)
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", "import numpy").Run() == nil {
			return p
		}
	}
	t.Skip("no python3 with numpy found (tried python3 on PATH and /usr/bin/python3)")
	return ""
}

// TestPythonReaderReadsWhatWriteWrites runs docs/read_checkpoint.py on
// written files and requires every metadata field and every value back
// exactly, float16 storage included.
func TestPythonReaderReadsWhatWriteWrites(t *testing.T) {
	python := pythonWithNumpy(t)
	script, err := filepath.Abs(filepath.Join("..", "..", "docs", "read_checkpoint.py"))
	if err != nil {
		t.Fatal(err)
	}
	c := sampleCheckpoint()
	for _, tc := range []struct {
		name string
		opts []Option
	}{{"float32", nil}, {"float16", []Option{WithFloat16()}}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.ckpt")
			if err := WriteFile(path, c, tc.opts...); err != nil {
				t.Fatal(err)
			}
			want, err := ReadFile(path) // what Go reads back, float16 rounding included
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(python, script, "--values", path).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", script, err, out)
			}
			lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			if len(lines) != 1+len(want.Tensors) {
				t.Fatalf("script printed %d lines, want %d:\n%s", len(lines), 1+len(want.Tensors), out)
			}
			var meta Meta
			if err := json.Unmarshal([]byte(lines[0]), &meta); err != nil {
				t.Fatalf("metadata line %q: %v", lines[0], err)
			}
			if !reflect.DeepEqual(meta, want.Meta) {
				t.Errorf("Python sees meta %#v\nwant %#v", meta, want.Meta)
			}
			for i, w := range want.Tensors {
				assertPythonTensor(t, lines[1+i], w)
			}
		})
	}
}

// assertPythonTensor compares one "name\tdtype\tshape\tvalues" line of the
// script's output with a tensor, value by value and bit for bit.
func assertPythonTensor(t *testing.T, line string, w *Tensor) {
	t.Helper()
	cols := strings.Split(line, "\t")
	if len(cols) != 4 {
		t.Fatalf("line %q: want 4 tab-separated columns", line)
	}
	if cols[0] != w.Name || cols[1] != string(w.DType) || cols[2] != pythonShape(w.Shape) {
		t.Errorf("Python sees %s %s %s, want %s %s %s", cols[0], cols[1], cols[2], w.Name, w.DType, pythonShape(w.Shape))
	}
	got := strings.Fields(cols[3])
	var want []string
	switch w.DType {
	case Float32, Float16, Float64:
		v, _ := w.Float64s()
		for i, s := range got {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || i >= len(v) || !(f == v[i] && math.Signbit(f) == math.Signbit(v[i]) || math.IsNaN(f) && math.IsNaN(v[i])) {
				t.Errorf("%s[%d]: Python sees %s, want %v", w.Name, i, s, v)
				break
			}
		}
		if len(got) != w.NumElements() {
			t.Errorf("%s: Python sees %d values, want %d", w.Name, len(got), w.NumElements())
		}
		return
	case Uint64:
		v, _ := w.Uint64s()
		for _, x := range v {
			want = append(want, strconv.FormatUint(x, 10))
		}
	default:
		v, _ := w.Int64s()
		for _, x := range v {
			want = append(want, strconv.FormatInt(x, 10))
		}
	}
	if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("%s: Python sees %v, want %v", w.Name, got, want)
	}
}

// pythonShape formats a shape as Python prints a tuple.
func pythonShape(shape []int) string {
	var s []string
	for _, d := range shape {
		s = append(s, strconv.Itoa(d))
	}
	if len(s) == 1 {
		return "(" + s[0] + ",)"
	}
	return "(" + strings.Join(s, ", ") + ")"
}

func TestPythonReaderScriptExists(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "..", "docs", "read_checkpoint.py")); err != nil {
		t.Errorf("the reader documented in docs/checkpoint.md is missing: %v", err)
	}
}
