package main

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/checkpoint"
	"github.com/artrobust/art/shared/corrupt"
	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/model"
)

// Hand-computed: Φ(x) = (3,4), ||Φ(x)|| = 5; the samples move the map by
// 1, 3 and 0.5 over input distances 0.1, 0.5 and 0.2.
func TestMapSensitivityKnownValues(t *testing.T) {
	x, phi := []float32{0, 0}, []float32{3, 4}
	xs := [][]float32{{0.1, 0}, {0, 0.5}, {0.2, 0}}
	phis := [][]float32{{3, 5}, {3, 1}, {3, 4.5}}
	sens, lip := mapSensitivity(x, phi, xs, phis)
	if math.Abs(sens-0.6) > 1e-6 || math.Abs(lip-10) > 1e-5 {
		t.Errorf("sensitivity %v, Lipschitz %v; want 0.6, 10", sens, lip)
	}
	sens, lip = mapSensitivity(x, []float32{0, 0}, xs[:1], [][]float32{{0, 0}})
	if !math.IsNaN(sens) || lip != 0 {
		t.Errorf("zero map: sensitivity %v (want NaN), Lipschitz %v (want 0)", sens, lip)
	}
}

func loadTest(t *testing.T, ck string, seed uint64) (*model.Net, *data.Dataset) {
	t.Helper()
	backend, err := newBackend(trainingWork)
	if err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.ReadFile(ck)
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.LoadNet(backend, c)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := data.ParseSpec("shapes")
	if err != nil {
		t.Fatal(err)
	}
	test, err := spec.Load("test", data.LoadOptions{Size: net.Config.InputSize, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return net, test
}

// Every optional section of the evaluation lands in the report with numbers
// that agree with independent recomputations.
func TestEvaluateRobustnessSections(t *testing.T) {
	ck := tinyCheckpoint(t)
	o2 := tinyTrainOptions(filepath.Join(t.TempDir(), "other"))
	o2.Epochs, o2.EvalPGDN, o2.Seed = 1, 0, 7
	res2, err := Train(o2, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	o := quickEvalOptions([]string{ck, res2.Checkpoint}, dir)
	o.N, o.Sweep = 0, nil
	o.Corruptions, o.Transfer = 10, true
	o.SPSAN, o.SPSAIters, o.SPSASamples = 4, 5, 8
	o.SpatialN, o.SpatialRotations, o.SpatialTranslations = 6, 3, 3
	o.SensN, o.SensSamples, o.Attribution = 4, 3, "grad"
	reports, err := Evaluate(o, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeEvalReport(o, reports, io.Discard); err != nil {
		t.Fatal(err)
	}
	net, test := loadTest(t, ck, o.Seed)
	r := reports[0]

	c := r.Corruptions
	if c == nil || c.N != 10 || len(c.Types) != 15 {
		t.Fatalf("corruption report %+v", c)
	}
	mean := 0.0
	for i, ty := range c.Types {
		if ty.Name != corrupt.Names()[i] || len(ty.Severity) != corrupt.Severities {
			t.Fatalf("type %d: %+v", i, ty)
		}
		m := 0.0
		for _, a := range ty.Severity {
			m += a / corrupt.Severities
		}
		if math.Abs(m-ty.Mean) > 1e-12 {
			t.Errorf("%s: mean %v, mean of severities %v", ty.Name, ty.Mean, m)
		}
		mean += ty.Mean / 15
	}
	if math.Abs(mean-c.Mean) > 1e-12 {
		t.Errorf("overall mean %v, mean of types %v", c.Mean, mean)
	}
	// Gaussian noise at severity 5, recomputed image by image.
	x, y := gather(test, firstN(10))
	bad, err := corrupt.ApplyBatch("gaussian_noise", 5, x, 10, test.Height, test.Width, test.Channels, o.Seed)
	if err != nil {
		t.Fatal(err)
	}
	per := test.ImageSize()
	ok := 0
	for i := range y {
		logits, err := net.Predict(bad[i*per:(i+1)*per], model.ReLU)
		if err != nil {
			t.Fatal(err)
		}
		if model.Argmax(logits, net.Config.NumClasses)[0] == y[i] {
			ok++
		}
	}
	if got := c.Types[0].Severity[4]; got != float64(ok)/10 {
		t.Errorf("gaussian_noise/5 accuracy %v, recomputed %v", got, float64(ok)/10)
	}

	for ti, tr := range reports {
		if len(tr.Transfer) != 2 {
			t.Fatalf("transfer row %+v", tr.Transfer)
		}
		if tr.Transfer[ti].Source != tr.Checkpoint || tr.Transfer[ti].Acc != float64(tr.PGDAcc) {
			t.Errorf("%s: own examples give %v, white-box PGD %v", tr.Checkpoint, tr.Transfer[ti].Acc, tr.PGDAcc)
		}
	}

	// The grid holds the identity, so the spatial accuracy is at most the
	// clean one; with the identity alone it is the clean one.
	clean, err := accuracy(net, test, firstN(6))
	if err != nil {
		t.Fatal(err)
	}
	if r.Spatial == nil || r.Spatial.N != 6 || r.Spatial.Acc > clean {
		t.Errorf("spatial %+v, clean %v", r.Spatial, clean)
	}
	id, err := spatialAccuracy(net, test, firstN(6), attack.Spatial{Rotations: 1, Translations: 1})
	if err != nil || id != clean {
		t.Errorf("identity grid: %v (%v), clean %v", id, err, clean)
	}

	// SPSA with no iterations leaves the images as they are, and it never
	// un-fools an image (it stops at the first misclassification).
	s0, err := spsaAccuracy(net, test, firstN(4), attack.SPSA{Eps: 8.0 / 255, Samples: 2, LR: 0.01, Delta: 0.01})
	clean4, err2 := accuracy(net, test, firstN(4))
	if err != nil || err2 != nil || s0 != clean4 {
		t.Errorf("SPSA without iterations: %v (%v), clean %v (%v)", s0, err, clean4, err2)
	}
	if r.SPSA == nil || r.SPSA.N != 4 || r.SPSA.Acc > clean4 || r.SPSA.PGDAcc < 0 || r.SPSA.PGDAcc > 1 {
		t.Errorf("SPSA %+v, clean %v", r.SPSA, clean4)
	}

	sn := r.Sensitivity
	if sn == nil || sn.N != 4 || sn.MaxSensitivity.N != 4 || !(sn.MaxSensitivity.Mean >= 0) || !(sn.Lipschitz.Mean >= 0) {
		t.Errorf("sensitivity %+v", sn)
	}

	var got struct {
		Models []map[string]json.RawMessage `json:"models"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"corruptions", "spsa", "transfer", "spatial", "explanation_sensitivity"} {
		if _, ok := got.Models[1][k]; !ok {
			t.Errorf("report.json lacks models[].%s", k)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| gaussian_noise |", "| **mean** |", "| SPSA acc | PGD acc |", "| source → target |", "| spatial acc |", "| max-sensitivity | local Lipschitz |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
}

// -pgd-norm l2 switches the radius, step and sweep to their L2 defaults
// unless given, and the threat model of robustbench.json follows.
func TestEvalL2Defaults(t *testing.T) {
	ck := tinyCheckpoint(t)
	dir := t.TempDir()
	args := []string{"-ckpt", ck, "-pgd-norm", "l2", "-n", "0", "-acc-n", "20", "-pgd-n", "10", "-pgd-steps", "2",
		"-pgd-sweep-n", "10", "-no-progress", "-report", dir}
	if err := runEval(args, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Settings EvalOptions   `json:"settings"`
		Models   []ModelReport `json:"models"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	s := rep.Settings
	if s.PGDNorm != "l2" || s.PGDEps != 0.5 || s.PGDStep != 0.1 || len(rep.Models[0].Sweep) != 4 || rep.Models[0].Sweep[3].Eps != 1 {
		t.Errorf("settings %+v, sweep %+v", s, rep.Models[0].Sweep)
	}
	var rb []RobustBenchRecord
	b, err = os.ReadFile(filepath.Join(dir, "robustbench.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rb); err != nil || rb[0].ThreatModel != "L2" || rb[0].Eps != 0.5 {
		t.Errorf("robustbench.json %+v (%v)", rb, err)
	}
}
