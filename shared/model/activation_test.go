package model

import (
	"math"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestLog1pUnitIsFloat32Exact checks the series log1pUnit against
// math.Log1p on a fine grid of [0, 1] (and on tiny t, where log1p(t) ~ t):
// within 3e-7 relative, a few float32 roundings.
func TestLog1pUnitIsFloat32Exact(t *testing.T) {
	b, err := compute.New()
	if err != nil {
		t.Fatal(err)
	}
	var ts []float32
	for i := 0; i <= 10000; i++ {
		ts = append(ts, float32(i)/10000)
	}
	ts = append(ts, 1e-30, 1e-12, 3e-8, 1e-5)
	e := graph.MustNewExec(b, log1pUnit)
	got := tensors.MustCopyFlatData[float32](e.MustCall(tensors.FromFlatDataAndDimensions(ts, len(ts)))[0])
	worst := 0.0
	for i, v := range ts {
		want := math.Log1p(float64(v))
		if want == 0 {
			if got[i] != 0 {
				t.Errorf("log1pUnit(0) = %g", got[i])
			}
			continue
		}
		worst = max(worst, math.Abs(float64(got[i])-want)/want)
	}
	if worst > 3e-7 {
		t.Errorf("largest relative error %.3g, want <= 3e-7", worst)
	}
}

// TestSoftplusFloat32MatchesFloat64 checks the float32 softplus (series
// log1p) against the float64 one (the backend's scalar Log1p) across the
// range a network's pre-activations take: within 1e-5 relative (the
// backend's SIMD Exp is the larger error) and 1e-30 absolute (underflow).
func TestSoftplusFloat32MatchesFloat64(t *testing.T) {
	b, err := compute.New()
	if err != nil {
		t.Fatal(err)
	}
	var x32 []float32
	var x64 []float64
	for i := -3000; i <= 3000; i++ {
		v := float64(i) / 1000 // [-3, 3] in steps of 0.001
		x32, x64 = append(x32, float32(v)), append(x64, float64(float32(v)))
	}
	f := func(x *graph.Node) *graph.Node { return softplusValue(x, DefaultBeta) }
	got := tensors.MustCopyFlatData[float32](graph.MustNewExec(b, f).MustCall(tensors.FromFlatDataAndDimensions(x32, len(x32)))[0])
	want := tensors.MustCopyFlatData[float64](graph.MustNewExec(b, f).MustCall(tensors.FromFlatDataAndDimensions(x64, len(x64)))[0])
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > 1e-5*want[i]+1e-30 {
			t.Fatalf("softplus(%g): float32 %g, float64 %g", x64[i], got[i], want[i])
		}
	}
}
