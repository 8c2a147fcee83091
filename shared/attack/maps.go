package attack

import (
	"fmt"
	"math"
	"strings"

	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/metric"
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// WithActivation returns a copy of the attribution method m whose forward
// passes use act. Attribution attacks differentiate a map, so they compute
// it on the softplus twin of the evaluated (ReLU) model: ReLU's second
// derivative is zero almost everywhere (Ghorbani et al., AAAI 2019, Sec. 3;
// Dombrowski et al., NeurIPS 2019, Sec. 4). It knows every method of package
// attribution and returns an error for other types.
func WithActivation(m attribution.Method, act model.Activation) (attribution.Method, error) {
	switch v := m.(type) {
	case attribution.Gradient:
		v.Act = act
		return v, nil
	case attribution.InputXGradient:
		v.Act = act
		return v, nil
	case attribution.IntegratedGradients:
		v.Act = act
		return v, nil
	case attribution.SmoothGrad:
		v.Act = act
		return v, nil
	case attribution.GradientSHAP:
		v.Act = act
		return v, nil
	case attribution.CAM:
		v.Act = act
		return v, nil
	case attribution.GradCAM:
		v.Act = act
		return v, nil
	}
	return nil, fmt.Errorf("attack: cannot change the activation of attribution method %T", m)
}

// DefaultTopK is the k of the top-k measures for an h x w map: the ART
// evaluation's k = 100 at 32x32 (about 10% of the pixels), scaled with the
// number of pixels and at least 1.
func DefaultTopK(h, w int) int {
	return max(1, int(math.Round(100*float64(h*w)/1024)))
}

// Stats compares one iterate x' with the clean image x: its evaluation map
// (the ReLU model's map, post-processed by attribution.Saliency) against the
// clean one, and its prediction against the label.
type Stats struct {
	// TopK is the fraction of the clean map's k most salient pixels that are
	// also among the k most salient of x' (metric.TopKIntersection).
	TopK float64
	// Kendall and Spearman are the rank correlations of the two maps.
	Kendall, Spearman float64
	// KendallTopK is Kendall's tau of the two maps with every pixel outside
	// the clean map's top-k set zeroed: the score by which the ART
	// reference's evaluation (saliency_attackIG) picks its iterate.
	KendallTopK float64
	// CenterShift is the distance in pixels between the maps' centres of
	// mass (metric.CenterShift).
	CenterShift float64
	// TargetMSE and TargetCorr compare the map of x' with a target map
	// (mean squared difference, Pearson correlation); NaN when the attack
	// has no target.
	TargetMSE, TargetCorr float64
	// Linf is max |x' - x|.
	Linf float64
	// Pred is the ReLU model's predicted class for x'; Correct says it is
	// the label.
	Pred    int
	Correct bool
}

// Criterion selects which iterate an attack keeps: among the iterates still
// classified correctly, the one with the lowest Score.
type Criterion int

const (
	// KeepKendall keeps the lowest Kendall's tau (the ART evaluation's rule).
	KeepKendall Criterion = iota
	// KeepTopK keeps the lowest top-k intersection (Ghorbani et al.'s
	// "intersection" measure).
	KeepTopK
	// KeepSpearman keeps the lowest Spearman's rho (Ghorbani et al.'s
	// "correlation" measure).
	KeepSpearman
	// KeepCenterShift keeps the largest shift of the centre of mass.
	KeepCenterShift
	// KeepTargetMSE keeps the map closest to the target map.
	KeepTargetMSE
	// KeepKendallTopK keeps the lowest Kendall's tau of the top-k-masked
	// maps (Stats.KendallTopK), as the ART reference's evaluation does.
	KeepKendallTopK
)

var criterionNames = []string{"kendall", "topk", "spearman", "center", "target-mse", "kendall-topk"}

func (c Criterion) String() string {
	if c < 0 || int(c) >= len(criterionNames) {
		return fmt.Sprintf("Criterion(%d)", int(c))
	}
	return criterionNames[c]
}

// ParseCriterion parses kendall, topk, spearman, center, target-mse or
// kendall-topk.
func ParseCriterion(s string) (Criterion, error) {
	for i, n := range criterionNames {
		if strings.EqualFold(s, n) {
			return Criterion(i), nil
		}
	}
	return 0, fmt.Errorf("unknown keep criterion %q (want one of %s)", s, strings.Join(criterionNames, ", "))
}

// Score is the value the criterion minimises; NaN never wins.
func (c Criterion) Score(s Stats) float64 {
	switch c {
	case KeepTopK:
		return s.TopK
	case KeepSpearman:
		return s.Spearman
	case KeepCenterShift:
		return -s.CenterShift
	case KeepTargetMSE:
		return s.TargetMSE
	case KeepKendallTopK:
		return s.KendallTopK
	}
	return s.Kendall
}

// better reports whether a is a strictly better (more damaging) kept iterate
// than b under c; a must be correctly classified.
func (c Criterion) better(a, b Stats, haveB bool) bool {
	if !a.Correct {
		return false
	}
	sa := c.Score(a)
	if !haveB {
		return true
	}
	sb := c.Score(b)
	if math.IsNaN(sa) {
		return false
	}
	return math.IsNaN(sb) || sa < sb
}

// ImageResult is the outcome of an attribution attack on one image.
type ImageResult struct {
	Label int
	// CleanCorrect says the model classified the clean image correctly.
	// Evaluations average over these images only.
	CleanCorrect bool
	// Kept describes the returned image: the iterate, over all restarts,
	// with the best Criterion score among those still classified
	// correctly. If no iterate qualifies, the clean image is returned and
	// Kept compares it with itself.
	Kept Stats
	// Restart and Step locate the kept iterate in Trace (-1, -1 for the
	// clean image).
	Restart, Step int
	// Trace holds the statistics of every iterate: Trace[r][0] is restart
	// r's starting point (the clean image for r = 0 unless the attack
	// starts at random, a uniform random point of the ball otherwise),
	// Trace[r][s] the iterate after s steps.
	Trace [][]Stats
}

// Result is the outcome of an attribution attack on a batch.
type Result struct {
	// Adv holds the returned images, laid out like the input batch.
	Adv    []float32
	Images []ImageResult
}

// Observer, when set on an attack, is called after each iterate of each
// restart with the whole batch of iterates (step 0 is the starting point);
// it must not keep adv. Demos use it to animate an attack.
type Observer func(restart, step int, adv []float32)

// mapsGraph returns the evaluation maps (Saliency of m's maps for targets)
// and the ReLU logits of x, in evaluation mode.
func mapsGraph(net *model.Net, m attribution.Method, x, targets *graph.Node) (sal, logits *graph.Node) {
	sal = attribution.Saliency(m.Map(net, x, targets))
	logits = net.Logits(x, model.Pass{Act: model.ReLU})
	return graph.StopGradient(sal), graph.StopGradient(logits)
}

// SaliencyMaps returns the post-processed maps (attribution.Saliency: |map|
// channel mean normalised to sum H*W; N*H*W values) of method m for the
// given targets, and the ReLU model's logits (N*classes values), in one
// graph: the evaluation view of an attribution attack.
func SaliencyMaps(net *model.Net, m attribution.Method, x []float32, targets []int) (sal, logits []float32, err error) {
	xt, err := net.Batch(x)
	if err != nil {
		return nil, nil, err
	}
	tt, err := targetTensor(net, targets, xt.Shape().Dimensions[0])
	if err != nil {
		return nil, nil, err
	}
	return evalCall(net, m, xt, tt)
}

func evalCall(net *model.Net, m attribution.Method, x, t *tensors.Tensor) (sal, logits []float32, err error) {
	out, err := net.Call("attack/eval/"+m.String(), func() (*gmodel.Exec, error) {
		return gmodel.NewExec(net.Backend, net.Store, func(scope *gmodel.Scope, x, t *graph.Node) (*graph.Node, *graph.Node) {
			return mapsGraph(net, m, x, t)
		})
	}, x, t)
	if err != nil {
		return nil, nil, err
	}
	if sal, err = tensors.CopyFlatData[float32](out[0]); err != nil {
		return nil, nil, err
	}
	logits, err = tensors.CopyFlatData[float32](out[1])
	return sal, logits, err
}

func targetTensor(net *model.Net, labels []int, n int) (*tensors.Tensor, error) {
	if len(labels) != n {
		return nil, fmt.Errorf("attack: %d labels for %d images", len(labels), n)
	}
	y := make([]int32, n)
	for i, l := range labels {
		if l < 0 || l >= net.Config.NumClasses {
			return nil, fmt.Errorf("attack: label %d of image %d outside the %d classes", l, i, net.Config.NumClasses)
		}
		y[i] = int32(l)
	}
	return tensors.FromFlatDataAndDimensions(y, n), nil
}

// compare fills the Stats of one image: clean and adv are its H*W
// evaluation maps, x and xa its images, logits its ReLU logits, target its
// target map or nil.
func compare(clean, adv, target, x, xa, logits []float32, label, k, h, w int) Stats {
	s := Stats{TargetMSE: math.NaN(), TargetCorr: math.NaN()}
	s.TopK, _ = metric.TopKIntersection(clean, adv, k)
	s.Kendall, _ = metric.KendallTau(clean, adv)
	s.Spearman, _ = metric.SpearmanRho(clean, adv)
	s.KendallTopK = maskedKendall(clean, adv, k)
	if cs, err := metric.CenterShift(clean, adv, h, w); err == nil {
		s.CenterShift = cs
	} else {
		s.CenterShift = math.NaN()
	}
	if target != nil {
		s.TargetMSE, s.TargetCorr = mseAndCorrelation(adv, target)
	}
	for i := range x {
		s.Linf = max(s.Linf, math.Abs(float64(xa[i])-float64(x[i])))
	}
	s.Pred = model.Argmax(logits, len(logits))[0]
	s.Correct = s.Pred == label
	return s
}

// maskedKendall is Kendall's tau of a and b after zeroing, in both, the
// entries outside a's top-k set.
func maskedKendall(a, b []float32, k int) float64 {
	am, bm := make([]float32, len(a)), make([]float32, len(b))
	for i, in := range metric.TopKMask(a, k) {
		if in {
			am[i], bm[i] = a[i], b[i]
		}
	}
	t, _ := metric.KendallTau(am, bm)
	return t
}

// mseAndCorrelation returns the mean squared difference and the Pearson
// correlation of a and b (NaN if either is constant).
func mseAndCorrelation(a, b []float32) (mse, corr float64) {
	n := float64(len(a))
	var ma, mb float64
	for i := range a {
		ma += float64(a[i])
		mb += float64(b[i])
		d := float64(a[i]) - float64(b[i])
		mse += d * d
	}
	ma, mb = ma/n, mb/n
	var sab, saa, sbb float64
	for i := range a {
		da, db := float64(a[i])-ma, float64(b[i])-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return mse / n, math.NaN()
	}
	return mse / n, sab / math.Sqrt(saa*sbb)
}
