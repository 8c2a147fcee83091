package main

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Output folders and files are checked before any work: an eval -report
// that cannot be written used to be found only after the whole evaluation.
// Each command fails at once, naming the flag, without reading its
// checkpoint (which here does not exist).
func TestOutputFoldersAreCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(file, "sub") // under a file: no folder can be made there
	missing := filepath.Join(dir, "missing.ckpt")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "-ckpt", missing, "-report", bad}, "-report " + bad + ": the folder cannot be made: not a directory"},
		{[]string{"localize", "-ckpt", missing, "-report", bad}, "-report " + bad},
		{[]string{"explain", "-ckpt", missing, "-image", "shapes:0", "-out", bad}, "-out " + bad},
		{[]string{"attack", "-ckpt", missing, "-image", "shapes:0", "-out", bad}, "-out " + bad},
		{[]string{"train", "-out", bad}, "-out " + bad},
		{[]string{"publish", "-ckpt", missing, "-out", filepath.Join(bad, "x.ckpt")}, "-out " + filepath.Join(bad, "x.ckpt") + ": the folder " + bad + " does not exist"},
		{[]string{"publish", "-ckpt", missing, "-out", dir}, "is a folder, not a file"},
	} {
		err := run(tc.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line containing %q", tc.args, err, tc.want)
		}
	}
}

// What was not measured is said so, not printed as 0 (eval -pgd-n 0 used to
// print "PGD-40 acc 0.00"), and a prediction without a class name has no
// empty name in it (it printed "predicted 3 (, p=0.893)").
func TestUnmeasuredAndUnnamedAreSaidPlainly(t *testing.T) {
	v, err := over(0, func() (float64, error) { t.Fatal("measured over no images"); return 0, nil })
	if err != nil || !math.IsNaN(float64(v)) || measured(v) != "not measured" {
		t.Errorf("over 0 images: %v, %v, %q", v, err, measured(v))
	}
	if v, _ := over(3, func() (float64, error) { return 0.5, nil }); measured(v) != "0.5000" {
		t.Errorf("over 3 images: %q", measured(v))
	}
	var b bytes.Buffer
	b.WriteString(Prediction{Class: 3, Probabilities: []float64{0, 0, 0.107, 0.893}}.String())
	b.WriteString("|" + Prediction{Class: 3, ClassName: "star", Probabilities: []float64{0, 0, 0.107, 0.893}}.String())
	if b.String() != "3 (p=0.893)|3 (star, p=0.893)" {
		t.Errorf("predictions print as %q", b.String())
	}
}
