package protocol

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestNumCarriesNaNAsNull(t *testing.T) {
	b, err := json.Marshal(Step{TopK: 0.25, Kendall: Num(math.NaN())})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"topk":0.25`) || !strings.Contains(string(b), `"kendall":null`) {
		t.Fatalf("encoded %s", b)
	}
	var s Step
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.TopK != 0.25 || s.Kendall.Defined() {
		t.Errorf("decoded top-k %v, Kendall %v; want 0.25 and undefined", s.TopK, s.Kendall)
	}
}

func TestPresetsAreValidAndAttackLimitsHold(t *testing.T) {
	for _, a := range []Attack{DefaultAttack(), PaperAttack()} {
		if err := a.Validate(32 * 32); err != nil {
			t.Errorf("%+v: %v", a, err)
		}
	}
	p := PaperAttack()
	if p.Method.Steps != 100 || p.Steps != 50 || p.Eps != 8 || p.StepSize != 1 || p.K != 100 {
		t.Errorf("paper settings %+v, want IG-100, 50 steps of 1/255 in 8/255, k = 100", p)
	}
	bad := DefaultAttack()
	bad.K = 32*32 + 1
	if bad.Validate(32*32) == nil {
		t.Error("k larger than the image was accepted")
	}
	bad = DefaultAttack()
	bad.Method = Method{Name: IntegratedGradient, Steps: 1000}
	if bad.Validate(32*32) == nil {
		t.Error("IG with 1000 points was accepted")
	}
	if (Method{Name: "occlusion"}).Validate() == nil {
		t.Error("an unknown method was accepted")
	}
}
