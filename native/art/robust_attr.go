package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/model"
	"github.com/schollz/progressbar/v3"
)

// CenterImage is the mass-centre attack's outcome on one test image: the
// distance in pixels between the centres of mass of the clean and the kept
// map, under the attack and under the random-sign baseline.
type CenterImage struct {
	Index       int  `json:"index"`
	Label       int  `json:"label"`
	Shift       num  `json:"shift"`
	RandomShift num  `json:"random_shift"`
	Linf        num  `json:"linf"`
	Pred        int  `json:"pred"`
	Correct     bool `json:"correct"`
	Restart     int  `json:"restart"`
	Step        int  `json:"step"`
}

// CenterReport summarises the mass-centre attack (Ghorbani et al., AAAI
// 2019) over the first images of the attributional evaluation.
type CenterReport struct {
	Attack      string        `json:"attack"`
	Random      string        `json:"random_sign"`
	N           int           `json:"n"`
	Shift       Summary       `json:"shift"`
	RandomShift Summary       `json:"random_shift"`
	Images      []CenterImage `json:"images"`
}

// TargetedImage is the targeted manipulation's outcome on one test image:
// the mean squared difference and the Pearson correlation of its map with
// the target map (the evaluation map of test image TargetIndex for its own
// label), on the clean image (Before) and on the kept iterate (After).
type TargetedImage struct {
	Index       int  `json:"index"`
	Label       int  `json:"label"`
	TargetIndex int  `json:"target_index"`
	TargetLabel int  `json:"target_label"`
	MSEBefore   num  `json:"mse_before"`
	MSEAfter    num  `json:"mse_after"`
	CorrBefore  num  `json:"corr_before"`
	CorrAfter   num  `json:"corr_after"`
	Linf        num  `json:"linf"`
	Pred        int  `json:"pred"`
	Correct     bool `json:"correct"`
	Restart     int  `json:"restart"`
	Step        int  `json:"step"`
	// FinalPred and FinalCorrect describe the last iterate of the first
	// run, whether or not it was kept.
	FinalPred    int  `json:"final_pred"`
	FinalCorrect bool `json:"final_correct"`
}

// TargetedReport summarises the targeted manipulation attack (Dombrowski
// et al., NeurIPS 2019) over the first images of the attributional
// evaluation.
type TargetedReport struct {
	Attack     string  `json:"attack"`
	N          int     `json:"n"`
	MSEBefore  Summary `json:"mse_before"`
	MSEAfter   Summary `json:"mse_after"`
	CorrBefore Summary `json:"corr_before"`
	CorrAfter  Summary `json:"corr_after"`
	// Correct is the fraction of kept iterates classified as the label (1
	// unless an image had no such iterate: the kept one must be), and
	// FinalCorrect that of the last iterates of the first run.
	Correct      float64         `json:"correct_frac"`
	FinalCorrect float64         `json:"final_correct_frac"`
	Images       []TargetedImage `json:"images"`
}

// centerAttack returns the mass-centre attack and its random-sign baseline
// with the IFIA settings of the options (eps, step, steps, k, restarts,
// beta, seed); both keep the largest centre shift.
func (o EvalOptions) centerAttack() (attack.IFIA, attack.RandomSign, error) {
	a := attack.DefaultCenterAttack()
	a.Eps, a.Step, a.Steps, a.K, a.Restarts, a.Beta, a.Seed = float64(o.Eps), float64(o.Step), o.Steps, o.K, o.Restarts, o.Beta, o.Seed
	r := attack.DefaultRandomSign()
	r.Eps, r.Draws, r.K, r.Seed, r.Keep = float64(o.Eps), o.RandomDraws, o.K, o.Seed, attack.KeepCenterShift
	if err := a.Validate(); err != nil {
		return a, r, err
	}
	return a, r, r.Validate()
}

// manipulation returns the targeted attack with the IFIA settings of the
// options; it keeps the map closest to the target.
func (o EvalOptions) manipulation() (attack.Manipulation, error) {
	a := attack.DefaultManipulation()
	a.Eps, a.Step, a.Steps, a.K, a.Restarts, a.Beta, a.Seed = float64(o.Eps), float64(o.Step), o.Steps, o.K, o.Restarts, o.Beta, o.Seed
	return a, a.Validate()
}

