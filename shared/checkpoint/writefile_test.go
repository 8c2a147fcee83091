package checkpoint

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// versioned is a checkpoint whose every weight equals v, big enough (4 MB)
// that writing it takes a while, so that a kill can land mid-write.
func versioned(v int) *Checkpoint {
	w := make([]float32, 1<<20)
	for i := range w {
		w[i] = float32(v)
	}
	return &Checkpoint{Meta: Meta{Notes: strconv.Itoa(v)}, Tensors: []*Tensor{NewFloat32("/w", []int{len(w)}, w)}}
}

// assertVersion requires the file at path to be a complete versioned(v)
// with v among want, and returns v.
func assertVersion(t *testing.T, path string, want ...int) int {
	t.Helper()
	c, err := ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	v, err := strconv.Atoi(c.Meta.Notes)
	if err != nil || !slicesContains(want, v) {
		t.Fatalf("file holds version %q, want one of %v", c.Meta.Notes, want)
	}
	w, _ := c.Tensor("/w")
	vals, err := w.Float32s()
	if err != nil || len(vals) != 1<<20 || vals[0] != float32(v) || vals[len(vals)-1] != float32(v) {
		t.Fatalf("version %d holds inconsistent weights (%v)", v, err)
	}
	return v
}

func slicesContains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// assertOnlyFiles requires dir to hold exactly the named files: no
// temporary files left behind.
func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if fmt.Sprint(got) != fmt.Sprint(names) {
		t.Errorf("directory holds %v, want %v", got, names)
	}
}

func TestWriteFileReplacesTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.ckpt")
	for v := range 3 {
		if err := WriteFile(path, versioned(v)); err != nil {
			t.Fatal(err)
		}
		assertVersion(t, path, v)
	}
	assertOnlyFiles(t, dir, "model.ckpt")
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
			t.Errorf("new file has mode %v, want 0644", fi.Mode().Perm())
		}
	}
}

func TestWriteFileKeepsThePermissionsOfTheFileItReplaces(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permission bits")
	}
	path := filepath.Join(t.TempDir(), "model.ckpt")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, versioned(1)); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("replaced file has mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestWriteFileKeepsTheOldFileWhenWritingFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.ckpt")
	if err := WriteFile(path, versioned(1)); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	// The second tensor is invalid, so the write fails after the temporary
	// file exists.
	bad := versioned(2)
	bad.Tensors = append(bad.Tensors, NewFloat32("/broken", []int{2}, []float32{1}))
	err := WriteFile(path, bad)
	const want = `: checkpoint: tensor "/broken": shape [2] of float32 needs 8 bytes (2 elements), has 4 bytes`
	if err == nil || err.Error() != "writing "+path+want {
		t.Fatalf("err = %v, want %q", err, "writing "+path+want)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the failed write changed the existing file")
	}
	assertOnlyFiles(t, dir, "model.ckpt")
}

func TestWriteFileIntoAMissingDirectoryFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "model.ckpt")
	err := WriteFile(path, versioned(1))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestReadFileOfAMissingFileFails(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "missing.ckpt"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

// killHelperEnv names the file a helper process rewrites until it is killed.
const killHelperEnv = "ART_CHECKPOINT_KILL_HELPER"

// TestWriteFileKillHelper is not a test: run by TestWriteFileSurvivesKill
// as a separate process, it rewrites one file forever, printing a line to
// stdout after each completed write.
func TestWriteFileKillHelper(t *testing.T) {
	path := os.Getenv(killHelperEnv)
	if path == "" {
		t.Skip("helper process for TestWriteFileSurvivesKill")
	}
	for v := 1; ; v = 3 - v {
		if err := WriteFile(path, versioned(v)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println("wrote", v)
	}
}

// A process killed with SIGKILL while it rewrites a checkpoint leaves the
// old or the new file, never a partial one. The kill lands at a random
// point after the helper's first completed write, which it signals, so the
// test proves something however slow the machine is (a fixed sleep before
// the kill could land before the first write on a loaded machine).
func TestWriteFileSurvivesKill(t *testing.T) {
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no processes to kill")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	path := filepath.Join(t.TempDir(), "model.ckpt")
	if err := WriteFile(path, versioned(0)); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	seen := map[int]bool{}
	for round := range 8 {
		cmd := exec.Command(exe, "-test.run=^TestWriteFileKillHelper$")
		cmd.Env = append(os.Environ(), killHelperEnv+"="+path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for the first completed write and then a random number of
		// further ones; then kill after a random pause, so that the kill
		// often lands in the middle of a write.
		lines := bufio.NewScanner(out)
		for want := 1 + rng.IntN(3); want > 0; {
			if !lines.Scan() {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("round %d: the helper stopped before signalling a write: %s", round, stderr.Bytes())
			}
			if strings.HasPrefix(lines.Text(), "wrote ") {
				want--
			}
		}
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, out) // let the helper's last lines go
		if err := cmd.Wait(); cmd.ProcessState.ExitCode() == 2 {
			t.Fatalf("helper failed: %v: %s", err, stderr.Bytes())
		}
		seen[assertVersion(t, path, 1, 2)] = true
	}
	if !seen[1] && !seen[2] {
		t.Error("the helper never completed a write; the test proved nothing")
	}
}
