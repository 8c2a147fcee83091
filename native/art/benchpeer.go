package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// peerBenchmarks are the workloads ../shared/peer/peer.py implements.
var peerBenchmarks = []string{"natural", "pgd10", "art", "ig", "ifia_step"}

// peerResult is one line of the PyTorch peer's output.
type peerResult struct {
	Model     string  `json:"model"`
	Benchmark string  `json:"benchmark"`
	Median    float64 `json:"median"` // 0 when the peer skipped it
	Best      float64 `json:"best"`
	Info      string  `json:"info"`
}

// peerLine matches "WRN-10-1/natural 1554.018  # best 1611.848; warm-up ..."
// and "WRN-16-4/art skipped  # skipped: ...".
var peerLine = regexp.MustCompile(`^(\S+)/(\S+) (skipped|[0-9.eE+-]+)\s+#\s*(.*)$`)

// parsePeerOutput reads peer.py's result lines, ignoring anything else.
func parsePeerOutput(r io.Reader) ([]peerResult, error) {
	var out []peerResult
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := peerLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		p := peerResult{Model: m[1], Benchmark: m[2], Info: m[4]}
		if m[3] != "skipped" {
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				return nil, fmt.Errorf("peer output %q: %w", sc.Text(), err)
			}
			p.Median = v
			if best, ok := strings.CutPrefix(m[4], "best "); ok {
				b, _, _ := strings.Cut(best, ";")
				if p.Best, err = strconv.ParseFloat(b, 64); err != nil {
					return nil, fmt.Errorf("peer output %q: %w", sc.Text(), err)
				}
			}
		}
		out = append(out, p)
	}
	return out, sc.Err()
}

// runPeer runs peer.py for one model and the wanted workloads it has.
func runPeer(python, script, modelName string, wanted []string, batch, iters int, stderr io.Writer) ([]peerResult, error) {
	var benches []string
	for _, b := range wanted {
		if slices.Contains(peerBenchmarks, b) {
			benches = append(benches, b)
		}
	}
	if len(benches) == 0 {
		return nil, nil
	}
	cmd := exec.Command(python, script, "--models", modelName, "--benchmarks", strings.Join(benches, ","),
		"--batch", strconv.Itoa(batch), "--iters", strconv.Itoa(iters), "--threads", strconv.Itoa(runtime.NumCPU()))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("peer %s %s: %w\n%s", python, script, err, out.String())
	}
	res, err := parsePeerOutput(&out)
	if err != nil {
		return nil, err
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("peer %s printed no results:\n%s", script, out.String())
	}
	return res, nil
}

// The lines between which writeTable replaces a document's table.
const (
	tableBegin = "<!-- art bench table -->"
	tableEnd   = "<!-- end of art bench table -->"
)

// writeTable writes md to path: between the tableBegin and tableEnd lines
// when the file has both (so a document keeps its prose), else as the
// whole file.
func writeTable(path, md string) error {
	if old, err := os.ReadFile(path); err == nil {
		s := string(old)
		i, j := strings.Index(s, tableBegin+"\n"), strings.Index(s, tableEnd)
		if i >= 0 && j > i {
			s = s[:i+len(tableBegin)+1] + md + s[j:]
			return os.WriteFile(path, []byte(s), 0o644)
		}
	}
	return os.WriteFile(path, []byte(md), 0o644)
}

// findPeer returns the peer's result for a model's workload.
func findPeer(peer []peerResult, model, bench string) (peerResult, bool) {
	for _, p := range peer {
		if p.Model == model && p.Benchmark == bench {
			return p, true
		}
	}
	return peerResult{}, false
}