// targetPairs gives each of the first n images of pool the next image of
// pool (cyclically) whose label differs: its map is the target.
func targetPairs(test *data.Dataset, pool []int, n int) ([]int, error) {
	out := make([]int, n)
	for i := range n {
		out[i] = -1
		for d := 1; d < len(pool); d++ {
			if j := pool[(i+d)%len(pool)]; test.Labels[j] != test.Labels[pool[i]] {
				out[i] = j
				break
			}
		}
		if out[i] < 0 {
			return nil, fmt.Errorf("targeted attack: no image of another class among the %d attributional images", len(pool))
		}
	}
	return out, nil
}

// massCenterAttack runs the mass-centre attack and the random-sign baseline
// on the images idx, in batches.
func massCenterAttack(net *model.Net, m attribution.Method, test *data.Dataset, idx []int, batch int,
	a attack.IFIA, rs attack.RandomSign, bar *progressbar.ProgressBar) (*CenterReport, error) {
	rep := &CenterReport{Attack: a.String(), Random: fmt.Sprintf("random sign eps %.4g, %d draws", rs.Eps, rs.Draws), N: len(idx)}
	for s := 0; s < len(idx); s += batch {
		part := idx[s:min(s+batch, len(idx))]
		x, y := gather(test, part)
		res, err := a.Attack(net, m, x, y)
		if err != nil {
			return nil, err
		}
		rnd, err := rs.Attack(net, m, x, y)
		if err != nil {
			return nil, err
		}
		for j, im := range res.Images {
			k := im.Kept
			rep.Images = append(rep.Images, CenterImage{Index: part[j], Label: y[j], Shift: num(k.CenterShift),
				RandomShift: num(rnd.Images[j].Kept.CenterShift), Linf: num(k.Linf), Pred: k.Pred, Correct: k.Correct,
				Restart: im.Restart, Step: im.Step})
		}
		_ = bar.Add(len(part))
	}
	var sh, rsh []float64
	for _, im := range rep.Images {
		sh, rsh = append(sh, float64(im.Shift)), append(rsh, float64(im.RandomShift))
	}
	rep.Shift, rep.RandomShift = summarize(sh), summarize(rsh)
	return rep, nil
}

// targetedAttack runs the targeted manipulation on the images idx, image
// idx[i] being pushed towards the evaluation map of targets[i] (for the
// target image's own label) under the same model.
func targetedAttack(net *model.Net, m attribution.Method, test *data.Dataset, idx, targets []int, batch int,
	a attack.Manipulation, bar *progressbar.ProgressBar) (*TargetedReport, error) {
	rep := &TargetedReport{Attack: a.String(), N: len(idx)}
	for s := 0; s < len(idx); s += batch {
		part, tpart := idx[s:min(s+batch, len(idx))], targets[s:min(s+batch, len(idx))]
		x, y := gather(test, part)
		xt, yt := gather(test, tpart)
		tmaps, _, err := attack.SaliencyMaps(net, m, xt, yt)
		if err != nil {
			return nil, err
		}
		res, err := a.Attack(net, m, x, y, tmaps)
		if err != nil {
			return nil, err
		}
		for j, im := range res.Images {
			k, clean := im.Kept, im.Trace[0][0]
			last := im.Trace[0][len(im.Trace[0])-1]
			rep.Images = append(rep.Images, TargetedImage{Index: part[j], Label: y[j], TargetIndex: tpart[j], TargetLabel: yt[j],
				MSEBefore: num(clean.TargetMSE), MSEAfter: num(k.TargetMSE), CorrBefore: num(clean.TargetCorr), CorrAfter: num(k.TargetCorr),
				Linf: num(k.Linf), Pred: k.Pred, Correct: k.Correct, Restart: im.Restart, Step: im.Step,
				FinalPred: last.Pred, FinalCorrect: last.Correct})
		}
		_ = bar.Add(len(part))
	}
	var mb, ma, cb, ca []float64
	correct, final := 0, 0
	for _, im := range rep.Images {
		mb, ma = append(mb, float64(im.MSEBefore)), append(ma, float64(im.MSEAfter))
		cb, ca = append(cb, float64(im.CorrBefore)), append(ca, float64(im.CorrAfter))
		if im.Correct {
			correct++
		}
		if im.FinalCorrect {
			final++
		}
	}
	rep.MSEBefore, rep.MSEAfter, rep.CorrBefore, rep.CorrAfter = summarize(mb), summarize(ma), summarize(cb), summarize(ca)
	n := float64(max(len(rep.Images), 1))
	rep.Correct, rep.FinalCorrect = float64(correct)/n, float64(final)/n
	return rep, nil
}

