package checkpoint

import (
	"bytes"
	"math"
	"testing"
)

// A checkpoint written at the end of a long run is not lost because one
// number of its metadata is NaN or infinite: such numbers are written as
// null; metrics read back as NaN, hyper-parameters as null.
func TestNonFiniteMetadataIsWrittenAsNull(t *testing.T) {
	c := sampleCheckpoint()
	c.Meta.Metrics = Metrics{"clean_acc": 0.5, "pgd_acc": math.NaN(), "loss": math.Inf(1)}
	c.Meta.Hyper = map[string]any{"lr": math.NaN(), "sweep": []any{0.1, math.Inf(-1)}, "batch": 64.0}
	var b bytes.Buffer
	if err := Write(&b, c); err != nil {
		t.Fatalf("Write: %v", err)
	}
	back, err := ReadBytes(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	m := back.Meta.Metrics
	if len(m) != 3 || m["clean_acc"] != 0.5 || !math.IsNaN(m["pgd_acc"]) || !math.IsNaN(m["loss"]) {
		t.Errorf("metrics read back as %v", m)
	}
	h := back.Meta.Hyper
	if sweep, _ := h["sweep"].([]any); h["lr"] != nil || h["batch"] != 64.0 || len(sweep) != 2 || sweep[0] != 0.1 || sweep[1] != nil {
		t.Errorf("hyper-parameters read back as %v", h)
	}
	if !bytes.Contains(b.Bytes(), []byte(`"pgd_acc":null`)) {
		t.Errorf("the header does not hold \"pgd_acc\":null")
	}
}