// comparisonTable is the markdown table of docs/performance.md: each
// workload, this project, the peer, their ratio and this project's memory,
// then the kernels and the ART step's share of the matmul rate.
func comparisonTable(ours []BenchResult, peer []peerResult, engine string, args []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s; engine: %s; %s/%s, %d CPUs. Command: `art %s`.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), engine, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), strings.Join(args[1:], " "))
	fmt.Fprintln(&b, "| model | benchmark | unit | this project (median / best) | PyTorch peer (median / best) | ratio (median) | ratio (best) | peak RSS MB | RSS MB after warm-up → end | GFLOP/s |")
	fmt.Fprintln(&b, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
	matmul := 0.0
	for _, r := range ours {
		if r.Benchmark == "matmul1024" {
			matmul = r.Median
		}
	}
	for _, r := range ours {
		peerCol, ratio, ratioBest := "—", "—", "—"
		if p, ok := findPeer(peer, r.Model, r.Benchmark); ok {
			if p.Median > 0 {
				peerCol = fmt.Sprintf("%.3f / %.3f", p.Median, p.Best)
				ratio = fmt.Sprintf("%.2f", r.Median/p.Median)
				if p.Best > 0 {
					ratioBest = fmt.Sprintf("%.2f", r.Best/p.Best)
				}
			} else {
				peerCol = "skipped"
			}
		}
		model, gflops := r.Model, "—"
		if model == "" {
			model = "—"
		}
		if r.GFLOPs > 0 {
			gflops = fmt.Sprintf("%.1f", r.GFLOPs)
		} else if r.Unit == "GFLOP/s" {
			gflops = fmt.Sprintf("%.1f", r.Median)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.3f / %.3f | %s | %s | %s | %.0f | %.0f → %.0f | %s |\n",
			model, r.Benchmark, r.Unit, r.Median, r.Best, peerCol, ratio, ratioBest, r.PeakRSSMB, r.RSSWarmMB, r.RSSEndMB, gflops)
	}
	for _, r := range ours {
		if r.Benchmark == "art" && r.GFLOPs > 0 && matmul > 0 {
			fmt.Fprintf(&b, "\n%s ART step: %.1f GFLOP of matrix products per step (39 forward passes' worth), %.1f GFLOP/s = %.0f%% of the 1024³ matmul's %.1f GFLOP/s (medians).\n",
				r.Model, r.GFLOP, r.GFLOPs, 100*r.GFLOPs/matmul, matmul)
		}
	}
	b.WriteString(ceilingTable(ours, peer))
	return b.String()
}

// ceilingTable is the markdown table of what each model workload would
// reach if its passes (passMix) cost only what the model's convolutions cost
// alone ("convs": each layer's convolution or gradient, gathers and scatters
// included, nothing else) or only what their matrix products cost alone
// ("products"), measured at the same number of images (the batch for
// training steps, 100 for IG and IFIA); and those ceilings against the peer
// and the targets (1.5x for ART and IFIA, 1.0x elsewhere). Empty
// without convs or products results.
func ceilingTable(ours []BenchResult, peer []peerResult) string {
	find := func(m, kind string, n int) *BenchResult {
		for i, r := range ours {
			if r.Model == m && r.Benchmark == fmt.Sprintf("%s@%d", kind, n) && len(r.PassSeconds) > 0 {
				return &ours[i]
			}
		}
		return nil
	}
	var b strings.Builder
	for _, r := range ours {
		mix, ok := passMix[r.Benchmark]
		if !ok || r.GFLOP <= 0 || r.Median <= 0 {
			continue
		}
		// Units of work per iteration: the batch for training steps (whose
		// passes run over it), one image or step for IG and IFIA (100 points).
		n, work := 100, 1.0
		if r.Benchmark != "ig" && r.Benchmark != "ifia_step" {
			work = math.Round(r.GFLOP * r.Median / r.GFLOPs) // GFLOPs = GFLOP * Median / work
			n = int(work)
		}
		ceiling := func(kind string) float64 {
			res := find(r.Model, kind, n)
			if res == nil {
				return 0
			}
			t := 0.0
			for k, name := range passNames {
				t += mix[k] * res.PassSeconds[name]
			}
			if t <= 0 {
				return 0
			}
			return work / t
		}
		convs, prods := ceiling("convs"), ceiling("products")
		if convs == 0 && prods == 0 {
			continue
		}
		if b.Len() == 0 {
			fmt.Fprintln(&b, "\nCeilings: the rate each workload would reach if its passes cost only what the model's convolutions cost alone (each layer's forward convolution, input gradient or kernel gradient, gathers and scatters included, with no batch norm, activation or loss; `convs`) or only what their matrix products cost alone (`products`), measured at the same number of images:")
			fmt.Fprintln(&b)
			fmt.Fprintln(&b, "| model | benchmark | unit | this project | at the convolutions' cost | at the products' cost | PyTorch peer | target | ceiling / peer (convs, products) |")
			fmt.Fprintln(&b, "|---|---|---|---:|---:|---:|---:|---:|---:|")
		}
		target := 1.0
		if r.Benchmark == "art" || r.Benchmark == "ifia_step" {
			target = 1.5
		}
		cell := func(v float64) string {
			if v == 0 {
				return "—"
			}
			return fmt.Sprintf("%.3f", v)
		}
		peerCol, ratios := "—", "—"
		if p, ok := findPeer(peer, r.Model, r.Benchmark); ok && p.Median > 0 {
			peerCol = fmt.Sprintf("%.3f", p.Median)
			ratio := func(v float64) string {
				if v == 0 {
					return "—"
				}
				return fmt.Sprintf("%.2f", v/p.Median)
			}
			ratios = ratio(convs) + ", " + ratio(prods)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.3f | %s | %s | %s | %.1f× | %s |\n",
			r.Model, r.Benchmark, r.Unit, r.Median, cell(convs), cell(prods), peerCol, target, ratios)
	}
	return b.String()
}
