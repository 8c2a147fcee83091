package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/artrobust/art/shared/checkpoint"
)

// TestMain lets a test re-run this binary as the art command: with
// ART_TEST_MAIN=1 it runs main() on the arguments after "--".
func TestMain(m *testing.M) {
	if os.Getenv("ART_TEST_MAIN") == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"art"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func artCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "ART_TEST_MAIN=1")
	return cmd
}

func tinyTrainArgs(out string) []string {
	return []string{"train", "-out", out, "-size", "16", "-train-n", "96", "-test-n", "40", "-batch", "32",
		"-epochs", "50", "-eval-n", "40", "-eval-pgd-n", "0", "-ckpt-every", "1", "-no-progress"}
}

// Killing a training process at any moment (SIGKILL, no chance to clean up)
// must leave a complete, loadable checkpoint behind: checkpoints are written
// to a temporary file and renamed.
func TestKilledTrainingLeavesALoadableCheckpoint(t *testing.T) {
	out := t.TempDir()
	path := filepath.Join(out, "model.ckpt")
	lastStep := int64(-1)
	for round := range 6 {
		args := tinyTrainArgs(out)
		if round > 0 {
			args = append(args, "-resume")
		}
		cmd := artCommand(t, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until this round has written at least one new checkpoint, then
		// kill after a varying delay so the kill lands at different moments
		// (often mid-write: a checkpoint is written after every step).
		deadline := time.Now().Add(10 * time.Minute) // generous: a loaded machine compiles slowly
		for {
			if ck, err := checkpoint.ReadFile(path); err == nil && ck.Meta.Training.Step > lastStep {
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("round %d: no new checkpoint within 10 minutes", round)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Duration(37*round) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		ck, err := checkpoint.ReadFile(path)
		if err != nil {
			t.Fatalf("round %d: after SIGKILL the checkpoint does not load: %v", round, err)
		}
		if ck.Meta.Training.Step <= lastStep {
			t.Fatalf("round %d: checkpoint step %d did not advance past %d", round, ck.Meta.Training.Step, lastStep)
		}
		lastStep = ck.Meta.Training.Step
	}
}

// Ctrl-C (SIGINT) saves a checkpoint and exits with status 130; the run can
// then be resumed.
func TestInterruptSavesAndExits130(t *testing.T) {
	out := t.TempDir()
	path := filepath.Join(out, "model.ckpt")
	cmd := artCommand(t, tinyTrainArgs(out)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		if _, err := checkpoint.ReadFile(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("no checkpoint within 10 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("after SIGINT: %v, want exit status 130", err)
	}
	ck, err := checkpoint.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	step := ck.Meta.Training.Step
	if step < 1 || step >= 50*3 {
		t.Fatalf("interrupted checkpoint at step %d", step)
	}
	resume := artCommand(t, append(tinyTrainArgs(out), "-resume", "-max-steps", strconv.Itoa(int(step)+2))...)
	if b, err := resume.CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, b)
	}
	ck, err = checkpoint.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Meta.Training.Step != step+2 {
		t.Errorf("resumed run ended at step %d, want %d", ck.Meta.Training.Step, step+2)
	}
}
