package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
)

// A panic inside GoMLX (here a real one: adding tensors of shapes [2] and
// [3] while building a graph) reaches the command boundary as a one-line
// error naming the command, not a crash; ART_DEBUG adds the stack.
func TestGoMLXPanicBecomesAOneLineError(t *testing.T) {
	backend, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	mismatch := func() error {
		e := graph.MustNewExec(backend, func(a, b *graph.Node) *graph.Node { return graph.Add(a, b) })
		e.MustCall([]float32{1, 2}, []float32{1, 2, 3})
		return nil
	}
	var stderr bytes.Buffer
	err = guard("explain", &stderr, mismatch)
	if err == nil {
		t.Fatal("the shape mismatch gave no error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "explain: internal error: ") || strings.Contains(msg, "\n") || !strings.Contains(msg, "ART_DEBUG") {
		t.Errorf("error %q, want one line starting \"explain: internal error: \" and pointing to ART_DEBUG", msg)
	}
	t.Logf("%s", msg)
	if stderr.Len() != 0 {
		t.Errorf("without ART_DEBUG, stderr got %q", stderr.String())
	}
	t.Setenv("ART_DEBUG", "1")
	if err := guard("explain", &stderr, mismatch); err == nil || !strings.Contains(stderr.String(), "goroutine") {
		t.Errorf("with ART_DEBUG: error %v, stderr %q: want the error and the stack", err, stderr.String())
	}
	if err := guard("explain", &stderr, func() error { return nil }); err != nil {
		t.Errorf("no panic: %v", err)
	}
	if got := oneLine("a\n\n  b  \nc\n"); got != "a | b | c" {
		t.Errorf("oneLine: %q", got)
	}
}
