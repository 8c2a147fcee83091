package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/checkpoint"
)

func tinyTrainOptions(out string) TrainOptions {
	o := defaultTrainOptions()
	o.Out = out
	o.Size, o.TrainN, o.TestN = 16, 96, 40
	o.Batch, o.Epochs = 32, 2
	o.EvalN, o.EvalPGDN, o.EvalPGD = 40, 20, 2
	o.NoProgress = true
	o.CkptEvery = 0
	return o
}

func readTensors(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	ck, err := checkpoint.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]float32)
	for _, tn := range ck.Tensors {
		v, err := tn.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		out[tn.Name] = v
	}
	return out
}

// A run stopped half-way and resumed must end with exactly the weights,
// batch-norm statistics and momentum of an uninterrupted run.
func TestResumeReproducesAnUninterruptedRun(t *testing.T) {
	for _, method := range []string{"natural", "art"} {
		t.Run(method, func(t *testing.T) {
			whole := tinyTrainOptions(filepath.Join(t.TempDir(), "whole"))
			whole.Method = method
			if method == "art" {
				whole.Epochs = 1
				whole.AttackTopK = 50
			}
			if _, err := Train(whole, io.Discard, io.Discard); err != nil {
				t.Fatal(err)
			}
			split := whole
			split.Out = filepath.Join(t.TempDir(), "split")
			split.MaxSteps = 2
			if _, err := Train(split, io.Discard, io.Discard); err != nil {
				t.Fatal(err)
			}
			ck, err := checkpoint.ReadFile(filepath.Join(split.Out, "model.ckpt"))
			if err != nil {
				t.Fatal(err)
			}
			if ck.Meta.Training.Step != 2 {
				t.Fatalf("the interrupted run's checkpoint is at step %d, want 2", ck.Meta.Training.Step)
			}
			// As if the run had been killed after logging steps past its
			// checkpoint, the last line cut short: the resumed run's log
			// must still hold each step once.
			logPath := filepath.Join(split.Out, "metrics.jsonl")
			f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(`{"kind":"step","step":3,"loss":9}` + "\n" + `{"kind":"st`); err != nil {
				t.Fatal(err)
			}
			f.Close()
			split.MaxSteps = 0
			split.Resume = true
			if _, err := Train(split, io.Discard, io.Discard); err != nil {
				t.Fatal(err)
			}
			if a, b := loggedSteps(t, whole.Out), loggedSteps(t, split.Out); !slices.Equal(a, b) {
				t.Errorf("logged steps: %v uninterrupted, %v resumed", a, b)
			}
			a := readTensors(t, filepath.Join(whole.Out, "model.ckpt"))
			b := readTensors(t, filepath.Join(split.Out, "model.ckpt"))
			if len(a) != len(b) {
				t.Fatalf("%d tensors vs %d", len(a), len(b))
			}
			for name, va := range a {
				vb := b[name]
				for i := range va {
					if va[i] != vb[i] {
						t.Fatalf("%s[%d]: %g uninterrupted, %g resumed", name, i, va[i], vb[i])
					}
				}
			}
		})
	}
}

