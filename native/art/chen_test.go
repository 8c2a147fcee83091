package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/checkpoint"
	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/model"
)

func TestMNISTRecipesTakeChensSettings(t *testing.T) {
	o, msg, err := parseTrainFlags(t, "-data", "mnist", "-method", "ig-norm")
	if err != nil {
		t.Fatal(err)
	}
	if o.Applied != "mnist" || o.Model != "MNIST-CNN" || o.Optimizer != "adam" || o.LR != 1e-4 || o.Batch != 50 ||
		o.WeightDecay != 0 || o.LRFactor != 1 || o.CropPad != 0 || o.Flip || o.MaxSteps != 100000 ||
		o.IGSteps != 50 || o.IGApprox != 5 || float64(o.IGAttackEps) != 0.3 || o.IGAttackSteps != 40 ||
		float64(o.IGAttackStep) != 0.01 || o.Lambda != 1 || float64(o.PGDEps) != 0.3 || o.PGDSteps != 40 {
		t.Errorf("mnist ig-norm recipe: %+v", o)
	}
	if !strings.Contains(msg, "recipe mnist") {
		t.Errorf("message %q", msg)
	}
	o, _, _ = parseTrainFlags(t, "-data", "fashion-mnist", "-method", "ig-sum-norm", "-lambda", "0.3", "-model", "WRN-10-1")
	if o.Applied != "fashion-mnist" || float64(o.IGAttackEps) != 0.1 || o.IGAttackSteps != 20 || float64(o.PGDEps) != 0.1 ||
		o.PGDSteps != 20 || o.Lambda != 0.3 || o.Model != "WRN-10-1" {
		t.Errorf("fashion-mnist ig-sum-norm recipe with -lambda and -model given: %+v", o)
	}
	o, _, _ = parseTrainFlags(t, "-data", "mnist", "-method", "ig-sum-norm")
	if o.Lambda != 0.1 {
		t.Errorf("IG-SUM-NORM's lambda %g, want 0.1", o.Lambda)
	}
	o, _, _ = parseTrainFlags(t, "-data", "mnist")
	if o.MaxSteps != 25000 || o.Epochs != 21 {
		t.Errorf("natural training: %d steps, %d epochs; want 25000 and 21", o.MaxSteps, o.Epochs)
	}
	o, _, _ = parseTrainFlags(t, "-recipe", "mnist", "-method", "pgd")
	if o.Applied != "mnist" || o.MaxSteps != 100000 || float64(o.PGDStep) != 0.01 {
		t.Errorf("-recipe mnist on shapes: %+v", o)
	}
	o, msg, _ = parseTrainFlags(t, "-data", "mnist", "-recipe", "none")
	if o.Applied != "" || msg != "" || o.Model != "WRN-10-1" || o.Optimizer != "sgd" {
		t.Errorf("-recipe none: %q %+v", msg, o)
	}
}

