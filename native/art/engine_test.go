package main

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/model"
	"github.com/artrobust/art/shared/train"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// testORTLib returns the ONNX Runtime library for the tests: ART_ORT_LIB, or
// the one `./build.sh ort` puts under the repository; the test skips
// without one.
func testORTLib(t *testing.T) string {
	t.Helper()
	if !ortLinked {
		t.Skip("built without cgo: no ONNX Runtime backend")
	}
	lib := os.Getenv(ortLibEnv)
	if lib == "" {
		lib = filepath.Join("..", "..", ortFetchedLib)
		if usableLib(lib) != nil {
			lib = filepath.Join("..", "..", ortNodeLib())
		}
	}
	if usableLib(lib) != nil {
		t.Skipf("no ONNX Runtime library (run ./build.sh ort, or set %s): %v", ortLibEnv, usableLib(lib))
	}
	return lib
}

func envLookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// TestEngineChoiceOrder checks the documented order: GOMLX_BACKEND, then
// ART_ORT_LIB, then (for attribution work, or ART_ORT_LIB=auto) the search
// paths, then the Go backend.
func TestEngineChoiceOrder(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, ortLibName)
	if err := os.WriteFile(lib, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.so")
	cases := []struct {
		env    map[string]string
		search []string
		w      work
		want   string // config prefix; "" for an error
	}{
		{map[string]string{"GOMLX_BACKEND": "xla:cpu", ortLibEnv: lib}, []string{lib}, attributionWork, "xla:cpu"},
		{nil, []string{missing, lib}, trainingWork, "go"},
		{nil, []string{missing, lib}, attributionWork, "onnx:" + lib + ","},
		{nil, []string{missing}, attributionWork, "go"},
		{map[string]string{ortLibEnv: "auto"}, []string{missing, lib}, trainingWork, "onnx:" + lib + ","},
		{map[string]string{ortLibEnv: "auto"}, []string{missing}, trainingWork, "go"},
		{map[string]string{ortLibEnv: "off"}, []string{lib}, trainingWork, "go"},
		{map[string]string{ortLibEnv: "off"}, []string{lib}, attributionWork, "go"},
		{map[string]string{ortLibEnv: ""}, []string{lib}, attributionWork, "go"},
		{map[string]string{ortLibEnv: lib}, nil, trainingWork, "onnx:" + lib + ","},
		{map[string]string{ortLibEnv: missing}, []string{lib}, attributionWork, ""},
		{map[string]string{ortLibEnv: dir}, nil, trainingWork, ""},
		{map[string]string{ortLibEnv: lib + ",x"}, nil, trainingWork, ""},
	}
	for i, c := range cases {
		got, err := chooseEngine(envLookup(c.env), c.search, c.w)
		if !ortLinked && c.env["GOMLX_BACKEND"] == "" {
			if err != nil || got.config != "go" {
				t.Errorf("case %d without ONNX Runtime compiled in: %q, %v; want the Go backend", i, got.config, err)
			}
			continue
		}
		switch {
		case c.want == "" && err == nil:
			t.Errorf("case %d: chose %q, want an error", i, got.config)
		case c.want != "" && err != nil:
			t.Errorf("case %d: %v", i, err)
		case c.want != "" && !strings.HasPrefix(got.config, c.want):
			t.Errorf("case %d: chose %q, want %q...", i, got.config, c.want)
		}
	}
}

