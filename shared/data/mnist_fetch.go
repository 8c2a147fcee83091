//go:build !js && !wasip1

package data

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// MNISTDir returns the folder holding the official MNIST files: the data/
// folder of the Go module MNISTModule, which `go mod download` fetches
// through the Go module proxy (checked against the Go checksum database)
// into the module cache, or finds there. LoadMNIST then checks each file's
// SHA-256. It needs the go command on the PATH, as the project's set-up
// does.
func MNISTDir() (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("mnist: %w (it fetches %s); install Go or give -data mnist:DIR with the four files", errNoGo, MNISTModule)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, "mod", "download", "-json", MNISTModule)
	// Outside any module: a go.mod around the working directory (which may
	// want a newer toolchain) has no say in the download.
	tmp, err := os.MkdirTemp("", "art-mnist-")
	if err != nil {
		return "", fmt.Errorf("mnist: %w", err)
	}
	defer os.RemoveAll(tmp)
	cmd.Dir = tmp
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil || runErr != nil || info.Error != "" || info.Dir == "" {
		why := strings.TrimSpace(info.Error)
		if why == "" {
			why = strings.TrimSpace(firstLine(stderr.String()))
		}
		if why == "" && runErr != nil {
			why = runErr.Error()
		}
		return "", fmt.Errorf("mnist: go mod download %s failed: %s (the module proxy must be reachable once; or give -data mnist:DIR with the four files)", MNISTModule, why)
	}
	return filepath.Join(info.Dir, "data"), nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
