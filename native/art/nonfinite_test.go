package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/data"
)

// No report or log is lost at the end of a run because one number is NaN
// or infinite: report.json and the metrics log write it as null, and the
// checkpoint's hyper-parameters are never dropped over one (a NaN
// -weight-decay used to drop the whole block, the json.Marshal error
// ignored).
func TestReportsLogsAndHyperParametersWriteNonFiniteNumbersAsNull(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	if err := writeJSON(path, ModelReport{Checkpoint: "a.ckpt", CleanAcc: num(math.NaN()), PGDAcc: num(math.Inf(1))}); err != nil {
		t.Fatalf("writeJSON: %v", err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"clean_acc": null`) || !strings.Contains(string(b), `"pgd_acc": null`) {
		t.Errorf("report.json:\n%s", b)
	}
	var log bytes.Buffer
	if err := (nanjsonEncoder{&log}).Encode(EpochRecord{Kind: "step", Step: 3, Loss: 1, CE: math.NaN()}); err != nil {
		t.Fatalf("metrics log: %v", err)
	}
	if !strings.Contains(log.String(), `"ce":null`) || !strings.HasSuffix(log.String(), "}\n") {
		t.Errorf("metrics log line %q", log.String())
	}
	o := defaultTrainOptions()
	o.WeightDecay = math.NaN()
	meta := o.meta(&data.Dataset{Classes: []string{"a", "b"}}, 3, 3, nil)
	if v, ok := meta.Hyper["weight_decay"]; !ok || v != nil || meta.Hyper["lr"] != o.LR {
		t.Errorf("hyper-parameters %v: want every flag, weight_decay null", meta.Hyper)
	}
}
