package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"strings"
	"testing"
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
