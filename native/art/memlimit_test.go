package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestMemoryLimitFollowsResidentSize: the limit is 1.5x the resident size,
// is cleared again, and GOMEMLIMIT leaves the runtime's own setting alone.
func TestMemoryLimitFollowsResidentSize(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)

	t.Setenv("GOMEMLIMIT", "")
	rss, _ := rssMB()
	limit := limitMemoryAfterWarmUp()
	if rss <= 0 {
		t.Skip("no resident size on this system")
	}
	if limit < 1.4*rss || limit > 1.6*rss+1 {
		t.Errorf("limit %.0f MB for a resident size of %.0f MB, want about 1.5x", limit, rss)
	}
	if got := float64(debug.SetMemoryLimit(-1)) / (1 << 20); math.Abs(got-limit) > 1 {
		t.Errorf("the runtime's limit is %.0f MB, want %.0f", got, limit)
	}
	clearMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("after clearMemoryLimit the limit is %d, want none", got)
	}

	t.Setenv("GOMEMLIMIT", "3GiB")
	debug.SetMemoryLimit(3 << 30)
	if limit := limitMemoryAfterWarmUp(); limit != 0 {
		t.Errorf("with GOMEMLIMIT set, art set a limit of %.0f MB", limit)
	}
	clearMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != 3<<30 {
		t.Errorf("with GOMEMLIMIT set, the limit changed to %d", got)
	}
}
