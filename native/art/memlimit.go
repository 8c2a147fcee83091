package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
)

// memoryLimitFactor is how far above the resident size after a workload's
// first step art lets the process grow. Without a limit the Go collector
// lets the heap double between collections, and the backend's pools of freed
// buffers count as live until one, so a long run's resident size kept
// growing to about twice that of its first step (docs/performance.md:
// WRN-10-1 ART, 150 steps, 1368 -> 3121 MB).
const memoryLimitFactor = 1.5

// limitMemoryAfterWarmUp sets the Go runtime's soft memory limit to
// memoryLimitFactor times the current resident size, unless GOMEMLIMIT
// chooses one, and returns it in MB (0 when it set none). Call it after a
// workload's first step, which holds its largest buffers.
func limitMemoryAfterWarmUp() float64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	rss, _ := rssMB()
	if rss <= 0 {
		return 0
	}
	limit := memoryLimitFactor * rss
	debug.SetMemoryLimit(int64(limit * (1 << 20)))
	return limit
}

// clearMemoryLimit removes a limit limitMemoryAfterWarmUp set, before a
// workload that may need more (art bench runs several in one process).
func clearMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(math.MaxInt64)
	}
}

// noteMemoryLimit tells the user about the limit, once.
func noteMemoryLimit(w io.Writer, limitMB float64) {
	if limitMB > 0 {
		fmt.Fprintf(w, "\nmemory: soft limit %.0f MB (%.1fx the resident size after the first step; GOMEMLIMIT overrides)\n", limitMB, memoryLimitFactor)
	}
}
