package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/corrupt"
	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/model"
)

// This file holds the robustness sections of "art eval" beyond IFIA and
// PGD: common corruptions, SPSA, transfer attacks, the spatial attack and
// the sensitivity of the attribution maps.

// countCorrect is how many of the images x (NHWC, labels y) net classifies
// correctly, in fixed batches of evalBatch (the last one padded).
func countCorrect(net *model.Net, x []float32, y []int) (int, error) {
	n := len(y)
	if n == 0 {
		return 0, nil
	}
	per := len(x) / n
	buf := make([]float32, evalBatch*per)
	correct := 0
	for s := 0; s < n; s += evalBatch {
		real := min(evalBatch, n-s)
		for j := range evalBatch {
			i := s + min(j, real-1)
			copy(buf[j*per:(j+1)*per], x[i*per:(i+1)*per])
		}
		logits, err := net.Predict(buf, model.ReLU)
		if err != nil {
			return 0, err
		}
		for j, p := range model.Argmax(logits, net.Config.NumClasses)[:real] {
			if p == y[s+j] {
				correct++
			}
		}
	}
	return correct, nil
}

// gather copies the images idx of ds into one NHWC slice with their labels.
func gather(ds *data.Dataset, idx []int) ([]float32, []int) {
	x := make([]float32, 0, len(idx)*ds.ImageSize())
	y := make([]int, len(idx))
	for j, i := range idx {
		x = append(x, ds.Image(i)...)
		y[j] = ds.Labels[i]
	}
	return x, y
}

// pgdExamples returns PGD adversarial examples of the images idx (in
// order) and their labels: batch b of evalBatch images attacked with seed
// seed+b, so the examples do not depend on which checkpoints are evaluated.
func pgdExamples(net *model.Net, ds *data.Dataset, idx []int, p attack.PGD, seed uint64) ([]float32, []int, error) {
	per := ds.ImageSize()
	out := make([]float32, 0, len(idx)*per)
	var labels []int
	batch := 0
	err := forBatches(ds, idx, evalBatch, func(x []float32, y []int, real int) error {
		adv, err := p.Attack(net, x, y, seed+uint64(batch))
		batch++
		if err != nil {
			return err
		}
		out = append(out, adv[:real*per]...)
		labels = append(labels, y[:real]...)
		return nil
	})
	return out, labels, err
}

// CorruptionType is the accuracy under one corruption type of CIFAR-10-C
// (Hendrycks & Dietterich, ICLR 2019) at severities 1 to 5.
type CorruptionType struct {
	Name     string    `json:"name"`
	Severity []float64 `json:"severity_acc"`
	Mean     float64   `json:"mean_acc"`
}

// CorruptionReport is the accuracy under the 15 common corruptions (the
// paper's Table 3): per type the mean over the severities, and the mean over
// the types.
type CorruptionReport struct {
	N     int              `json:"n"`
	Types []CorruptionType `json:"types"`
	Mean  float64          `json:"mean_acc"`
}

