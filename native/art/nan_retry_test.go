package main

import (
	"bytes"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/checkpoint"
)

// With -nan-retries, a run whose loss stops being finite goes back to the
// last good checkpoint, scales the learning rate by -nan-lr-factor and goes
// on: here a learning rate of 1e30 diverges at once, the retry at 1e30 *
// 1e-31 = 0.1 trains to the end, and the checkpoint records the scale.
func TestNaNRetriesReduceTheLearningRateAndFinish(t *testing.T) {
	o := tinyTrainOptions(t.TempDir())
	o.Epochs, o.EvalPGDN = 1, 0
	o.LR, o.Warmup = 1e30, 0
	o.NaNRetries, o.NaNLRFactor = 3, 1e-31
	var stdout bytes.Buffer
	res, err := Train(o, &stdout, io.Discard)
	if err != nil {
		t.Fatalf("run with -nan-retries 3: %v\n%s", err, stdout.String())
	}
	if n := strings.Count(stdout.String(), "retry "); n != 1 {
		t.Errorf("%d retries reported, want 1:\n%s", n, stdout.String())
	}
	if !strings.Contains(stdout.String(), "retry 1 of 3 from the checkpoint at step 0 with the learning rate scaled by 1e-31") {
		t.Errorf("the retry is not reported as expected:\n%s", stdout.String())
	}
	if want := 96 / 32; res.Steps != want {
		t.Errorf("finished at step %d, want %d", res.Steps, want)
	}
	ck, err := checkpoint.ReadFile(filepath.Join(o.Out, "model.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if name := firstNonFinite(ck); name != "" {
		t.Errorf("final checkpoint holds a non-finite value in %s", name)
	}
	if s := ck.Meta.Hyper["lr_scale"]; s != 1e-31 {
		t.Errorf("checkpoint records lr_scale %v, want 1e-31", s)
	}
	if ck.Meta.Training.Step != 3 {
		t.Errorf("checkpoint at step %d, want 3", ck.Meta.Training.Step)
	}
	// The steps redone after the retry are logged once.
	if got := loggedSteps(t, o.Out); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("metrics.jsonl logs steps %v, want [1 2 3]", got)
	}
}

// When every retry diverges too, training stops after the last one with a
// one-line message that counts the retries and names the kept checkpoint,
// which is still the finite starting point.
func TestNaNRetriesGiveUpAfterTheLastRetry(t *testing.T) {
	o := tinyTrainOptions(t.TempDir())
	o.Epochs, o.EvalPGDN = 1, 0
	o.LR, o.Warmup = 1e30, 0
	o.NaNRetries, o.NaNLRFactor = 2, 0.5
	var stdout bytes.Buffer
	_, err := Train(o, &stdout, io.Discard)
	if err == nil {
		t.Fatal("a run diverging at every learning rate tried finished without an error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "after 2 retries with the learning rate scaled by 0.25") ||
		!strings.Contains(msg, "last good checkpoint "+filepath.Join(o.Out, "model.ckpt")) || strings.Contains(msg, "\n") {
		t.Errorf("error %q, want one line counting 2 retries at scale 0.25 and naming the checkpoint", msg)
	}
	if n := strings.Count(stdout.String(), "retry "); n != 2 {
		t.Errorf("%d retries reported, want 2", n)
	}
	ck, err := checkpoint.ReadFile(filepath.Join(o.Out, "model.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if name := firstNonFinite(ck); name != "" || ck.Meta.Training.Step != 0 {
		t.Errorf("kept checkpoint: step %d, non-finite tensor %q; want the finite starting point", ck.Meta.Training.Step, name)
	}
}

// A checkpoint is good only if its weights are finite and the losses that
// produced them and that were computed on them are finite and have not
// exploded. At a learning rate of 1e6 the second loss is about 1e10, so the
// checkpoints written every step from then on are poisoned (weights up to
// 7e13 in the issue) though finite: they are not kept, and every retry goes
// back to the finite starting point, whose weights are those of a fresh
// network.
func TestRetriesGoBackToTheLastCheckpointThatPasses(t *testing.T) {
	o := tinyTrainOptions(t.TempDir())
	o.Epochs, o.EvalPGDN, o.CkptEvery = 3, 0, 1
	o.LR, o.Warmup = 1e6, 0
	o.NaNRetries, o.NaNLRFactor = 2, 0.5
	var stdout bytes.Buffer
	_, err := Train(o, &stdout, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "the last good checkpoint "+filepath.Join(o.Out, "model.ckpt")+" (step 0) is kept") {
		t.Fatalf("error %v, want one keeping the checkpoint of step 0\n%s", err, stdout.String())
	}
	for _, want := range []string{"retry 1 of 2 from the checkpoint at step 0", "retry 2 of 2 from the checkpoint at step 0",
		"is over 100 times its running median"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output does not say %q:\n%s", want, stdout.String())
		}
	}
	ck, err := checkpoint.ReadFile(filepath.Join(o.Out, "model.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Meta.Training.Step != 0 {
		t.Errorf("kept checkpoint of step %d, want 0", ck.Meta.Training.Step)
	}
	for _, tn := range ck.Tensors {
		v, _ := tn.Float32s()
		for i, x := range v {
			if !(math.Abs(float64(x)) < 100) {
				t.Fatalf("kept checkpoint holds %g in %s[%d]", x, tn.Name, i)
			}
		}
	}
}

// The loss watch: non-finite losses and those over 100 times the running
// median (or 100, for small losses) are not good; the others are.
func TestLossWatchTellsExplodedLosses(t *testing.T) {
	var w lossWatch
	for i, tc := range []struct {
		loss float64
		good bool
	}{{2.3, true}, {2.1, true}, {91, true}, {231, false}, {math.NaN(), false}, {math.Inf(1), false}, {1.9, true},
		{0.01, true}, {0.01, true}, {0.01, true}, {0.01, true}, {0.01, true}, {0.5, true}, {99, true}, {100.5, false}} {
		if got := w.check(tc.loss) == ""; got != tc.good {
			t.Errorf("loss #%d %g: good %v, want %v (recent %v)", i, tc.loss, got, tc.good, w.recent)
		}
	}
}
