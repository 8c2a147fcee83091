package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// web/loader.js recognises Vugu's eval of its helper by this prefix; if a
// Vugu upgrade changes the helper, this test says so.
const loaderPrefix = "(function(){if(window.vuguRender)return;"

func TestHelperScriptIsWhatTheLoaderSkips(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/vugu/vugu").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	s, err := helperScript(filepath.Join(strings.TrimSpace(string(out)), "domrender", "renderer-js-script.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, loaderPrefix) || !strings.Contains(s, "window.vuguRender=function") {
		t.Errorf("the helper starts %.60q, want %q and a vuguRender definition", s, loaderPrefix)
	}
	loader, err := os.ReadFile(filepath.Join("..", "..", "..", "web", "loader.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(loader), loaderPrefix) {
		t.Errorf("web/loader.js does not look for %q", loaderPrefix)
	}
}