// attributionSections runs the mass-centre and targeted attacks of one
// checkpoint on the first CenterN and TargetedN images of pool (the
// attributional images; IFIA attacks the first N).
func (o EvalOptions) attributionSections(r *ModelReport, l loaded, test *data.Dataset, m attribution.Method, pool []int,
	stdout, stderr io.Writer) error {
	net := l.net
	if o.CenterN > 0 {
		a, rs, err := o.centerAttack()
		if err != nil {
			return err
		}
		idx := pool[:min(o.CenterN, len(pool))]
		bar := newBarDesc(len(idx), o.NoProgress, stderr, "mass centre "+filepath.Base(l.path))
		if r.Center, err = massCenterAttack(net, m, test, idx, o.AttackBatch, a, rs, bar); err != nil {
			return err
		}
		_ = bar.Finish()
		c := r.Center
		fmt.Fprintf(stdout, "  mass-centre attack (%d images): centre shift %.3f±%.3f px, random sign %.3f±%.3f px\n", c.N,
			float64(c.Shift.Mean), float64(c.Shift.Std), float64(c.RandomShift.Mean), float64(c.RandomShift.Std))
	}
	if o.TargetedN > 0 {
		a, err := o.manipulation()
		if err != nil {
			return err
		}
		idx := pool[:min(o.TargetedN, len(pool))]
		targets, err := targetPairs(test, pool, len(idx))
		if err != nil {
			return err
		}
		bar := newBarDesc(len(idx), o.NoProgress, stderr, "targeted "+filepath.Base(l.path))
		if r.Targeted, err = targetedAttack(net, m, test, idx, targets, o.AttackBatch, a, bar); err != nil {
			return err
		}
		_ = bar.Finish()
		t := r.Targeted
		fmt.Fprintf(stdout, "  targeted manipulation (%d images): MSE to target %.4f -> %.4f, correlation %.4f -> %.4f, last iterate correct %.3f\n",
			t.N, float64(t.MSEBefore.Mean), float64(t.MSEAfter.Mean), float64(t.CorrBefore.Mean), float64(t.CorrAfter.Mean), t.FinalCorrect)
	}
	return nil
}

// pm formats a summary's mean ± std with the given verb, "–" for NaN.
func pm(s Summary, verb string) string {
	f := func(v num) string {
		if x := float64(v); math.IsNaN(x) || math.IsInf(x, 0) {
			return "–"
		}
		return fmt.Sprintf(verb, float64(v))
	}
	return f(s.Mean) + " ± " + f(s.Std)
}

// attributionMarkdown appends the tables of the mass-centre and targeted
// attacks.
func attributionMarkdown(md *strings.Builder, o EvalOptions, reports []ModelReport) {
	if c := reports[0].Center; c != nil {
		fmt.Fprintf(md, "\nMass-centre attack (Ghorbani et al.): distance in pixels between the centres of mass of the clean and the attacked map, eps %.3g/255, %d steps of %.3g/255, against the random-sign baseline at the same eps; %d of the attributional test images, mean ± std.\n\n",
			255*float64(o.Eps), o.Steps, 255*float64(o.Step), c.N)
		md.WriteString("| checkpoint | centre shift (attack) | centre shift (random sign) |\n|---|---:|---:|\n")
		for _, r := range reports {
			fmt.Fprintf(md, "| %s | %s | %s |\n", r.Checkpoint, pm(r.Center.Shift, "%.3f"), pm(r.Center.RandomShift, "%.3f"))
		}
	}
	if t := reports[0].Targeted; t != nil {
		fmt.Fprintf(md, "\nTargeted manipulation (Dombrowski et al.): each image's map pushed towards the map of the next attributional image of another class, eps %.3g/255, %d steps of %.3g/255; %d images, mean ± std of the mean squared difference (maps summing to H*W) and the Pearson correlation to the target map, before and after the attack, and the percentage of last iterates still classified correctly.\n\n",
			255*float64(o.Eps), o.Steps, 255*float64(o.Step), t.N)
		md.WriteString("| checkpoint | MSE before | MSE after | corr before | corr after | still correct |\n|---|---:|---:|---:|---:|---:|\n")
		for _, r := range reports {
			t := r.Targeted
			fmt.Fprintf(md, "| %s | %s | %s | %s | %s | %s |\n", r.Checkpoint, pm(t.MSEBefore, "%.4f"), pm(t.MSEAfter, "%.4f"),
				pm(t.CorrBefore, "%.3f"), pm(t.CorrAfter, "%.3f"), pct(t.FinalCorrect))
		}
	}
}
