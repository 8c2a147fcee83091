package main

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Files that are not what they claim: a device given as -image is refused
// from its first bytes (stat gives /dev/zero no size to refuse it by), and
// any file is read through a limit, whatever it is.
func TestDevicesAreReadThroughALimit(t *testing.T) {
	for _, dev := range []string{"/dev/zero", "/dev/urandom"} {
		if _, err := os.Stat(dev); err != nil {
			t.Skip(dev, "is missing here")
		}
		var err error
		n := allocatedBy(func() { _, _, err = loadInput(dev, 32, 3, 1) })
		if err == nil || err.Error() != "image "+dev+": not a PNG or JPEG image" {
			t.Errorf("-image %s: error %v, want \"not a PNG or JPEG image\"", dev, err)
		}
		if n > 1<<20 {
			t.Errorf("-image %s allocated %d bytes", dev, n)
		}
		n = allocatedBy(func() { _, err = readLimited(dev, 2<<20, nil) })
		if err == nil || !strings.Contains(err.Error(), "over the limit of 2 MB") {
			t.Errorf("reading %s through a 2 MB limit: %v", dev, err)
		}
		if n > 16<<20 {
			t.Errorf("reading %s through a 2 MB limit allocated %d bytes", dev, n)
		}
	}
}
