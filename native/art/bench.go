package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/model"
	"github.com/artrobust/art/shared/train"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// The workloads of ../shared/peer/peer.py, with the same definitions so the
// numbers compare: batch 64 of 3x32x32 uniform images, 10 classes.
var benchNames = []string{"natural", "pgd10", "art", "ig", "ifia_step", "conv", "matmul"}

// BenchResult is one measured workload.
type BenchResult struct {
	Model     string    `json:"model,omitempty"`
	Benchmark string    `json:"benchmark"`
	Median    float64   `json:"median"`
	Best      float64   `json:"best"`
	Unit      string    `json:"unit"`
	Seconds   []float64 `json:"seconds"`
	WarmUp    float64   `json:"warmup_s"`
	PeakRSSMB float64   `json:"peak_rss_mb"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("art bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	models := fs.String("models", "WRN-10-1,WRN-16-4", "comma-separated architectures")
	benches := fs.String("benchmarks", strings.Join(benchNames, ","), "comma-separated workloads: "+strings.Join(benchNames, ", "))
	iters := fs.Int("iters", 5, "timed iterations after one warm-up")
	batch := fs.Int("batch", 64, "batch size of the training steps")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	conv := fs.String("conv", "auto", "convolution formulation: auto, gather, slices, native or subsample")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: art bench [flags]\n\nMeasures the workloads of the PyTorch peer benchmark (../shared/peer/peer.py):\nnatural, PGD-10 and ART training steps (images/s), Integrated Gradients with 100\nsteps on one image (images/s), one IFIA step on IG-100 (steps/s), a 3x3 convolution\nforward+backward and a 1024^3 matmul (GFLOP/s).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	ci, err := model.ParseConvImpl(*conv)
	if err != nil {
		return err
	}
	var wanted []string
	for _, b := range strings.Split(*benches, ",") {
		if b = strings.TrimSpace(b); b == "" {
			continue
		}
		if !slices.Contains(benchNames, b) {
			return fmt.Errorf("unknown benchmark %q (want %s)", b, strings.Join(benchNames, ", "))
		}
		wanted = append(wanted, b)
	}
	if *iters < 1 || *batch < 1 {
		return fmt.Errorf("-iters and -batch must be at least 1")
	}
	backend, err := newBackend()
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "engine: %s\n", engineName(backend))
	}
	var results []BenchResult
	report := func(r BenchResult) {
		results = append(results, r)
		if !*asJSON {
			name := r.Benchmark
			if r.Model != "" {
				name = r.Model + "/" + name
			}
			fmt.Fprintf(stdout, "%-22s %10.3f %-9s (best %.3f; warm-up %.2fs; peak RSS %.0f MB)\n", name, r.Median, r.Unit, r.Best, r.WarmUp, r.PeakRSSMB)
		}
	}
	for _, b := range wanted {
		switch b {
		case "conv":
			r, err := benchConv(backend, ci, *iters)
			if err != nil {
				return err
			}
			report(r)
		case "matmul":
			r, err := benchMatmul(backend, *iters)
			if err != nil {
				return err
			}
			report(r)
		}
	}
	for _, name := range strings.Split(*models, ",") {
		cfg, err := model.ParseArch(strings.TrimSpace(name), 10, 32, 3)
		if err != nil {
			return err
		}
		for _, b := range wanted {
			if b == "conv" || b == "matmul" {
				continue
			}
			r, err := benchModel(backend, cfg, ci, b, *batch, *iters)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", cfg.Name(), b, err)
			}
			report(r)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{
			"backend": backend.String(), "engine": engineName(backend), "goos": runtime.GOOS, "goarch": runtime.GOARCH,
			"cpus": runtime.NumCPU(), "results": results,
		})
	}
	return nil
}

// timeIt runs fn once to warm up (compilation) and then iters times.
func timeIt(iters int, work float64, unit string, fn func() error) (BenchResult, error) {
	t0 := time.Now()
	if err := fn(); err != nil {
		return BenchResult{}, err
	}
	r := BenchResult{Unit: unit, WarmUp: time.Since(t0).Seconds()}
	for range iters {
		t := time.Now()
		if err := fn(); err != nil {
			return BenchResult{}, err
		}
		r.Seconds = append(r.Seconds, time.Since(t).Seconds())
	}
	sorted := slices.Clone(r.Seconds)
	slices.Sort(sorted)
	r.Median = work / sorted[len(sorted)/2]
	r.Best = work / sorted[0]
	r.PeakRSSMB = peakRSSMB()
	return r, nil
}

// peakRSSMB is the process's peak resident set size so far.
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

func benchModel(backend compute.Backend, cfg model.Config, conv model.ConvImpl, b string, batch, iters int) (BenchResult, error) {
	net, err := model.NewNet(backend, cfg, cfg.InitValues(1))
	if err != nil {
		return BenchResult{}, err
	}
	net.Conv = conv
	rng := rand.New(rand.NewPCG(0, 1))
	per := 32 * 32 * 3
	x := make([]float32, batch*per)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]int32, batch)
	for i := range y {
		y[i] = int32(rng.IntN(10))
	}
	var r BenchResult
	switch b {
	case "natural", "pgd10", "art":
		method := map[string]train.Method{"natural": train.Natural, "pgd10": train.PGD, "art": train.ART}[b]
		c := train.DefaultConfig(method)
		c.PGDSteps, c.AttackTopK, c.WeightDecay, c.Nesterov, c.Conv = 10, 0, 5e-4, false, conv
		tr, err := train.NewTrainer(net, c)
		if err != nil {
			return r, err
		}
		noise := tr.Noise(rng, len(x), per)
		r, err = timeIt(iters, float64(batch), "images/s", func() error {
			_, err := tr.Step(x, y, 0.1, noise)
			return err
		})
		if err != nil {
			return r, err
		}
	case "ig":
		x1 := x[:per]
		logits, err := net.Predict(x1, model.ReLU)
		if err != nil {
			return r, err
		}
		t := model.Argmax(logits, 10)
		ig := attribution.IntegratedGradients{Steps: 100, Act: model.ReLU}
		r, err = timeIt(iters, 1, "images/s", func() error {
			_, err := attribution.Attribute(net, ig, x1, t)
			return err
		})
		if err != nil {
			return r, err
		}
	case "ifia_step":
		r, err = benchIFIAStep(net, x[:per], iters)
		if err != nil {
			return r, err
		}
	}
	r.Model, r.Benchmark = cfg.Name(), b
	return r, nil
}

// benchIFIAStep times one step of the top-k attack on IG-100 (softplus model,
// second derivatives) for one image, as peer.py's ifia_step.
func benchIFIAStep(net *model.Net, x1 []float32, iters int) (BenchResult, error) {
	logits, err := net.Predict(x1, model.Softplus(model.DefaultBeta))
	if err != nil {
		return BenchResult{}, err
	}
	label := int32(model.Argmax(logits, 10)[0])
	ig := attribution.IntegratedGradients{Steps: 100, Act: model.Softplus(model.DefaultBeta)}
	mask := make([]float32, 32*32)
	for i := range 100 {
		mask[(i*37)%len(mask)] = 1
	}
	a := attack.DefaultIFIA()
	xt := tensors.FromFlatDataAndDimensions(x1, 1, 32, 32, 3)
	yt := tensors.FromFlatDataAndDimensions([]int32{label}, 1)
	mt := tensors.FromFlatDataAndDimensions(mask, 1, 32, 32)
	adv := xt
	return timeIt(iters, 1, "steps/s", func() error {
		out, err := net.Call("bench/ifia-step", func() (*gmodel.Exec, error) {
			return gmodel.NewExec(net.Backend, net.Store, func(scope *gmodel.Scope, x, adv, y, m *graph.Node) *graph.Node {
				return a.StepGraph(net, ig, x, adv, y, m)
			})
		}, xt, adv, yt, mt)
		if err != nil {
			return err
		}
		adv = out[0]
		return nil
	})
}

// benchConv times a 3x3, 32->64 channel convolution at 32x32, batch 64,
// forward and backward (input and kernel gradients): 3 x 2*N*H*W*9*Cin*Cout FLOPs.
func benchConv(backend compute.Backend, impl model.ConvImpl, iters int) (BenchResult, error) {
	const n, hw, cin, cout = 64, 32, 32, 64
	rng := rand.New(rand.NewPCG(2, 3))
	x := make([]float32, n*hw*hw*cin)
	for i := range x {
		x[i] = rng.Float32()
	}
	w := make([]float32, 9*cin*cout)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.05)
	}
	e, err := graph.NewExec(backend, func(x, w *graph.Node) []*graph.Node {
		y := model.Conv2D(x, w, 1, 1, impl)
		return graph.Gradient(graph.ReduceAllSum(graph.Square(y)), x, w)
	})
	if err != nil {
		return BenchResult{}, err
	}
	xt := tensors.FromFlatDataAndDimensions(x, n, hw, hw, cin)
	wt := tensors.FromFlatDataAndDimensions(w, 3, 3, cin, cout)
	flops := 3 * 2.0 * n * hw * hw * 9 * cin * cout / 1e9
	r, err := timeIt(iters, flops, "GFLOP/s", func() error {
		out, err := e.Call(xt, wt)
		for _, o := range out {
			o.FinalizeAll()
		}
		return err
	})
	r.Benchmark = fmt.Sprintf("conv3x3-%s", model.ResolveConv(impl, backend, 3, 1))
	return r, err
}

// benchMatmul times a 1024^3 float32 matrix product: the backend's practical
// ceiling on this machine.
func benchMatmul(backend compute.Backend, iters int) (BenchResult, error) {
	const n = 1024
	a := make([]float32, n*n)
	rng := rand.New(rand.NewPCG(4, 5))
	for i := range a {
		a[i] = rng.Float32()
	}
	e, err := graph.NewExec(backend, func(a, b *graph.Node) *graph.Node {
		return graph.DotGeneral(a, []int{1}, nil, b, []int{0}, nil)
	})
	if err != nil {
		return BenchResult{}, err
	}
	at := tensors.FromFlatDataAndDimensions(a, n, n)
	r, err := timeIt(iters, 2.0*n*n*n/1e9, "GFLOP/s", func() error {
		out, err := e.Call(at, at)
		for _, o := range out {
			o.FinalizeAll()
		}
		return err
	})
	r.Benchmark = "matmul1024"
	return r, err
}
