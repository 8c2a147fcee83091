package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkOutputDir makes sure the folder dir, given by flag, exists or can be
// made, and can be written, before a command starts its work: a long
// evaluation must not end failing to write its report. "" is no folder.
func checkOutputDir(flag, dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%s %s: the folder cannot be made: %w", flag, dir, pathErr(err))
	}
	return checkWritable(flag, dir, dir)
}

// checkOutputFile makes sure the file path, given by flag, can be written:
// its folder exists and takes new files.
func checkOutputFile(flag, path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s %s: is a folder, not a file", flag, path)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s %s: the folder %s does not exist", flag, path, dir)
	}
	return checkWritable(flag, path, dir)
}

// checkWritable creates and removes a file in dir.
func checkWritable(flag, what, dir string) error {
	f, err := os.CreateTemp(dir, ".art-write-check-*")
	if err != nil {
		return fmt.Errorf("%s %s: cannot write there: %w", flag, what, pathErr(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// pathErr drops the path from a *fs.PathError, which the message names
// already.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
