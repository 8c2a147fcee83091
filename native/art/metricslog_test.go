package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// loggedSteps returns the step of every record in dir's metrics log, failing
// the test on a line that is not a record.
func loggedSteps(t *testing.T, dir string) []int {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r EpochRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("metrics.jsonl: %q: %v", sc.Text(), err)
		}
		steps = append(steps, r.Step)
	}
	return steps
}

func TestTrimMetricsLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "metrics.jsonl")
	if err := trimMetricsLog(path, 3); err != nil {
		t.Fatalf("a missing log: %v", err)
	}
	log := `{"kind":"step","step":1}
{"kind":"step","step":2}
{"kind":"epoch","step":3}
{"kind":"step","step":4}
{"kind":"step","step":5}
{"kind":"step","st`
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := trimMetricsLog(path, 3); err != nil {
		t.Fatal(err)
	}
	if got := loggedSteps(t, dir); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("trimmed to step 3: steps %v", got)
	}
	if err := trimMetricsLog(path, 0); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || len(b) != 0 {
		t.Errorf("trimmed to step 0: %q, %v; want an empty log", b, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".metrics-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// Trimming the log on resume keeps its mode (it used to become 0600, the
// mode of a temporary file).
func TestTrimMetricsLogKeepsTheMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	for _, mode := range []os.FileMode{0o644, 0o640} {
		if err := os.WriteFile(path, []byte(`{"kind":"step","step":1}`+"\n"+`{"kind":"step","step":2}`+"\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if err := trimMetricsLog(path, 1); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("after trimming a %v log: mode %v, %v", mode, fi.Mode().Perm(), err)
		}
	}
}