// TestFoundLibraryThatFailsFallsBackToGo: with ART_ORT_LIB=auto, a file found on the search path
// that is no library leaves a note and the Go backend; the same file named
// by ART_ORT_LIB is an error.
func TestFoundLibraryThatFailsFallsBackToGo(t *testing.T) {
	if !ortLinked {
		t.Skip("built without cgo: no ONNX Runtime backend")
	}
	lib := filepath.Join(t.TempDir(), ortLibName)
	if err := os.WriteFile(lib, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	b, err := startEngine(envLookup(map[string]string{ortLibEnv: "auto"}), []string{lib}, &stderr, trainingWork)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != "go" || !strings.Contains(stderr.String(), "using the Go backend") {
		t.Errorf("backend %s, note %q; want the Go backend and a note", b, stderr.String())
	}
	if _, err := startEngine(envLookup(map[string]string{ortLibEnv: lib}), nil, &stderr, trainingWork); err == nil {
		t.Error("ART_ORT_LIB naming a broken library was accepted")
	}
}

// engineOutputs are the numbers TestORTMatchesGoBackend compares.
type engineOutputs struct{ logits, ig, gradCAM, artLoss, artLossGrad []float32 }

func engineRun(t *testing.T, b compute.Backend, cfg model.Config, x []float32, labels []int) engineOutputs {
	t.Helper()
	net, err := model.NewNet(b, cfg, cfg.InitValues(11))
	if err != nil {
		t.Fatal(err)
	}
	xt, err := net.Batch(x)
	if err != nil {
		t.Fatal(err)
	}
	lt := make([]int32, len(labels))
	for i, l := range labels {
		lt[i] = int32(l)
	}
	labelsT := tensors.FromFlatDataAndDimensions(lt, len(lt))
	out, err := net.Call("engine-test", func() (*gmodel.Exec, error) {
		return gmodel.NewExec(b, net.Store, func(scope *gmodel.Scope, x, y *graph.Node) []*graph.Node {
			logits := net.Logits(x, model.Pass{Act: model.ReLU})
			// The ART term and its input gradient: second derivatives
			// through every convolution, strided ones included.
			xadv := graph.AddScalar(graph.MulScalar(x, 0.9), 0.05)
			loss := train.AttributionLoss(net, x, xadv, y, model.Pass{Act: model.Softplus(model.DefaultBeta), Train: true}, train.TripletCosine)
			g := graph.Gradient(graph.ReduceAllSum(loss), x)[0]
			return []*graph.Node{logits, loss, g}
		})
	}, xt, labelsT)
	if err != nil {
		t.Fatal(err)
	}
	var o engineOutputs
	for i, p := range []*[]float32{&o.logits, &o.artLoss, &o.artLossGrad} {
		if *p, err = tensors.CopyFlatData[float32](out[i]); err != nil {
			t.Fatal(err)
		}
	}
	o.ig, err = attribution.Attribute(net, attribution.IntegratedGradients{Steps: 16, Act: model.Softplus(model.DefaultBeta)}, x, labels)
	if err != nil {
		t.Fatal(err)
	}
	if o.gradCAM, err = attribution.Attribute(net, attribution.GradCAM{Act: model.ReLU}, x, labels); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestORTMatchesGoBackend checks that ONNX Runtime computes the same logits,
// Integrated Gradients and Grad-CAM maps, ART loss and its input gradient as the Go
// backend, to 1e-4 of each quantity's largest magnitude (3e-4 for the
// gradient), on a WRN-10-1 (it has stride-2 3x3 and 1x1 convolutions).
func TestORTMatchesGoBackend(t *testing.T) {
	lib := testORTLib(t)
	disableORTDownload()
	ort, err := compute.NewWithConfig(ortConfig(lib))
	if err != nil {
		t.Fatalf("starting ONNX Runtime from %s: %v", lib, err)
	}
	goB, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := model.ParseArch("WRN-10-1", 10, 16, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 3*16*16*3)
	for i := range x {
		x[i] = rng.Float32()
	}
	labels := []int{1, 4, 7}
	want, got := engineRun(t, goB, cfg, x, labels), engineRun(t, ort, cfg, x, labels)
	// The input gradient of the ART loss is a third derivative through
	// softplus(beta=50), whose curvature amplifies float32 rounding (it
	// differed by 5e-5 of its scale here): it gets 3e-4.
	for _, q := range []struct {
		name      string
		want, got []float32
		tol       float64
	}{{"logits", want.logits, got.logits, 1e-4}, {"IG map", want.ig, got.ig, 1e-4},
		{"Grad-CAM map", want.gradCAM, got.gradCAM, 1e-4}, {"ART loss", want.artLoss, got.artLoss, 1e-4},
		{"ART loss input gradient", want.artLossGrad, got.artLossGrad, 3e-4}} {
		scale := 0.0
		for _, v := range q.want {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		if scale == 0 || len(q.got) != len(q.want) {
			t.Fatalf("%s: %d values (largest %g) against %d: the comparison would prove nothing", q.name, len(q.want), scale, len(q.got))
		}
		worst := 0.0
		for i := range q.want {
			worst = math.Max(worst, math.Abs(float64(q.got[i]-q.want[i]))/scale)
		}
		t.Logf("%s: largest difference %.2g of the largest value %.3g", q.name, worst, scale)
		if !(worst <= q.tol) {
			t.Errorf("%s differs by %.3g of its scale between ONNX Runtime and the Go backend", q.name, worst)
		}
	}
}
