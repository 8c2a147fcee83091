package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gomlx/compute"
)

// The compute engine: GoMLX's pure-Go backend needs nothing and is the
// default. ONNX Runtime (GoMLX's compute-onnx backend) is the fast path for
// attributions: measured side by side on this project's 2-core machine
// (docs/performance.md), it ran IG-100 and the IFIA step 1.3-1.7x faster
// than the Go backend, but WRN-10-1's training steps only 0.7-0.85x as fast
// and WRN-16-4's ART step with 2.7x the memory. So the
// commands that mostly compute attributions and attribution attacks (eval,
// explain, attack, localize) use it by themselves when its library is found
// (see ortSearchPaths), and training uses it only when asked. ART_ORT_LIB
// names the library for every command ("auto": search for it; "off": the
// Go backend everywhere). GOMLX_BACKEND always wins. The library is the one
// inside the npm package onnxruntime-node (`./build.sh ort` fetches it).

// work is what a command mostly computes: it decides whether art picks ONNX
// Runtime without being asked.
type work int

const (
	// trainingWork: training steps, and art bench, which compares the
	// engines only when asked. ONNX Runtime only through ART_ORT_LIB.
	trainingWork work = iota
	// attributionWork: attributions and attribution attacks. ONNX Runtime
	// whenever its library is found, unless ART_ORT_LIB=off.
	attributionWork
)

// ortLibEnv names the ONNX Runtime shared library to use when GOMLX_BACKEND
// is unset; "auto" searches ortSearchPaths; "off", empty or unset keeps the
// Go backend.
const ortLibEnv = "ART_ORT_LIB"

// ortLibName is the library's file name in onnxruntime-node's Linux builds.
const ortLibName = "libonnxruntime.so.1"

// ortFetchedLib is where `./build.sh ort` puts the library (taken from the
// npm package onnxruntime-node), relative to the repository root: in a
// dot-folder of node_modules/, which npm installs of other packages leave
// alone.
var ortFetchedLib = filepath.Join("node_modules", ".onnxruntime", ortLibName)

// ortNodeLib is where an ordinary `npm install onnxruntime-node` keeps the
// library, relative to the folder holding node_modules/.
func ortNodeLib() string {
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]
	return filepath.Join("node_modules", "onnxruntime-node", "bin", "napi-v6", runtime.GOOS, arch, ortLibName)
}

// ortSearchPaths lists where art looks for the library, in order: next to
// the executable; then ortFetchedLib and ortNodeLib under the executable's
// parent folder (the repository, for bin/art) and under the working
// directory.
func ortSearchPaths() []string {
	var paths []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dir := filepath.Dir(exe)
		paths = append(paths, filepath.Join(dir, ortLibName),
			filepath.Join(dir, "..", ortFetchedLib), filepath.Join(dir, "..", ortNodeLib()))
	}
	return append(paths, ortFetchedLib, ortNodeLib())
}

// engineChoice is the backend configuration art starts and why.
type engineChoice struct {
	config string // GOMLX_BACKEND syntax
	why    string
	auto   bool // chosen by art (a failure to start falls back to the Go backend)
}

// chooseEngine applies the rules above. lookup is os.LookupEnv (a parameter
// for tests).
func chooseEngine(lookup func(string) (string, bool), search []string, w work) (engineChoice, error) {
	if c, ok := lookup(compute.ConfigEnvVar); ok && c != "" {
		return engineChoice{config: c, why: "set by " + compute.ConfigEnvVar}, nil
	}
	goBackend := engineChoice{config: "go", why: "the default"}
	if !ortLinked {
		return goBackend, nil
	}
	if lib, ok := lookup(ortLibEnv); ok {
		if lib == "" || strings.EqualFold(lib, "off") {
			return engineChoice{config: "go", why: ortLibEnv + "=off"}, nil
		}
		if !strings.EqualFold(lib, "auto") {
			if err := usableLib(lib); err != nil {
				return engineChoice{}, fmt.Errorf("%s: %w", ortLibEnv, err)
			}
			return engineChoice{config: ortConfig(lib), why: "set by " + ortLibEnv}, nil
		}
	} else if w != attributionWork {
		return goBackend, nil
	}
	for _, p := range search {
		if usableLib(p) == nil {
			abs, err := filepath.Abs(p)
			if err != nil {
				abs = p
			}
			return engineChoice{config: ortConfig(abs), why: "library found at " + abs, auto: true}, nil
		}
	}
	return goBackend, nil
}

// usableLib checks that path is a regular file whose name the backend
// configuration can carry (it is comma-separated).
func usableLib(path string) error {
	if strings.Contains(path, ",") {
		return fmt.Errorf("%q: a comma in the library path cannot be passed to the backend", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no ONNX Runtime library at %q", path)
		}
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%q is not a file", path)
	}
	return nil
}

// ortConfig selects ONNX Runtime on the CPU with the given library, one
// operator thread per core.
func ortConfig(lib string) string {
	return fmt.Sprintf("onnx:%s,intra_op_num_threads=%d", lib, runtime.NumCPU())
}

// newBackend starts the engine chooseEngine picks for w. An ONNX Runtime
// library found by art that fails to load leaves a note on stderr and the Go
// backend; one named by the user is an error. When art picks ONNX Runtime
// by itself for attributions it says so on stderr, once per process.
func newBackend(w work) (compute.Backend, error) {
	return startEngine(os.LookupEnv, ortSearchPaths(), os.Stderr, w)
}

// autoNoted is whether the note on an ONNX Runtime art picked was written.
var autoNoted bool

func startEngine(lookup func(string) (string, bool), search []string, stderr io.Writer, w work) (compute.Backend, error) {
	choice, err := chooseEngine(lookup, search, w)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(choice.config, "onnx") {
		disableORTDownload()
	}
	b, err := compute.NewWithConfig(choice.config)
	if err != nil && choice.auto {
		fmt.Fprintf(stderr, "note: ONNX Runtime (%s) did not start, using the Go backend: %v\n", choice.why, err)
		return compute.NewWithConfig("go")
	}
	if err == nil && choice.auto && !autoNoted {
		autoNoted = true
		fmt.Fprintf(stderr, "engine: ONNX Runtime, %s (%s=off for the Go backend)\n", choice.why, ortLibEnv)
	}
	if err != nil {
		return nil, fmt.Errorf("starting the compute backend %q (%s): %w", choice.config, choice.why, err)
	}
	return b, nil
}

// engineName is the one-line name of a backend that commands print.
func engineName(b compute.Backend) string {
	switch s := strings.ToLower(b.String()); {
	case s == "go":
		return "Go backend (GoMLX, pure Go)"
	case strings.HasPrefix(s, "onnx"):
		return "ONNX Runtime (" + b.Description() + ")"
	default:
		return b.Name() + " (" + b.Description() + ")"
	}
}
