package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/model"
)

func TestBenchJSONReportsEveryRequestedWorkload(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"bench", "-models", "WRN-10-1", "-benchmarks", "natural,art,matmul", "-iters", "1", "-batch", "4", "-json"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Backend string        `json:"backend"`
		Results []BenchResult `json:"results"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("bench -json output is not JSON: %v\n%s", err, out.String())
	}
	seen := map[string]BenchResult{}
	for _, r := range rep.Results {
		seen[r.Benchmark] = r
		if !(r.Median > 0) || !(r.Best >= r.Median) || len(r.Seconds) != 1 || r.PeakRSSMB <= 0 || r.RSSWarmMB <= 0 || r.RSSEndMB <= 0 {
			t.Errorf("%s: implausible result %+v", r.Benchmark, r)
		}
		if r.Model != "" && (r.Compiled != 1 || !(r.GFLOP > 0) || math.Abs(r.GFLOPs-r.GFLOP*r.Median/4) > 1e-9*r.GFLOPs) {
			t.Errorf("%s: want one compiled graph and a FLOP count and rate, got %+v", r.Benchmark, r)
		}
	}
	for _, b := range []string{"natural", "art", "matmul1024"} {
		if _, ok := seen[b]; !ok {
			t.Errorf("no result for %s in %s", b, out.String())
		}
	}
	if seen["natural"].Unit != "images/s" || seen["matmul1024"].Unit != "GFLOP/s" {
		t.Errorf("units: %+v", rep.Results)
	}
}

func TestBenchRejectsUnknownWorkloads(t *testing.T) {
	err := run([]string{"bench", "-benchmarks", "sorting"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "unknown benchmark") {
		t.Errorf("error %v", err)
	}
}

// TestBenchLayerWorkloadsCountTheStepsFLOPs runs the layer-level workloads
// at 2 images (and IG's 100) and checks their FLOP counts: the products are
// three times a forward pass's, the convolutions the same less the
// classifier's product.
func TestBenchLayerWorkloadsCountTheStepsFLOPs(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"bench", "-models", "WRN-10-1", "-benchmarks", "convs,products", "-iters", "1", "-batch", "2", "-json"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Results []BenchResult `json:"results"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	cfg, err := model.ParseArch("WRN-10-1", 10, 32, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]BenchResult{}
	for _, r := range rep.Results {
		got[r.Benchmark] = r
		if r.Unit != "GFLOP/s" || !(r.Median > 0) || !(r.Best >= r.Median) || len(r.Seconds) != 1 {
			t.Errorf("%s: implausible result %+v", r.Benchmark, r)
		}
		for _, k := range passNames {
			if !(r.PassSeconds[k] > 0) {
				t.Errorf("%s: no time for the %s pass: %v", r.Benchmark, k, r.PassSeconds)
			}
		}
	}
	for _, n := range []int{2, 100} {
		f, err := forwardGFLOP(cfg, n)
		if err != nil {
			t.Fatal(err)
		}
		classifier := 2 * float64(n) * 65 * 10 / 1e9
		for name, want := range map[string]float64{fmt.Sprintf("products@%d", n): 3 * f, fmt.Sprintf("convs@%d", n): 3 * (f - classifier)} {
			r, ok := got[name]
			if !ok {
				t.Errorf("no %s result in %s", name, out.String())
				continue
			}
			if math.Abs(r.GFLOP-want) > 1e-9*want {
				t.Errorf("%s: %.9f GFLOP, want %.9f", name, r.GFLOP, want)
			}
		}
	}
}