// corruptionAccuracy corrupts the images idx once per type and severity
// (corrupt.ApplyBatch with seed, so image j of idx always gets the same
// corruption) and measures every checkpoint on them.
func corruptionAccuracy(nets []*model.Net, ds *data.Dataset, idx []int, seed uint64, progress io.Writer, off bool) ([]*CorruptionReport, error) {
	x, y := gather(ds, idx)
	names := corrupt.Names()
	out := make([]*CorruptionReport, len(nets))
	for i := range out {
		out[i] = &CorruptionReport{N: len(idx)}
	}
	bar := newBarDesc(len(names)*corrupt.Severities, off, progress, "corruptions")
	for _, name := range names {
		// The severities are corrupted in parallel: the corruptions are
		// plain CPU code and the slowest part of this section.
		imgs := make([][]float32, corrupt.Severities)
		errs := make([]error, corrupt.Severities)
		var wg sync.WaitGroup
		for s := range corrupt.Severities {
			wg.Add(1)
			go func() {
				defer wg.Done()
				imgs[s], errs[s] = corrupt.ApplyBatch(name, s+1, x, len(idx), ds.Height, ds.Width, ds.Channels, seed)
			}()
		}
		wg.Wait()
		types := make([]CorruptionType, len(nets))
		for s := range corrupt.Severities {
			if errs[s] != nil {
				return nil, errs[s]
			}
			for i, net := range nets {
				c, err := countCorrect(net, imgs[s], y)
				if err != nil {
					return nil, err
				}
				acc := float64(c) / float64(max(len(y), 1))
				types[i].Severity = append(types[i].Severity, acc)
				types[i].Mean += acc / corrupt.Severities
			}
			_ = bar.Add(1)
		}
		for i := range nets {
			types[i].Name = name
			out[i].Types = append(out[i].Types, types[i])
			out[i].Mean += types[i].Mean / float64(len(names))
		}
	}
	_ = bar.Finish()
	return out, nil
}

// SPSAReport is the accuracy under the gradient-free SPSA attack next to
// PGD's on the same images: SPSA doing much better than PGD would mean that
// PGD's gradients are masked.
type SPSAReport struct {
	N          int     `json:"n"`
	Attack     string  `json:"attack"`
	Acc        float64 `json:"acc"`
	PGDAcc     float64 `json:"pgd_acc"`
	Iterations int     `json:"iterations"`
	Samples    int     `json:"samples"`
}

// spsaBatch is the images per SPSA call: each iteration evaluates
// spsaBatch*Samples images at once.
const spsaBatch = 8

// spsaAccuracy is the accuracy under SPSA of the images idx.
func spsaAccuracy(net *model.Net, ds *data.Dataset, idx []int, a attack.SPSA) (float64, error) {
	correct := 0
	batch := 0
	err := forBatches(ds, idx, spsaBatch, func(x []float32, y []int, real int) error {
		b := a
		b.Seed = a.Seed + uint64(batch)
		batch++
		adv, err := b.Attack(net, x, y)
		if err != nil {
			return err
		}
		per := len(x) / len(y)
		c, err := countCorrect(net, adv[:real*per], y[:real])
		correct += c
		return err
	})
	return float64(correct) / float64(max(len(idx), 1)), err
}

// TransferPoint is the accuracy of a checkpoint on PGD examples crafted on
// Source (the paper's Table 6); Source equal to the checkpoint itself is the
// white-box PGD accuracy.
type TransferPoint struct {
	Source string  `json:"source"`
	N      int     `json:"n"`
	Acc    float64 `json:"acc"`
}

// transferMatrix crafts PGD examples of the images idx on every checkpoint
// and measures every checkpoint on them: out[target][source].
func transferMatrix(nets []loaded, ds *data.Dataset, idx []int, p attack.PGD, seed uint64) ([][]TransferPoint, error) {
	out := make([][]TransferPoint, len(nets))
	for _, src := range nets {
		adv, y, err := pgdExamples(src.net, ds, idx, p, seed)
		if err != nil {
			return nil, err
		}
		for t, tgt := range nets {
			c, err := countCorrect(tgt.net, adv, y)
			if err != nil {
				return nil, err
			}
			out[t] = append(out[t], TransferPoint{Source: src.path, N: len(y), Acc: float64(c) / float64(max(len(y), 1))})
		}
	}
	return out, nil
}

// SpatialReport is the accuracy under the rotation-and-translation grid
// attack of Engstrom et al. (attack.Spatial).
type SpatialReport struct {
	N              int     `json:"n"`
	MaxRotation    float64 `json:"max_rotation"`
	Rotations      int     `json:"rotations"`
	MaxTranslation float64 `json:"max_translation"`
	Translations   int     `json:"translations"`
	Acc            float64 `json:"acc"`
}

