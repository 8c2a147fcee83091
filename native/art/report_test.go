package main

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyCheckpoint trains a tiny 16x16 natural model in a test directory.
func tinyCheckpoint(t *testing.T) string {
	t.Helper()
	o := tinyTrainOptions(filepath.Join(t.TempDir(), "natural"))
	o.Epochs, o.EvalPGDN = 3, 0
	res, err := Train(o, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return res.Checkpoint
}

func quickEvalOptions(ckpts []string, dir string) EvalOptions {
	o := defaultEvalOptions()
	o.Ckpts, o.Report, o.NoProgress = ckpts, dir, true
	o.AccN, o.PGDN, o.PGDSteps, o.SweepN = 40, 20, 3, 10
	o.Sweep = fracList{4.0 / 255}
	o.N, o.IGSteps, o.Steps, o.Step, o.AttackBatch = 6, 4, 4, 2.0/255, 4
	return o
}

// The evaluation attacks the same images for every checkpoint, and its
// report carries every number it printed, per image and summarised.
func TestEvaluateAttributionalRobustness(t *testing.T) {
	ck := tinyCheckpoint(t)
	dir := t.TempDir()
	o := quickEvalOptions([]string{ck, ck}, dir)
	reports, err := Evaluate(o, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 2 {
		t.Fatalf("%d reports", len(reports))
	}
	if err := writeEvalReport(o, reports, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		a := r.Attr
		if a == nil || a.N == 0 || len(a.IFIA.Images) != a.N || len(a.Random.Images) != a.N {
			t.Fatalf("attributional report %+v", a)
		}
		if a.K != 25 { // 100 * 16*16 / (32*32)
			t.Errorf("k = %d, want 25 at 16x16", a.K)
		}
		sum := 0.0
		for _, s := range a.IFIA.Images {
			if !s.Correct {
				t.Errorf("kept iterate of image %d is misclassified", s.Index)
			}
			if s.TopK < 0 || s.TopK > 1 || s.Kendall < -1 || s.Kendall > 1 {
				t.Errorf("image %d: top-k %v, Kendall %v out of range", s.Index, s.TopK, s.Kendall)
			}
			if float64(s.Linf) > float64(o.Eps)+1e-6 {
				t.Errorf("image %d moved %v > eps", s.Index, s.Linf)
			}
			sum += float64(s.TopK)
		}
		if got := float64(a.IFIA.TopK.Mean); math.Abs(got-sum/float64(a.N)) > 1e-9 {
			t.Errorf("mean top-k %v, per-image mean %v", got, sum/float64(a.N))
		}
		if len(r.Sweep) != 3 || r.Sweep[0].Eps != 0 || r.Sweep[1].Eps != 4.0/255 {
			t.Errorf("sweep %+v", r.Sweep)
		}
	}
	for i := range reports[0].Attr.IFIA.Images {
		if reports[0].Attr.IFIA.Images[i].Index != reports[1].Attr.IFIA.Images[i].Index {
			t.Fatal("the checkpoints were attacked on different images")
		}
	}
	// The same checkpoint twice gives the same numbers.
	if reports[0].Attr.IFIA.Kendall.Mean != reports[1].Attr.IFIA.Kendall.Mean {
		t.Errorf("Kendall %v vs %v for the same checkpoint", reports[0].Attr.IFIA.Kendall.Mean, reports[1].Attr.IFIA.Kendall.Mean)
	}

	var got struct {
		Settings EvalOptions   `json:"settings"`
		Models   []ModelReport `json:"models"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Settings.IGSteps != 4 || got.Settings.Attribution != "ig" || len(got.Models) != 2 ||
		got.Models[0].Attr.IFIA.Kendall.Mean != reports[0].Attr.IFIA.Kendall.Mean {
		t.Errorf("report.json does not hold the settings and numbers: %+v", got.Settings)
	}
	var rb []RobustBenchRecord
	b, err = os.ReadFile(filepath.Join(dir, "robustbench.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rb); err != nil {
		t.Fatal(err)
	}
	if len(rb) != 2 || math.Abs(rb[0].CleanAcc-100*float64(reports[0].CleanAcc)) > 1e-9 || rb[0].Architecture == "" ||
		math.Abs(float64(rb[0].Kendall)-100*float64(reports[0].Attr.IFIA.Kendall.Mean)) > 1e-9 {
		t.Errorf("robustbench.json %+v", rb)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| top-k intersection | Kendall's tau | clean acc | PGD-3 acc |") ||
		!strings.Contains(string(md), pct(float64(reports[0].CleanAcc))) {
		t.Errorf("report.md:\n%s", md)
	}
	for _, f := range []string{"attribution_boxplots.png", "pgd_sweep.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestEvalFlagsRejectBadSettings(t *testing.T) {
	ck := tinyCheckpoint(t)
	for _, args := range [][]string{
		{"-ckpt", ck, "-attribution", "lime"},
		{"-ckpt", ck, "-keep", "nothing"},
		{"-ckpt", ck, "-steps", "-1"},
		{"-ckpt", ck, "-pgd-norm", "l3"},
		{"-ckpt", ck, "-n", "0", "-pgd-norm", "l2", "-spsa-n", "2"},
		{"-ckpt", ck, "-n", "0", "-sens-n", "2", "-sens-radius", "0"},
		{"-ckpt", ck, "-n", "0", "-center-n", "-1"},
		{"-ckpt", ck, "-n", "0", "-targeted-n", "2", "-restarts", "0"},
	} {
		if err := runEval(args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
