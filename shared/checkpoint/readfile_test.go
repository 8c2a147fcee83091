package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// allocatedBy returns the bytes f allocates.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// sparseFile writes head at the start of a file of the given size, the rest
// a hole that takes no disk space but reads as zeros.
func sparseFile(t *testing.T, head []byte, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sparse.ckpt")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(head); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Skip("no sparse files here:", err)
	}
	return path
}

// A file that is not a checkpoint is refused from its 28-byte preamble, and
// one whose lengths disagree with its size from the preamble and the size,
// whatever its size: a 2 GB sparse file costs neither 2 GB of memory nor
// the time to read it (the issue: 2.1 GB and 21 s before "bad magic").
func TestReadFileChecksThePreambleAndTheSizeBeforeReading(t *testing.T) {
	const size = 2 << 30
	good := func(dataLen uint64) []byte {
		b := []byte(magic)
		b = binary.LittleEndian.AppendUint32(b, Version)
		b = binary.LittleEndian.AppendUint64(b, 2)
		return binary.LittleEndian.AppendUint64(b, dataLen)
	}
	for _, tc := range []struct {
		name string
		head []byte
		size int64
		want string
	}{
		{"zeros", nil, size, "bad magic"},
		{"short data section", good(100), size, "unexpected data after the checksum"},
		{"long data section", good(1 << 40), 4096, "truncated: expected 1099511627776 bytes of tensor data, got 4032"},
	} {
		path := sparseFile(t, tc.head, tc.size)
		var err error
		n := allocatedBy(func() { _, err = ReadFile(path) })
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming the file and saying %q", tc.name, err, tc.want)
		}
		if n > 1<<20 {
			t.Errorf("%s: reading allocated %d bytes", tc.name, n)
		}
	}
}

// A device is read through the preamble's limit, not to its end: /dev/zero
// and /dev/urandom never end, and stat gives them no size.
func TestReadFileOfADeviceStopsAtThePreamble(t *testing.T) {
	for _, dev := range []string{"/dev/zero", "/dev/urandom"} {
		if _, err := os.Stat(dev); err != nil {
			t.Skip(dev, "is missing here")
		}
		var err error
		n := allocatedBy(func() { _, err = ReadFile(dev) })
		if !errors.Is(err, ErrNotCheckpoint) {
			t.Errorf("%s: error %v, want bad magic", dev, err)
		}
		if n > 1<<20 {
			t.Errorf("%s: reading allocated %d bytes", dev, n)
		}
	}
}

// A stream (a pipe) with a valid checkpoint and more after it: ReadFile
// reads one byte past the checkpoint and reports the trailing data; a
// directory is named as such.
func TestReadFileOfAPipeOrADirectory(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sampleCheckpoint()); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Skip("no pipes here:", err)
	}
	go func() {
		// More than the pipe holds: the writer blocks until the reader
		// closes, so only what ReadFile reads is read.
		_, _ = w.Write(append(b.Bytes(), make([]byte, 1<<20)...))
		w.Close()
	}()
	defer r.Close()
	_, err = ReadFile("/dev/fd/" + strconv.Itoa(int(r.Fd())))
	if err == nil || !strings.Contains(err.Error(), "unexpected data after the checksum") {
		t.Errorf("a checkpoint followed by more bytes in a pipe: %v", err)
	}
	dir := t.TempDir()
	if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory: %v", err)
	}
}