// spatialAccuracy is the fraction of the images idx that the model
// classifies correctly under every transformation of the grid.
func spatialAccuracy(net *model.Net, ds *data.Dataset, idx []int, a attack.Spatial) (float64, error) {
	correct := 0
	for s := 0; s < len(idx); s += evalBatch {
		x, y := gather(ds, idx[s:min(s+evalBatch, len(idx))])
		res, err := a.Attack(net, x, y)
		if err != nil {
			return 0, err
		}
		for _, f := range res.Fooled {
			if !f {
				correct++
			}
		}
	}
	return float64(correct) / float64(max(len(idx), 1)), nil
}

// SensitivityReport measures how much the attribution map moves under small
// random input perturbations, per image summarised over the images.
type SensitivityReport struct {
	Method  string  `json:"method"`
	N       int     `json:"n"`
	Samples int     `json:"samples"`
	Radius  float64 `json:"radius"`
	// MaxSensitivity is max_d ||Φ(x+d) − Φ(x)|| / ||Φ(x)||.
	MaxSensitivity Summary `json:"max_sensitivity"`
	// Lipschitz is max_d ||Φ(x+d) − Φ(x)|| / ||d||.
	Lipschitz Summary `json:"lipschitz"`
}

// mapSensitivity returns the relative max-sensitivity of Yeh et al. ("On
// the (in)fidelity and sensitivity of explanations", NeurIPS 2019, Def. 3.1,
// here divided by ||Φ(x)|| as in Captum's sensitivity_max with a relative
// norm), max_s ||Φ(x_s) − Φ(x)|| / ||Φ(x)||, and the local Lipschitz
// estimate of Alvarez-Melis & Jaakkola ("On the robustness of
// interpretability methods", 2018, Eq. 1), max_s ||Φ(x_s) − Φ(x)|| /
// ||x_s − x||, over the perturbed inputs xs of x and their maps phis
// (Euclidean norms on the flattened tensors). A zero map gives NaN
// sensitivity, an unmoved sample is skipped by the Lipschitz estimate.
func mapSensitivity(x, phi []float32, xs, phis [][]float32) (sens, lip float64) {
	norm := 0.0
	for _, v := range phi {
		norm += float64(v) * float64(v)
	}
	norm = math.Sqrt(norm)
	maxDiff := 0.0
	lip = math.NaN()
	for s := range xs {
		var dphi, dx float64
		for i := range phi {
			d := float64(phis[s][i]) - float64(phi[i])
			dphi += d * d
		}
		for i := range x {
			d := float64(xs[s][i]) - float64(x[i])
			dx += d * d
		}
		dphi, dx = math.Sqrt(dphi), math.Sqrt(dx)
		maxDiff = max(maxDiff, dphi)
		if dx > 0 && (math.IsNaN(lip) || dphi/dx > lip) {
			lip = dphi / dx
		}
	}
	if norm == 0 {
		return math.NaN(), lip
	}
	return maxDiff / norm, lip
}