// IG-NORM with Adam on the MNIST-CNN, end to end through art train, stopped
// and resumed: the resumed run ends with the weights and Adam state of the
// uninterrupted one.
func TestIGNormWithAdamResumesExactly(t *testing.T) {
	whole := tinyTrainOptions(filepath.Join(t.TempDir(), "whole"))
	whole.Model, whole.Method, whole.Optimizer, whole.LR = "MNIST-CNN", "ig-norm", "adam", 1e-3
	whole.TrainN, whole.Batch, whole.Epochs = 16, 8, 2
	whole.IGSteps, whole.IGApprox, whole.IGAttackSteps, whole.IGAttackEps, whole.IGAttackStep = 2, 1, 1, 0.1, 0.05
	whole.EvalPGDN = 0
	if _, err := Train(whole, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	split := whole
	split.Out = filepath.Join(t.TempDir(), "split")
	split.MaxSteps = 2
	if _, err := Train(split, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	split.MaxSteps, split.Resume = 0, true
	if _, err := Train(split, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	a := readTensors(t, filepath.Join(whole.Out, "model.ckpt"))
	b := readTensors(t, filepath.Join(split.Out, "model.ckpt"))
	if s := a["/optimizer/adam/step"]; len(s) != 1 || s[0] != 4 {
		t.Errorf("Adam's step count %v, want [4]", s)
	}
	if _, ok := a["/optimizer/adam/second/fc1/weights"]; !ok {
		t.Error("the checkpoint lacks Adam's second moments")
	}
	for name, va := range a {
		vb := b[name]
		if len(vb) != len(va) {
			t.Fatalf("%s: %d values uninterrupted, %d resumed", name, len(va), len(vb))
		}
		for i := range va {
			if va[i] != vb[i] {
				t.Fatalf("%s[%d]: %g uninterrupted, %g resumed", name, i, va[i], vb[i])
			}
		}
	}
}

// -protocol chen sets Chen et al.'s evaluation for the flags not given (the
// names exist: art eval's own flag set takes them), and refuses datasets it
// has no settings for.
func TestChenProtocolPresetsTheFlagsNotGiven(t *testing.T) {
	var out bytes.Buffer
	err := runEval([]string{"-ckpt", "/nowhere/x.ckpt", "-data", "fashion-mnist", "-protocol", "chen", "-restarts", "1"}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "/nowhere/x.ckpt") {
		t.Errorf("error %v, want one about the missing checkpoint", err)
	}
	msg := out.String()
	for _, want := range []string{"protocol chen", "-eps 0.1 ", "-steps 100", "-attack-k 100", "-k 100", "-beta 1", "-ig-rule right", "-pgd-steps 20"} {
		if !strings.Contains(msg, want) {
			t.Errorf("protocol message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "-restarts") {
		t.Errorf("protocol overrode the given -restarts: %q", msg)
	}
	out.Reset()
	_ = runEval([]string{"-ckpt", "/nowhere/x.ckpt", "-data", "mnist", "-protocol", "chen"}, &out, io.Discard)
	if msg := out.String(); !strings.Contains(msg, "-eps 0.3 ") || !strings.Contains(msg, "-attack-k 200") || !strings.Contains(msg, "-restarts 3") {
		t.Errorf("mnist protocol message %q", msg)
	}
	for _, args := range [][]string{
		{"-ckpt", "/nowhere/x.ckpt", "-protocol", "chen"}, // shapes
		{"-ckpt", "/nowhere/x.ckpt", "-protocol", "nature"},
	} {
		if err := runEval(args, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "-protocol") {
			t.Errorf("%v: %v, want an error about -protocol", args, err)
		}
	}
}

// -protocol paper sets the ART reference's evaluation for the flags not
// given.
func TestPaperProtocolPresetsTheFlagsNotGiven(t *testing.T) {
	var out bytes.Buffer
	err := runEval([]string{"-ckpt", "/nowhere/x.ckpt", "-protocol", "paper", "-n", "7"}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "/nowhere/x.ckpt") {
		t.Errorf("error %v, want one about the missing checkpoint", err)
	}
	msg := out.String()
	for _, want := range []string{"protocol paper", "-ig-steps 100", "-ig-rule trapezoid", "-steps 50", "-random-start true", "-keep kendall-topk"} {
		if !strings.Contains(msg, want) {
			t.Errorf("protocol message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "-n ") {
		t.Errorf("protocol overrode the given -n: %q", msg)
	}
}

// Without -data, art eval evaluates on the dataset the checkpoint names.
func TestEvalTakesTheCheckpointsDataset(t *testing.T) {
	cfg, err := model.ParseArch("MNIST-CNN", 10, 28, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newBackend(trainingWork)
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.NewNet(b, cfg, cfg.InitValues(1))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := net.Checkpoint(checkpoint.Meta{Method: "natural", Dataset: "fashion-mnist:/nowhere/fmnist"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.ckpt")
	if err := checkpoint.WriteFile(path, ck); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = runEval([]string{"-ckpt", path, "-n", "0"}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "/nowhere/fmnist") || !strings.Contains(out.String(), "data: fashion-mnist:/nowhere/fmnist") {
		t.Errorf("error %v, output %q: want the checkpoint's dataset used", err, out.String())
	}
}

// -image mnist:INDEX is that MNIST test image with its label (skipped
// where the module proxy cannot be reached).
func TestInputImageFromMNIST(t *testing.T) {
	if _, _, err := loadInput("mnist:x", 28, 1, 1); err == nil || !strings.Contains(err.Error(), "want mnist:INDEX") {
		t.Errorf("mnist:x: %v", err)
	}
	if _, err := data.MNISTDir(); err != nil {
		t.Skipf("no MNIST: %v", err)
	}
	x, label, err := loadInput("mnist:0", 28, 1, 1)
	if err != nil || len(x) != 784 || label != 7 {
		t.Fatalf("mnist:0: %d values, label %d, %v; want 784 values of a 7", len(x), label, err)
	}
	if _, _, err := loadInput("mnist:10000", 28, 1, 1); err == nil || !strings.Contains(err.Error(), "has 10000 images") {
		t.Errorf("mnist:10000: %v", err)
	}
	if _, _, err := loadInput("mnist:1", 32, 3, 1); err == nil || !strings.Contains(err.Error(), "28x28x1") {
		t.Errorf("mnist image for a 32x32x3 model: %v", err)
	}
}
