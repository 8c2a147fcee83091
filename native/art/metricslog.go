package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/artrobust/art/shared/nanjson"
)

// trimMetricsLog keeps only the records of steps up to step in the metrics
// log at path, so that a run that goes on from the checkpoint of that step
// (-resume, or a -nan-retries retry) does not log the steps after it twice,
// and a fresh run (step 0) does not append to an earlier run's log. Lines
// that are not records (a line cut short when a run was killed) are dropped.
// The file is replaced atomically, keeping its mode; a missing file is not
// an error.
func trimMetricsLog(path string, step int) error {
	old, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var kept bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(old))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r EpochRecord
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Step > step {
			continue
		}
		kept.Write(sc.Bytes())
		kept.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if bytes.Equal(kept.Bytes(), old) {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".metrics-*.jsonl")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600: the log keeps its own mode.
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(kept.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// nanjsonEncoder writes one JSON value per line, as json.Encoder does, with
// numbers that are not finite as null: a record of the metrics log is never
// lost, nor the run stopped, over one undefined number.
type nanjsonEncoder struct{ w io.Writer }

func (e nanjsonEncoder) Encode(v any) error {
	b, err := nanjson.Marshal(v)
	if err != nil {
		return err
	}
	_, err = e.w.Write(append(b, '\n'))
	return err
}
