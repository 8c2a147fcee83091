package model

import (
	"bytes"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/checkpoint"
)

func TestCheckpointRoundTripIsExact(t *testing.T) {
	n := tinyNet(t, 5)
	ck, err := n.Checkpoint(checkpoint.Meta{Method: "natural", Dataset: "test",
		ClassNames: []string{"a", "b", "c", "d", "e"}}, map[string][]float32{"/optimizer/x": {1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, ck); err != nil {
		t.Fatal(err)
	}
	back, err := checkpoint.ReadBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadNet(n.Backend, back)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := n.Values()
	got, _ := m.Values()
	for path, w := range want {
		for i := range w {
			if got[path][i] != w[i] {
				t.Fatalf("%s[%d]: %g after the round trip, want %g", path, i, got[path][i], w[i])
			}
		}
	}
	x := toF32(randImages(1, 2, 8))
	a, err := n.Predict(x, ReLU)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Predict(x, ReLU)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("logit %d: %g from the original, %g from the reloaded model", i, a[i], b[i])
		}
	}
	if m.Config.Mean[0] != n.Config.Mean[0] || m.Config.NumClasses != 5 {
		t.Errorf("reloaded config %+v differs from %+v", m.Config, n.Config)
	}
}

func TestCheckpointOfAnotherArchitectureIsRejected(t *testing.T) {
	n := tinyNet(t, 5)
	ck, err := n.Checkpoint(checkpoint.Meta{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wide, err := ParseArch("WRN-10-2", 5, 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	_, err = wide.ValuesFromCheckpoint(ck)
	if err == nil || !strings.Contains(err.Error(), "does not match") || !strings.Contains(err.Error(), "WRN-10-2") {
		t.Errorf("loading WRN-10-1 weights as WRN-10-2: error %v, want a mismatch naming WRN-10-2", err)
	}
	ck.Meta.Arch.Name = "WRN-12-1"
	if _, err := LoadNet(n.Backend, ck); err == nil {
		t.Error("a checkpoint naming an invalid architecture loaded")
	}
}

func TestTruncatedCheckpointGivesAnError(t *testing.T) {
	n := tinyNet(t, 5)
	ck, err := n.Checkpoint(checkpoint.Meta{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, ck); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	for _, cut := range []int{0, 10, len(b) / 2, len(b) - 1} {
		if _, err := checkpoint.ReadBytes(b[:cut]); err == nil {
			t.Errorf("checkpoint cut at %d of %d bytes was read", cut, len(b))
		}
	}
}
