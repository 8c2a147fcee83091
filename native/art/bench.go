package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/model"
	"github.com/artrobust/art/shared/nanjson"
	"github.com/artrobust/art/shared/train"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// The workloads of ../shared/peer/peer.py, with the same definitions so the
// numbers compare: batch 64 of 3x32x32 uniform images, 10 classes.
var benchNames = []string{"natural", "pgd10", "art", "ig", "ifia_step", "convs", "products", "conv", "matmul"}

// BenchResult is one measured workload.
type BenchResult struct {
	Model     string    `json:"model,omitempty"`
	Benchmark string    `json:"benchmark"`
	Median    float64   `json:"median"`
	Best      float64   `json:"best"`
	Unit      string    `json:"unit"`
	Seconds   []float64 `json:"seconds"`
	WarmUp    float64   `json:"warmup_s"`
	// PeakRSSMB is the peak resident set size during this workload (the
	// process's peak where the kernel's mark cannot be reset); the RSS
	// fields are the resident size before, after the warm-up and after the
	// last timed iteration.
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	RSSStartMB float64 `json:"rss_start_mb"`
	RSSWarmMB  float64 `json:"rss_warm_mb"`
	RSSEndMB   float64 `json:"rss_end_mb"`
	// MemLimitMB is the soft memory limit set after the warm-up (0: none,
	// GOMEMLIMIT chose).
	MemLimitMB float64 `json:"mem_limit_mb,omitempty"`
	// GFLOP is the matrix-product work of one iteration (see
	// passesPerStep) and GFLOPs the median rate; 0 where not counted.
	GFLOP  float64 `json:"gflop,omitempty"`
	GFLOPs float64 `json:"gflops,omitempty"`
	// Compiled is how many graphs the model's executables built over the
	// warm-up and every timed iteration (1 when nothing is rebuilt).
	Compiled int `json:"compiled_graphs,omitempty"`
	// PassSeconds (convs and products only) is the median time of one pass
	// of each kind over all layers: forward, input_grad, kernel_grad.
	PassSeconds map[string]float64 `json:"pass_seconds,omitempty"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("art bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	models := fs.String("models", "WRN-10-1,WRN-16-4", "comma-separated architectures")
	benches := fs.String("benchmarks", strings.Join(benchNames, ","), "comma-separated workloads: "+strings.Join(benchNames, ", "))
	iters := fs.Int("iters", 5, "timed iterations after one warm-up")
	batch := fs.Int("batch", 64, "batch size of the training steps")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	peer := fs.String("peer", "", "also run the PyTorch peer benchmark `peer.py` (e.g. ../shared/peer/peer.py) per model, right before this project's run")
	python := fs.String("python", "/usr/bin/python3", "the Python interpreter that runs -peer")
	table := fs.String("table", "", "write a markdown comparison table (with the peer's numbers when -peer is given) to this `file`, between its "+tableBegin+" and "+tableEnd+" lines if it has them")
	conv := fs.String("conv", "auto", "convolution formulation: auto, gather, slices, native, subsample or s2d")
	parts := fs.Int("conv-parts", model.ConvBatchParts, "split each gather convolution's batch into this many groups that the Go backend copies concurrently (1: no split)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: art bench [flags]\n\nMeasures the workloads of the PyTorch peer benchmark (../shared/peer/peer.py):\nnatural, PGD-10 and ART training steps (images/s), Integrated Gradients with 100\nsteps on one image (images/s), one IFIA step on IG-100 (steps/s); the model's\nconvolutions alone and their matrix products alone, per kind of pass (convs,\nproducts: GFLOP/s, and the ceilings they set on the other workloads); a 3x3\nconvolution forward+backward and a 1024^3 matmul (GFLOP/s).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
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
	if *iters < 1 || *batch < 1 || *parts < 1 {
		return fmt.Errorf("-iters, -batch and -conv-parts must be at least 1")
	}
	if err := checkOutputFile("-table", *table); err != nil {
		return err
	}
	model.ConvBatchParts = *parts
	backend, err := newBackend(trainingWork)
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
			printBenchLine(stdout, r)
		}
	}
	var modelNames []string
	for _, name := range strings.Split(*models, ",") {
		if name = strings.TrimSpace(name); name != "" {
			modelNames = append(modelNames, name)
		}
	}
	var peerResults []peerResult
	if *peer != "" {
		for _, name := range modelNames {
			if _, err := model.ParseArch(name, 10, 32, 3); err != nil {
				return err
			}
		}
		// Per model, the peer right before this project, so that both see
		// about the same machine load.
		for _, name := range modelNames {
			pr, err := runPeer(*python, *peer, name, wanted, *batch, *iters, stderr)
			if err != nil {
				return err
			}
			peerResults = append(peerResults, pr...)
			if err := runBenchmarks(backend, []string{name}, wanted, false, ci, *batch, *iters, report); err != nil {
				return err
			}
		}
		if err := runBenchmarks(backend, nil, wanted, true, ci, *batch, *iters, report); err != nil {
			return err
		}
	} else if err := runBenchmarks(backend, modelNames, wanted, true, ci, *batch, *iters, report); err != nil {
		return err
	}
	if t := ceilingTable(results, peerResults); t != "" && !*asJSON {
		fmt.Fprint(stdout, t)
	}
	if *table != "" {
		if err := writeTable(*table, comparisonTable(results, peerResults, engineName(backend), os.Args)); err != nil {
			return fmt.Errorf("writing the comparison table: %w", err)
		}
	}
	if *asJSON {
		b, err := nanjson.MarshalIndent(map[string]any{
			"backend": backend.String(), "engine": engineName(backend), "goos": runtime.GOOS, "goarch": runtime.GOARCH,
			"cpus": runtime.NumCPU(), "results": results, "peer": peerResults,
		}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	return nil
}

// runBenchmarks runs the wanted workloads: with kernels, the convolution
// and matmul ones; then the model ones for every architecture in models.
func runBenchmarks(backend compute.Backend, models, wanted []string, kernels bool, ci model.ConvImpl, batch, iters int, report func(BenchResult)) error {
	for _, b := range wanted {
		if !kernels {
			break
		}
		switch b {
		case "conv":
			r, err := benchConv(backend, ci, iters)
			if err != nil {
				return err
			}
			report(r)
		case "matmul":
			r, err := benchMatmul(backend, iters)
			if err != nil {
				return err
			}
			report(r)
		}
	}
	for _, name := range models {
		cfg, err := model.ParseArch(name, 10, 32, 3)
		if err != nil {
			return err
		}
		for _, b := range wanted {
			if b == "conv" || b == "matmul" {
				continue
			}
			if b == "products" || b == "convs" {
				// At the training steps' batch and at IG's 100 path points.
				for _, n := range []int{batch, 100} {
					var r BenchResult
					if b == "products" {
						r, err = benchProducts(backend, cfg, n, iters)
					} else {
						r, err = benchConvs(backend, cfg, ci, n, iters)
					}
					if err != nil {
						return fmt.Errorf("%s/%s: %w", cfg.Name(), b, err)
					}
					report(r)
				}
				continue
			}
			r, err := benchModel(backend, cfg, ci, b, batch, iters)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", cfg.Name(), b, err)
			}
			report(r)
		}
	}
	return nil
}

func printBenchLine(w io.Writer, r BenchResult) {
	name := r.Benchmark
	if r.Model != "" {
		name = r.Model + "/" + name
	}
	extra := ""
	if r.GFLOPs > 0 && r.Unit != "GFLOP/s" {
		extra = fmt.Sprintf("; %.1f GFLOP/s", r.GFLOPs)
	}
	if r.Compiled > 0 {
		extra += fmt.Sprintf("; %d graph(s) compiled", r.Compiled)
	}
	limit := ""
	if r.MemLimitMB > 0 {
		limit = fmt.Sprintf(" (limit %.0f)", r.MemLimitMB)
	}
	fmt.Fprintf(w, "%-22s %10.3f %-9s (best %.3f; warm-up %.2fs; peak RSS %.0f MB; RSS %.0f MB after warm-up, %.0f MB at the end%s%s)\n",
		name, r.Median, r.Unit, r.Best, r.WarmUp, r.PeakRSSMB, r.RSSWarmMB, r.RSSEndMB, limit, extra)
}

// timeIt runs fn once to warm up (compilation) and then iters times. The
// process's peak RSS is reset first (where Linux allows it), so PeakRSSMB is
// this workload's peak; RSSWarmMB and RSSEndMB, the resident size after the
// warm-up and after the last iteration, show whether memory grows over a
// long run (-iters).
//
// As art train does, it then sets a soft memory limit above the resident
// size after the warm-up (see limitMemoryAfterWarmUp), cleared again at the
// next workload.
func timeIt(iters int, work float64, unit string, fn func() error) (BenchResult, error) {
	clearMemoryLimit()
	resetPeakRSS()
	r := BenchResult{Unit: unit}
	r.RSSStartMB, _ = rssMB()
	defer clearMemoryLimit()
	warmUp, seconds, err := timeCalls(iters, fn, func() {
		r.RSSWarmMB, _ = rssMB()
		r.MemLimitMB = limitMemoryAfterWarmUp()
	})
	if err != nil {
		return BenchResult{}, err
	}
	r.WarmUp, r.Seconds = warmUp, seconds
	median, fastest := medianAndMin(seconds)
	r.Median, r.Best = work/median, work/fastest
	r.RSSEndMB, r.PeakRSSMB = rssMB()
	return r, nil
}

// timeCalls calls fn once to warm up (compilation), then afterWarmUp (if
// not nil), then iters more times, and returns the warm-up's and each timed
// call's seconds.
func timeCalls(iters int, fn func() error, afterWarmUp func()) (warmUp float64, seconds []float64, err error) {
	t0 := time.Now()
	if err := fn(); err != nil {
		return 0, nil, err
	}
	warmUp = time.Since(t0).Seconds()
	if afterWarmUp != nil {
		afterWarmUp()
	}
	for range iters {
		t := time.Now()
		if err := fn(); err != nil {
			return 0, nil, err
		}
		seconds = append(seconds, time.Since(t).Seconds())
	}
	return warmUp, seconds, nil
}

// medianAndMin returns the median (the upper one of an even count) and the
// smallest of the times.
func medianAndMin(seconds []float64) (median, least float64) {
	sorted := slices.Clone(seconds)
	slices.Sort(sorted)
	return sorted[len(sorted)/2], sorted[0]
}

// resetPeakRSS returns freed memory to the system and resets the kernel's
// peak-RSS mark (VmHWM; "5" > /proc/self/clear_refs, Linux 4.0+), so that
// the next peak belongs to the next workload. Elsewhere it does nothing and
// the peak stays the process's.
func resetPeakRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// rssMB returns the current and peak resident set size in MB, from
// /proc/self/status, or (peak only) from getrusage where that is missing.
func rssMB() (current, peak float64) {
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				continue
			}
			switch f[0] {
			case "VmRSS:":
				current = kb / 1024
			case "VmHWM:":
				peak = kb / 1024
			}
		}
		if peak > 0 {
			return current, peak
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return current, 0
	}
	return current, float64(ru.Maxrss) / 1024 // Linux reports KiB
}

// passesPerStep is each workload's matrix-product work in units of one
// forward pass F(n) (n = the batch of the step, or IG's 100 path points),
// counted as a convolution layer's products: a forward conv is 1, its input
// gradient (convT) 1 and its kernel gradient 1; the reverse pass of a
// convT is again a conv (1) plus, for weights, a kernel gradient (1).
//
//   - natural: forward + input and kernel gradients                      = 3
//   - pgd10: 10 x (forward + input gradient) + natural                   = 23
//   - art: the attack, 3 x [forward + 2 input gradients (g_y, g_n) +
//     their reverse (2) + the forward's reverse (1)] = 18; the loss on
//     [x; x'] (2n images): [1 + 2 + 2 x 2 + 2] x 2 = 18; CE on x': 3      = 39
//   - ig: forward + input gradient at 100 points                         = 2
//   - ifia_step: IG's forward and input gradient, and the reverse of both = 4
//
// The first convolution's input gradient is counted wherever a kernel
// gradient is, although autodiff can skip it: under 1% of every count here.
var passesPerStep = map[string]float64{"natural": 3, "pgd10": 23, "art": 39, "ig": 2, "ifia_step": 4}

// passMix splits passesPerStep into forward convolutions, input gradients
// and kernel gradients (the reverse of an input gradient is a forward
// convolution and, for weights, a kernel gradient; the ART loss's 128
// images count as two passes over 64):
//
//   - natural: 1, 1, 1
//   - pgd10: 10 x (1, 1, 0) + natural
//   - art: attack 3 x (1 + 2, 2 + 1, 0); loss 2 x (1 + 2, 2 + 1, 2 + 1);
//     CE 1, 1, 1
//   - ig: 1, 1, 0 (at 100 path points)
//   - ifia_step: IG's passes and their reverse, 2, 2, 0
var passMix = map[string][3]float64{"natural": {1, 1, 1}, "pgd10": {11, 11, 1}, "art": {16, 16, 7}, "ig": {1, 1, 0}, "ifia_step": {2, 2, 0}}

// passNames name passMix's kinds of pass, as in BenchResult.PassSeconds.
var passNames = [3]string{"forward", "input_grad", "kernel_grad"}

// forwardGFLOP is F(n): the floating-point operations of the matrix
// products in one forward pass of the architecture over n images (2 per
// multiply-add; batch norm, activations and the like are not counted). It
// reads them from the DotGeneral nodes of the gather formulation's graph on
// the Go backend, whatever engine runs the benchmark, so that every engine
// is credited with the same useful work.
func forwardGFLOP(cfg model.Config, n int) (float64, error) {
	prods, _, err := forwardWork(cfg, n)
	if err != nil {
		return 0, err
	}
	flops := 0.0
	for _, p := range prods {
		flops += p.flops()
	}
	return flops / 1e9, nil
}

// product is one matrix product [M,K] x [K,N] of a forward pass.
type product struct{ m, k, n int }

func (p product) flops() float64 { return 2 * float64(p.m) * float64(p.k) * float64(p.n) }

// forwardWork lists the matrix products of one forward pass over n images,
// read from the DotGeneral nodes of the gather formulation's graph on the Go
// backend (one per convolution and batch part, and the classifier), and the
// convolutions that pass builds.
func forwardWork(cfg model.Config, n int) ([]product, []model.ConvLayer, error) {
	backend, err := compute.NewWithConfig("go")
	if err != nil {
		return nil, nil, err
	}
	defer backend.Finalize()
	net, err := model.NewNet(backend, cfg, cfg.InitValues(1))
	if err != nil {
		return nil, nil, err
	}
	net.Conv = model.ConvGather
	var convs []model.ConvLayer
	e, err := gmodel.NewExec(backend, net.Store, func(scope *gmodel.Scope, x *graph.Node) *graph.Node {
		convs = nil
		return net.Logits(x, model.Pass{Act: model.ReLU, Trace: func(l model.ConvLayer) { convs = append(convs, l) }})
	})
	if err != nil {
		return nil, nil, err
	}
	defer e.Finalize()
	g, err := e.Compile(shapes.Make(dtypes.Float32, n, cfg.InputSize, cfg.InputSize, cfg.Channels))
	if err != nil {
		return nil, nil, err
	}
	var prods []product
	for _, node := range g.Nodes() {
		if node.Type() != graph.NodeTypeDotGeneral {
			continue
		}
		out, lhs, rhs := node.Shape(), node.Inputs()[0].Shape(), node.Inputs()[1].Shape()
		if out.Rank() != 2 || lhs.Rank() != 2 || rhs.Rank() != 2 {
			return nil, nil, fmt.Errorf("%s: a forward matrix product of shapes %s x %s -> %s is not a plain [M,K]x[K,N] product", cfg.Name(), lhs, rhs, out)
		}
		m, nn := out.Dimensions[0], out.Dimensions[1]
		prods = append(prods, product{m: m, k: lhs.Size() / m, n: nn})
	}
	return prods, convs, nil
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
	var (
		fn       func() error
		work     = 1.0
		unit     = "images/s"
		flopsPer = batch // images in F(n)
	)
	switch b {
	case "natural", "pgd10", "art":
		method := map[string]train.Method{"natural": train.Natural, "pgd10": train.PGD, "art": train.ART}[b]
		c := train.DefaultConfig(method)
		c.PGDSteps, c.AttackTopK, c.WeightDecay, c.Nesterov, c.Conv = 10, 0, 5e-4, false, conv
		tr, err := train.NewTrainer(net, c)
		if err != nil {
			return BenchResult{}, err
		}
		noise := tr.Noise(rng, len(x), per)
		work = float64(batch)
		fn = func() error {
			_, err := tr.Step(x, y, 0.1, noise)
			return err
		}
	case "ig":
		x1 := x[:per]
		logits, err := net.Predict(x1, model.ReLU)
		if err != nil {
			return BenchResult{}, err
		}
		t := model.Argmax(logits, 10)
		ig := attribution.IntegratedGradients{Steps: 100, Act: model.ReLU}
		flopsPer = ig.Steps
		fn = func() error {
			_, err := attribution.Attribute(net, ig, x1, t)
			return err
		}
	case "ifia_step":
		if fn, err = ifiaStep(net, x[:per]); err != nil {
			return BenchResult{}, err
		}
		unit, flopsPer = "steps/s", 100
	}
	f, err := forwardGFLOP(cfg, flopsPer)
	if err != nil {
		return BenchResult{}, fmt.Errorf("counting FLOPs: %w", err)
	}
	compiled := net.Compiled()
	r, err := timeIt(iters, work, unit, fn)
	if err != nil {
		return r, err
	}
	r.Model, r.Benchmark = cfg.Name(), b
	r.Compiled = net.Compiled() - compiled
	r.GFLOP = passesPerStep[b] * f
	r.GFLOPs = r.GFLOP * r.Median / work
	return r, nil
}

// ifiaStep returns one step of the top-k attack on IG-100 (softplus model,
// second derivatives) for one image, as peer.py's ifia_step, each call
// continuing from the last.
func ifiaStep(net *model.Net, x1 []float32) (func() error, error) {
	logits, err := net.Predict(x1, model.Softplus(model.DefaultBeta))
	if err != nil {
		return nil, err
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
	return func() error {
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
	}, nil
}

// benchProducts times, for the architecture at n images, nothing but the
// matrix products of the three kinds of pass (passMix): for each product
// [M,K]x[K,N] of the forward pass (see forwardWork), the forward product,
// the input gradient [M,N]x[K,N]^T and the kernel gradient [K,M]x[N,M]^T
// (one graph per kind of pass, see timePieces), with every operand given
// in a layout the engine's GEMM reads directly and no gather, scatter,
// transpose or elementwise op around them. That is as fast as any
// formulation built on this engine's matrix products could run them (see
// ceilingTable).
func benchProducts(backend compute.Backend, cfg model.Config, n, iters int) (BenchResult, error) {
	prods, _, err := forwardWork(cfg, n)
	if err != nil {
		return BenchResult{}, err
	}
	order, count := distinct(prods)
	var pieces []piece
	for _, p := range order {
		// y = A W, dA = V W^T, dW = A^T V, each operand in the layout the
		// GEMM reads directly ([M,K] x [K,N] or both contracted last).
		dims := [3][2][2]int{{{p.m, p.k}, {p.k, p.n}}, {{p.m, p.n}, {p.k, p.n}}, {{p.k, p.m}, {p.n, p.m}}}
		contract := [3][2]int{{1, 0}, {1, 1}, {1, 1}}
		for kind := range 3 {
			sa, sb := dims[kind][0], dims[kind][1]
			pieces = append(pieces, piece{kind: kind, count: count[p], flops: p.flops(),
				args: func(rng *rand.Rand) []any {
					return []any{randomTensor(rng, sa[0], sa[1]), randomTensor(rng, sb[0], sb[1])}
				},
				node: func(in []*graph.Node) *graph.Node {
					return graph.DotGeneral(in[0], []int{contract[kind][0]}, nil, in[1], []int{contract[kind][1]}, nil)
				}})
		}
	}
	return timePieces(backend, cfg.Name(), fmt.Sprintf("products@%d", n), pieces, iters)
}

// benchConvs times, for the architecture at n images, nothing but the
// convolutions of the three kinds of pass (passMix): each layer's
// convolution, its input gradient and its kernel gradient (one graph per
// kind of pass, see timePieces), in the formulation the benchmark's other
// workloads use on this engine, without batch norm, activations or a loss
// around them.
func benchConvs(backend compute.Backend, cfg model.Config, ci model.ConvImpl, n, iters int) (BenchResult, error) {
	_, convs, err := forwardWork(cfg, n)
	if err != nil {
		return BenchResult{}, err
	}
	order, count := distinct(convs)
	var pieces []piece
	for _, l := range order {
		in, kd := l.Input, l.Kernel
		ho := model.ConvOutputSize(in[1], kd[0], l.Stride, l.Pad)
		wo := model.ConvOutputSize(in[2], kd[1], l.Stride, l.Pad)
		flops := 2 * float64(in[0]*ho*wo) * float64(kd[0]*kd[1]*kd[2]) * float64(kd[3])
		for kind := range 3 {
			pieces = append(pieces, piece{kind: kind, count: count[l], flops: flops,
				args: func(rng *rand.Rand) []any {
					return []any{randomTensor(rng, in[:]...), randomTensor(rng, kd[:]...), randomTensor(rng, in[0], ho, wo, kd[3])}
				},
				// The forward convolution of x by w, or one of its gradients
				// for the output gradient r (autodiff leaves the unused
				// forward pass out).
				node: func(in []*graph.Node) *graph.Node {
					x, w, r := in[0], in[1], in[2]
					y := model.Conv2D(x, w, l.Stride, l.Pad, ci)
					switch kind {
					case 0:
						return y
					case 1:
						return graph.Gradient(graph.ReduceAllSum(graph.Mul(y, r)), x)[0]
					default:
						return graph.Gradient(graph.ReduceAllSum(graph.Mul(y, r)), w)[0]
					}
				}})
		}
	}
	return timePieces(backend, cfg.Name(), fmt.Sprintf("convs@%d", n), pieces, iters)
}

// distinct returns the different values of xs in the order they first
// occur, and how often each occurs.
func distinct[T comparable](xs []T) ([]T, map[T]int) {
	count := map[T]int{}
	var order []T
	for _, x := range xs {
		if count[x] == 0 {
			order = append(order, x)
		}
		count[x]++
	}
	return order, count
}

// piece is one layer's pass of passMix's kind, which occurs count times in
// a pass over all layers and does flops each time: node builds it on the
// inputs that args makes.
type piece struct {
	kind  int
	count int
	flops float64
	args  func(*rand.Rand) []any
	node  func(in []*graph.Node) *graph.Node
}

// timePieces times, for each kind of pass, one graph that runs every
// occurrence of every piece of that kind, each on inputs of its own (so
// that none is merged with another), side by side as the layers' passes
// would run in a step: one warm-up, then iters calls. Only one value of
// each result is returned, so that copying results out costs nothing.
// PassSeconds gets each kind's median time; the rate is the FLOPs over the
// sum of the kinds' median (best: fastest) times, in GFLOP/s.
func timePieces(backend compute.Backend, modelName, name string, pieces []piece, iters int) (BenchResult, error) {
	resetPeakRSS()
	r := BenchResult{Model: modelName, Benchmark: name, Unit: "GFLOP/s", Seconds: make([]float64, iters), PassSeconds: map[string]float64{}}
	r.RSSStartMB, _ = rssMB()
	rng := rand.New(rand.NewPCG(6, 7))
	medianSum, bestSum := 0.0, 0.0
	for kind, passName := range passNames {
		var args []any
		var arity []int
		var build []func([]*graph.Node) *graph.Node
		for _, p := range pieces {
			if p.kind != kind {
				continue
			}
			for range p.count {
				a := p.args(rng)
				args = append(args, a...)
				arity = append(arity, len(a))
				build = append(build, p.node)
			}
			r.GFLOP += float64(p.count) * p.flops / 1e9
		}
		if len(build) == 0 {
			continue
		}
		e, err := graph.NewExec(backend, func(in []*graph.Node) *graph.Node {
			firsts := make([]*graph.Node, len(build))
			for i, f := range build {
				y := graph.Reshape(f(in[:arity[i]]), -1)
				firsts[i] = graph.Slice(y, graph.AxisRange(0, 1))
				in = in[arity[i]:]
			}
			return graph.Concatenate(firsts, 0)
		})
		if err != nil {
			return BenchResult{}, err
		}
		call := func() error {
			out, err := e.Call(args...)
			for _, o := range out {
				o.FinalizeAll()
			}
			return err
		}
		warmUp, times, err := timeCalls(iters, call, nil)
		e.Finalize()
		if err != nil {
			return BenchResult{}, err
		}
		r.WarmUp += warmUp
		for i, t := range times {
			r.Seconds[i] += t
		}
		median, fastest := medianAndMin(times)
		r.PassSeconds[passName] = median
		medianSum += median
		bestSum += fastest
	}
	r.Median, r.Best = r.GFLOP/medianSum, r.GFLOP/bestSum
	r.GFLOPs = r.Median
	r.RSSWarmMB, _ = rssMB()
	r.RSSEndMB, r.PeakRSSMB = rssMB()
	return r, nil
}

// randomTensor is a float32 tensor of uniform [0,1) values.
func randomTensor(rng *rand.Rand, dims ...int) *tensors.Tensor {
	size := 1
	for _, d := range dims {
		size *= d
	}
	v := make([]float32, size)
	for i := range v {
		v[i] = rng.Float32()
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
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
	at := randomTensor(rand.New(rand.NewPCG(4, 5)), n, n)
	e, err := graph.NewExec(backend, func(a, b *graph.Node) *graph.Node {
		return graph.DotGeneral(a, []int{1}, nil, b, []int{0}, nil)
	})
	if err != nil {
		return BenchResult{}, err
	}
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
