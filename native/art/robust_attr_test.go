package main

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/attack"
)

// The mass-centre and targeted attacks run on the first attributional
// images, and their "before" numbers agree with maps recomputed here.
func TestEvaluateCenterAndTargetedAttacks(t *testing.T) {
	ck := tinyCheckpoint(t)
	dir := t.TempDir()
	o := quickEvalOptions([]string{ck}, dir)
	o.Sweep, o.N, o.CenterN, o.TargetedN = nil, 4, 3, 3
	reports, err := Evaluate(o, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeEvalReport(o, reports, io.Discard); err != nil {
		t.Fatal(err)
	}
	r := reports[0]
	c, tg := r.Center, r.Targeted
	if r.Attr == nil || c == nil || tg == nil || c.N != 3 || len(c.Images) != 3 || tg.N != 3 || len(tg.Images) != 3 {
		t.Fatalf("attr %v, centre %+v, targeted %+v", r.Attr != nil, c, tg)
	}
	pool := map[int]bool{}
	for _, s := range r.Attr.IFIA.Images {
		pool[s.Index] = true
	}
	diag := math.Hypot(16, 16)
	sum := 0.0
	for i, s := range c.Images {
		if s.Index != r.Attr.IFIA.Images[i].Index || tg.Images[i].Index != s.Index {
			t.Errorf("image %d: centre %d, targeted %d, IFIA %d", i, s.Index, tg.Images[i].Index, r.Attr.IFIA.Images[i].Index)
		}
		for _, v := range []num{s.Shift, s.RandomShift} {
			if f := float64(v); !(f >= 0 && f <= diag) {
				t.Errorf("image %d: centre shift %v outside [0, %v]", s.Index, f, diag)
			}
		}
		if !s.Correct || float64(s.Linf) > float64(o.Eps)+1e-6 {
			t.Errorf("image %d: correct %v, linf %v", s.Index, s.Correct, s.Linf)
		}
		sum += float64(s.Shift)
	}
	if math.Abs(sum/3-float64(c.Shift.Mean)) > 1e-9 {
		t.Errorf("mean shift %v, per-image mean %v", c.Shift.Mean, sum/3)
	}

	net, test := loadTest(t, ck, o.Seed)
	m, err := o.attributionMethod()
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for _, s := range tg.Images {
		if s.TargetLabel == s.Label || test.Labels[s.TargetIndex] != s.TargetLabel || !pool[s.TargetIndex] {
			t.Errorf("image %d (label %d): target %d (label %d) not another class's attributional image", s.Index, s.Label, s.TargetIndex, s.TargetLabel)
		}
		x, y := gather(test, []int{s.Index, s.TargetIndex})
		sal, _, err := attack.SaliencyMaps(net, m, x, y)
		if err != nil {
			t.Fatal(err)
		}
		hw := len(sal) / 2
		mse, corr := mseCorr(sal[:hw], sal[hw:])
		if math.Abs(mse-float64(s.MSEBefore)) > 1e-4*max(1, mse) || math.Abs(corr-float64(s.CorrBefore)) > 1e-4 {
			t.Errorf("image %d: before MSE %v corr %v, recomputed %v %v", s.Index, s.MSEBefore, s.CorrBefore, mse, corr)
		}
		// The kept iterate is the closest to the target, the clean image included.
		if float64(s.MSEAfter) > float64(s.MSEBefore)+1e-9 || float64(s.Linf) > float64(o.Eps)+1e-6 || !s.Correct {
			t.Errorf("image %d: MSE %v -> %v, linf %v, correct %v", s.Index, s.MSEBefore, s.MSEAfter, s.Linf, s.Correct)
		}
		if s.FinalCorrect {
			correct++
		}
	}
	if tg.FinalCorrect != float64(correct)/3 {
		t.Errorf("final correct fraction %v, per image %d/3", tg.FinalCorrect, correct)
	}

	var got struct {
		Models []struct {
			Center   map[string]any `json:"mass_center"`
			Targeted map[string]any `json:"targeted"`
		} `json:"models"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Models) != 1 || got.Models[0].Center["shift"] == nil || got.Models[0].Targeted["mse_after"] == nil {
		t.Errorf("report.json lacks the sections: %+v", got.Models)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| centre shift (attack) | centre shift (random sign) |", "| MSE before | MSE after |",
		pm(c.Shift, "%.3f"), pm(tg.CorrAfter, "%.3f")} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
}

// mseCorr is the mean squared difference and Pearson correlation of a and b.
func mseCorr(a, b []float32) (mse, corr float64) {
	n := float64(len(a))
	var ma, mb float64
	for i := range a {
		ma, mb = ma+float64(a[i])/n, mb+float64(b[i])/n
		mse += (float64(a[i]) - float64(b[i])) * (float64(a[i]) - float64(b[i])) / n
	}
	var sab, saa, sbb float64
	for i := range a {
		da, db := float64(a[i])-ma, float64(b[i])-mb
		sab, saa, sbb = sab+da*db, saa+da*da, sbb+db*db
	}
	return mse, sab / math.Sqrt(saa*sbb)
}

// The targeted attack needs an image of another class among the
// attributional images.
func TestTargetPairsNeedAnotherClass(t *testing.T) {
	_, test := loadTest(t, tinyCheckpoint(t), 1)
	var same []int
	for i, l := range test.Labels {
		if l == test.Labels[0] {
			same = append(same, i)
		}
	}
	if _, err := targetPairs(test, same[:3], 2); err == nil {
		t.Error("no error for images of one class")
	}
	other := -1
	for i, l := range test.Labels {
		if l != test.Labels[0] {
			other = i
			break
		}
	}
	got, err := targetPairs(test, []int{same[0], same[1], other}, 3)
	if err != nil || got[0] != other || got[1] != other || got[2] != same[0] {
		t.Errorf("targets %v (%v), want [%d %d %d]", got, err, other, other, same[0])
	}
}
