package main

import (
	"bytes"
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