// explanationSensitivity estimates max-sensitivity and the local Lipschitz
// constant of method m by Monte Carlo: samples perturbations per image,
// uniform in the L-inf ball of the given radius (clipped to [0,1]), the
// same for every checkpoint (drawn from seed). The map explained is the
// true label's.
func explanationSensitivity(net *model.Net, m attribution.Method, ds *data.Dataset, idx []int, samples int, radius float64, batch int, seed uint64) (*SensitivityReport, error) {
	if samples < 1 || !(radius > 0) {
		return nil, fmt.Errorf("sensitivity: need samples >= 1 (%d) and radius > 0 (%g)", samples, radius)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5e45))
	per := ds.ImageSize()
	var sens, lip []float64
	for s := 0; s < len(idx); s += batch {
		part := idx[s:min(s+batch, len(idx))]
		// Rows: image j's clean copy at j*(samples+1), then its samples.
		x := make([]float32, 0, len(part)*(samples+1)*per)
		var y []int
		for _, i := range part {
			img := ds.Image(i)
			x = append(x, img...)
			y = append(y, ds.Labels[i])
			for range samples {
				for _, v := range img {
					x = append(x, float32(min(1, max(0, float64(v)+(2*rng.Float64()-1)*radius))))
				}
				y = append(y, ds.Labels[i])
			}
		}
		phi, err := attribution.Attribute(net, m, x, y)
		if err != nil {
			return nil, err
		}
		row := func(r int) []float32 { return x[r*per : (r+1)*per] }
		prow := func(r int) []float32 { return phi[r*per : (r+1)*per] }
		for j := range part {
			r0 := j * (samples + 1)
			var xs, ps [][]float32
			for k := 1; k <= samples; k++ {
				xs, ps = append(xs, row(r0+k)), append(ps, prow(r0+k))
			}
			se, li := mapSensitivity(row(r0), prow(r0), xs, ps)
			sens, lip = append(sens, se), append(lip, li)
		}
	}
	return &SensitivityReport{Method: m.String(), N: len(idx), Samples: samples, Radius: radius,
		MaxSensitivity: summarize(sens), Lipschitz: summarize(lip)}, nil
}

// robustSections adds the optional sections of one checkpoint (the li-th)
// to r: corruptions and transfer measured beforehand for all checkpoints,
// SPSA, the spatial attack and the map sensitivity measured here.
func (o EvalOptions) robustSections(r *ModelReport, l loaded, li int, test *data.Dataset, m attribution.Method,
	spsa attack.SPSA, spatial attack.Spatial, pgd attack.PGD, corr []*CorruptionReport, transfer [][]TransferPoint, stdout io.Writer) error {
	net := l.net
	if corr != nil {
		r.Corruptions = corr[li]
		fmt.Fprintf(stdout, "  common corruptions (%d images): mean acc %.4f\n", r.Corruptions.N, r.Corruptions.Mean)
	}
	if transfer != nil {
		r.Transfer = transfer[li]
	}
	if o.SPSAN > 0 {
		idx := firstN(min(o.SPSAN, test.Len()))
		s := &SPSAReport{N: len(idx), Attack: spsa.String(), Iterations: spsa.Iterations, Samples: spsa.Samples}
		var err error
		if s.Acc, err = spsaAccuracy(net, test, idx, spsa); err != nil {
			return err
		}
		if s.PGDAcc, err = robustAccuracy(net, test, idx, pgd, o.Seed); err != nil {
			return err
		}
		r.SPSA = s
		fmt.Fprintf(stdout, "  SPSA acc %.4f vs PGD acc %.4f on %d images\n", s.Acc, s.PGDAcc, s.N)
	}
	if o.SpatialN > 0 {
		idx := firstN(min(o.SpatialN, test.Len()))
		s := &SpatialReport{N: len(idx), MaxRotation: spatial.MaxRotation, Rotations: spatial.Rotations,
			MaxTranslation: spatial.MaxTranslation, Translations: spatial.Translations}
		var err error
		if s.Acc, err = spatialAccuracy(net, test, idx, spatial); err != nil {
			return err
		}
		r.Spatial = s
		fmt.Fprintf(stdout, "  spatial attack (%d transformations) acc %.4f on %d images\n", len(spatial.Grid()), s.Acc, s.N)
	}
	if o.SensN > 0 {
		s, err := explanationSensitivity(net, m, test, firstN(min(o.SensN, test.Len())), o.SensSamples, o.SensRadius, o.AttackBatch, o.Seed)
		if err != nil {
			return err
		}
		r.Sensitivity = s
		fmt.Fprintf(stdout, "  %s: max-sensitivity %.4f, local Lipschitz %.4f (mean over %d images)\n", s.Method,
			float64(s.MaxSensitivity.Mean), float64(s.Lipschitz.Mean), s.N)
	}
	return nil
}