func TestTrainWritesLogCurvesAndCheckpointMetadata(t *testing.T) {
	o := tinyTrainOptions(t.TempDir())
	var stdout bytes.Buffer
	res, err := Train(o, &stdout, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 6 {
		t.Errorf("%d steps, want 2 epochs of 3", res.Steps)
	}
	ck, err := checkpoint.ReadFile(res.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	m := ck.Meta
	if m.Arch.Name != "WRN-10-1" || m.Method != "natural" || m.Dataset != "shapes" || len(m.ClassNames) != 10 || m.Training.Step != 6 {
		t.Errorf("checkpoint metadata %+v", m)
	}
	if m.Hyper["lr"] != 0.05 || m.Hyper["batch"] != 32.0 {
		t.Errorf("hyper-parameters %v", m.Hyper)
	}
	if _, ok := m.Metrics["clean_acc"]; !ok {
		t.Errorf("metrics %v lack clean_acc", m.Metrics)
	}
	for _, f := range []string{"metrics.jsonl", "curves.png"} {
		if _, err := checkpoint.ReadFile(filepath.Join(o.Out, f)); err == nil {
			t.Errorf("%s parses as a checkpoint", f)
		} else if strings.Contains(err.Error(), "no such file") {
			t.Errorf("%s was not written", f)
		}
	}
	if !strings.Contains(stdout.String(), "epoch 2/2") {
		t.Errorf("output lacks the per-epoch line:\n%s", stdout.String())
	}
}

func TestTrainRejectsBadSettingsWithClearErrors(t *testing.T) {
	for _, tc := range []struct {
		edit func(*TrainOptions)
		msg  string
	}{
		{func(o *TrainOptions) { o.Out = "" }, "-out"},
		{func(o *TrainOptions) { o.Data = "imagenet:/x" }, "unknown dataset"},
		{func(o *TrainOptions) { o.Data = "cifar10:/nonexistent/dir" }, "data_batch_1.bin"},
		{func(o *TrainOptions) { o.PGDEps = -1 }, "negative"},
		{func(o *TrainOptions) { o.Method = "magic" }, "unknown training method"},
		{func(o *TrainOptions) { o.Model = "WRN-11-1" }, "6n+4"},
		{func(o *TrainOptions) { o.Objective = "l1" }, "unknown ART objective"},
		{func(o *TrainOptions) { o.Init = "/nonexistent.ckpt" }, "nonexistent.ckpt"},
		{func(o *TrainOptions) { o.Batch = 1000 }, "fewer than one batch"},
	} {
		o := tinyTrainOptions(t.TempDir())
		tc.edit(&o)
		_, err := Train(o, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("error %v, want one mentioning %q", err, tc.msg)
		}
	}
}

func TestUnknownCommandAndFlagsAreErrors(t *testing.T) {
	if err := run([]string{"fly"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("unknown command: %v", err)
	}
	if err := run([]string{"train", "-nope"}, io.Discard, io.Discard); err == nil {
		t.Error("unknown flag accepted")
	}
	var out bytes.Buffer
	if err := run(nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), "train") {
		t.Errorf("usage: %v %q", err, out.String())
	}
}

func TestFractionFlagParsesRatios(t *testing.T) {
	var f fraction
	if err := f.Set("8/255"); err != nil || float64(f) != 8.0/255 {
		t.Errorf("8/255 -> %v, %v", f, err)
	}
	if err := f.Set("0.5"); err != nil || f != 0.5 {
		t.Errorf("0.5 -> %v, %v", f, err)
	}
	for _, bad := range []string{"x", "1/0", "1/y"} {
		if err := f.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestTrainWithWarpAugmentationAndBalancing(t *testing.T) {
	o := tinyTrainOptions(t.TempDir())
	o.Epochs = 1
	o.Rotate, o.Translate, o.Project, o.Balance = 15, 2, 0.05, true
	res, err := Train(o, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// Shapes classes are balanced already (labels i%10 over 96 images: 10
	// classes of 9 or 10), so balancing brings every class to 10: 100 images.
	if res.Steps != 100/32 {
		t.Errorf("%d steps, want %d", res.Steps, 100/32)
	}
}

// A diverging run stops with a clear message and leaves the last checkpoint
// it wrote intact.
func TestNaNLossStopsTrainingAndKeepsTheLastCheckpoint(t *testing.T) {
	o := tinyTrainOptions(t.TempDir())
	o.Epochs = 1
	if _, err := Train(o, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	before := readTensors(t, filepath.Join(o.Out, "model.ckpt"))
	o.Resume = true
	o.Epochs = 40
	o.LR, o.Warmup = 1e30, 0
	_, err := Train(o, io.Discard, io.Discard)
	if err == nil || !(strings.Contains(err.Error(), "the loss is") || strings.Contains(err.Error(), "no longer finite")) || !strings.Contains(err.Error(), "last good checkpoint") {
		t.Fatalf("diverging run: error %v, want one saying the loss is not finite and naming the kept checkpoint", err)
	}
	after := readTensors(t, filepath.Join(o.Out, "model.ckpt"))
	for name, v := range after {
		for i, x := range v {
			if !finite(float64(x)) {
				t.Fatalf("kept checkpoint holds %v in %s[%d]", x, name, i)
			}
		}
	}
	if len(after) != len(before) {
		t.Fatalf("kept checkpoint has %d tensors, had %d", len(after), len(before))
	}
}
