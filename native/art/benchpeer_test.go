package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/model"
)

const peerSample = `WRN-10-1/natural 1554.018  # best 1611.848; warm-up 0.126s, median 0.041s, min 0.040s, max 0.043s
some log line
WRN-16-4/art skipped  # skipped: one iteration > 60s
WRN-10-1/ifia_step 8.819  # best 8.889; warm-up 0.133s, median 0.113s, min 0.113s, max 0.121s
`

func TestParsePeerOutputReadsMediansBestsAndSkips(t *testing.T) {
	got, err := parsePeerOutput(strings.NewReader(peerSample))
	if err != nil {
		t.Fatal(err)
	}
	want := []peerResult{
		{Model: "WRN-10-1", Benchmark: "natural", Median: 1554.018, Best: 1611.848},
		{Model: "WRN-16-4", Benchmark: "art"},
		{Model: "WRN-10-1", Benchmark: "ifia_step", Median: 8.819, Best: 8.889},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Model != w.Model || g.Benchmark != w.Benchmark || g.Median != w.Median || g.Best != w.Best {
			t.Errorf("result %d: got %+v, want %+v", i, g, w)
		}
	}
}

func FuzzParsePeerOutput(f *testing.F) {
	f.Add(peerSample)
	f.Add("A/b 1e400  # best x;")
	f.Add("A/b nan # best 1;")
	f.Add("/ 1 #")
	f.Fuzz(func(t *testing.T, s string) {
		res, err := parsePeerOutput(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range res {
			if r.Model == "" || r.Benchmark == "" {
				t.Errorf("empty names in %+v from %q", r, s)
			}
		}
	})
}

// TestComparisonTableRatios checks the table's ratio columns and the ART
// step's share of the matmul rate on made-up numbers.
func TestComparisonTableRatios(t *testing.T) {
	ours := []BenchResult{
		{Benchmark: "matmul1024", Median: 200, Best: 220, Unit: "GFLOP/s"},
		{Model: "WRN-10-1", Benchmark: "art", Median: 100, Best: 120, Unit: "images/s", GFLOP: 62.4, GFLOPs: 97.5, PeakRSSMB: 1500},
	}
	peer := []peerResult{{Model: "WRN-10-1", Benchmark: "art", Median: 50, Best: 80}}
	md := comparisonTable(ours, peer, "test engine", []string{"art", "bench"})
	for _, want := range []string{
		"| WRN-10-1 | art | images/s | 100.000 / 120.000 | 50.000 / 80.000 | 2.00 | 1.50 | 1500 |",
		"97.5 GFLOP/s = 49% of the 1024³ matmul's 200.0 GFLOP/s",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}

// TestForwardGFLOPCountsWRN10x1 checks the FLOP count read from the graph
// against WRN-10-1's layers counted by hand (multiply-adds per 32x32 image):
// conv 3->16 at 32x32: 1024*27*16; two 16->16: 2*1024*144*16; group 2 at
// 16x16: 256*144*32 + 256*288*32 + shortcut 256*16*32; group 3 at 8x8:
// 64*288*64 + 64*576*64 + shortcut 64*32*64; classifier 65*10 (its bias is
// folded into the product as a row of the weights).
func TestForwardGFLOPCountsWRN10x1(t *testing.T) {
	cfg, err := model.ParseArch("WRN-10-1", 10, 32, 3)
	if err != nil {
		t.Fatal(err)
	}
	macs := 1024*27*16 + 2*1024*144*16 + 256*144*32 + 256*288*32 + 256*16*32 + 64*288*64 + 64*576*64 + 64*32*64 + 65*10
	got, err := forwardGFLOP(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * 2 * float64(macs) / 1e9; math.Abs(got-want) > 1e-12 {
		t.Errorf("forward GFLOP of 3 images: got %.9f, want %.9f", got, want)
	}
}

func TestBenchPeerErrorsWithoutInterpreter(t *testing.T) {
	var stderr bytes.Buffer
	err := run([]string{"bench", "-models", "WRN-10-1", "-benchmarks", "natural", "-iters", "1", "-batch", "2",
		"-peer", "peer.py", "-python", "/nonexistent/python3"}, &bytes.Buffer{}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/python3") {
		t.Errorf("error %v", err)
	}
}

func TestWriteTableKeepsTheDocumentAroundTheMarkers(t *testing.T) {
	dir := t.TempDir()
	doc := filepath.Join(dir, "performance.md")
	before := "# Performance\n\nprose\n" + tableBegin + "\nold table\n" + tableEnd + "\nmore prose\n"
	if err := os.WriteFile(doc, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeTable(doc, "| new |\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(doc)
	want := "# Performance\n\nprose\n" + tableBegin + "\n| new |\n" + tableEnd + "\nmore prose\n"
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	plain := filepath.Join(dir, "table.md")
	if err := writeTable(plain, "| t |\n"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(plain); string(got) != "| t |\n" {
		t.Errorf("new file holds %q", got)
	}
}

// TestCeilingTableScalesTheMeasuredRates checks the ceilings on made-up
// pass times: an ART step over 64 images is 16 forward passes, 16 input
// gradients and 7 kernel gradients, so at 0.01, 0.02 and 0.04 s a pass
// (convs) it could do 64 / 0.76 images/s; IG-100 is one forward pass and one
// input gradient at 100 images.
func TestCeilingTableScalesTheMeasuredRates(t *testing.T) {
	ours := []BenchResult{
		{Model: "WRN-10-1", Benchmark: "art", Median: 40, Unit: "images/s", GFLOP: 62.4, GFLOPs: 62.4 * 40 / 64},
		{Model: "WRN-10-1", Benchmark: "ig", Median: 10, Unit: "images/s", GFLOP: 5, GFLOPs: 50},
		{Model: "WRN-10-1", Benchmark: "convs@64", Median: 97.5, Unit: "GFLOP/s",
			PassSeconds: map[string]float64{"forward": 0.01, "input_grad": 0.02, "kernel_grad": 0.04}},
		{Model: "WRN-10-1", Benchmark: "products@64", Median: 195, Unit: "GFLOP/s",
			PassSeconds: map[string]float64{"forward": 0.005, "input_grad": 0.01, "kernel_grad": 0.02}},
		{Model: "WRN-10-1", Benchmark: "convs@100", Median: 60, Unit: "GFLOP/s",
			PassSeconds: map[string]float64{"forward": 0.02, "input_grad": 0.03, "kernel_grad": 1}},
	}
	peer := []peerResult{{Model: "WRN-10-1", Benchmark: "art", Median: 50}, {Model: "WRN-10-1", Benchmark: "ig", Median: 24}}
	md := ceilingTable(ours, peer)
	for _, want := range []string{
		fmt.Sprintf("| WRN-10-1 | art | images/s | 40.000 | %.3f | %.3f | 50.000 | 1.5× | %.2f, %.2f |", 64/0.76, 64/0.38, 64/0.76/50, 64/0.38/50),
		"| WRN-10-1 | ig | images/s | 10.000 | 20.000 | — | 24.000 | 1.0× | 0.83, — |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("ceiling table lacks %q:\n%s", want, md)
		}
	}
	if ceilingTable(ours[:2], peer) != "" {
		t.Error("a ceiling table without convs or products results")
	}
}

// TestPassMixAddsUpToThePassCounts keeps the two descriptions of each
// workload's passes in step.
func TestPassMixAddsUpToThePassCounts(t *testing.T) {
	for b, n := range passesPerStep {
		m, ok := passMix[b]
		if !ok || m[0]+m[1]+m[2] != n {
			t.Errorf("%s: passMix %v does not add up to %v passes", b, m, n)
		}
	}
	if len(passMix) != len(passesPerStep) {
		t.Errorf("passMix has %d workloads, passesPerStep %d", len(passMix), len(passesPerStep))
	}
}
