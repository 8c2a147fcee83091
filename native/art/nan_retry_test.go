package main

import (
	"bytes"
	"io"
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
