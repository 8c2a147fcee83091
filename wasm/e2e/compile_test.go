package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The browser test builds the site only where Chromium is installed; this
// check runs everywhere, so that code which compiles natively but not for
// the browser (the js && wasm files) fails the tests on any machine.
func TestInterfaceAndEngineCompileForTheBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles GoMLX for WebAssembly")
	}
	cmd := exec.Command("go", "vet", "./wasm/app", "./wasm/worker")
	cmd.Dir = repoRoot(t)
	env := []string{"GOOS=js", "GOARCH=wasm", "GOEXPERIMENT="}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOOS=") && !strings.HasPrefix(kv, "GOARCH=") && !strings.HasPrefix(kv, "GOEXPERIMENT=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go vet ./wasm/app ./wasm/worker: %v\n%s", err, out)
	}
}
