package main

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/checkpoint"
	"github.com/artrobust/art/shared/model"
)

// A published checkpoint keeps exactly the model's weights (no optimizer
// state), in float16, within half precision of the trained ones, and
// carries the evaluation numbers of its own report entry.
func TestPublishKeepsWeightsInFloat16WithReportMetrics(t *testing.T) {
	src := tinyCheckpoint(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "tiny-natural.ckpt")
	if err := Publish(PublishOptions{Ckpt: src, Out: out, Float16: true}, io.Discard); err != nil {
		t.Fatal(err)
	}
	in, err := checkpoint.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := checkpoint.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := model.ConfigFromMeta(pub.Meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Check(cfg.Shapes()); err != nil {
		t.Fatalf("published tensors are not exactly the model's: %v", err)
	}
	if len(in.Tensors) <= len(pub.Tensors) {
		t.Fatalf("training checkpoint has %d tensors, published %d: optimizer state should be dropped", len(in.Tensors), len(pub.Tensors))
	}
	for _, tn := range pub.Tensors {
		if tn.DType != checkpoint.Float16 {
			t.Fatalf("%s stored as %s, want float16", tn.Name, tn.DType)
		}
		orig, _ := in.Tensor(tn.Name)
		a, _ := orig.Float32s()
		b, _ := tn.Float32s()
		for i := range a {
			// Half precision keeps 11 significant bits: relative error <= 2^-11.
			if d := math.Abs(float64(a[i] - b[i])); d > math.Abs(float64(a[i]))/2048+1e-7 {
				t.Fatalf("%s[%d] = %g, was %g", tn.Name, i, b[i], a[i])
			}
		}
	}
	sIn, _ := os.Stat(src)
	sOut, _ := os.Stat(out)
	if sOut.Size()*2 > sIn.Size() {
		t.Errorf("published %d bytes, training checkpoint %d: want at most half", sOut.Size(), sIn.Size())
	}

	// Evaluate the published file, then publish it again in place with its numbers.
	ev := quickEvalOptions([]string{out}, filepath.Join(dir, "results"))
	reports, err := Evaluate(ev, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeEvalReport(ev, reports, io.Discard); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "results", "report.json")
	if err := Publish(PublishOptions{Ckpt: out, Out: out, Report: report, Float16: true}, io.Discard); err != nil {
		t.Fatal(err)
	}
	again, err := checkpoint.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	r := reports[0]
	want := map[string]float64{
		"clean_acc": float64(r.CleanAcc), "pgd_acc": float64(r.PGDAcc), "acc_n": 40, "pgd_n": 20, "attributional_n": 6,
		"ifia_topk": float64(r.Attr.IFIA.TopK.Mean), "random_sign_topk": float64(r.Attr.Random.TopK.Mean),
	}
	for k, v := range want {
		if got, ok := again.Meta.Metrics[k]; !ok || math.Abs(got-v) > 1e-12 {
			t.Errorf("metric %s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if !strings.Contains(again.Meta.Notes, "IFIA top-k attack on ig (4 steps)") || !strings.Contains(again.Meta.Notes, "6 images") {
		t.Errorf("notes do not describe the evaluation: %q", again.Meta.Notes)
	}
	// Re-publishing a float16 file leaves its weights bit for bit.
	for _, tn := range again.Tensors {
		p, _ := pub.Tensor(tn.Name)
		a, _ := p.Float32s()
		b, _ := tn.Float32s()
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s[%d] changed from %g to %g on re-publishing", tn.Name, i, a[i], b[i])
			}
		}
	}
}

func TestPublishErrors(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	if err := os.WriteFile(report, []byte(`{"settings": {}, "models": [{"checkpoint": "a.ckpt"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	notCkpt := filepath.Join(dir, "x.ckpt")
	if err := os.WriteFile(notCkpt, []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := findReportEntry(report, "b.ckpt", "c.ckpt"); err == nil || !strings.Contains(err.Error(), "no entry for b.ckpt or c.ckpt") {
		t.Errorf("missing entry: %v", err)
	}
	if m, _, err := findReportEntry(report, "./a.ckpt"); err != nil || m.Checkpoint != "a.ckpt" {
		t.Errorf("entry by cleaned path: %v %v", m.Checkpoint, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"publish", "-out", "y.ckpt"}, "-ckpt and -out are required"},
		{[]string{"publish", "-ckpt", notCkpt, "-out", filepath.Join(dir, "y.ckpt")}, "publish: "},
		{[]string{"publish", "-ckpt", "a", "-out", "b", "extra"}, `unexpected argument "extra"`},
	} {
		err := run(c.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "internal error") {
			t.Errorf("%v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
}
