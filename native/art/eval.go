package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/checkpoint"
	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/metric"
	"github.com/artrobust/art/shared/model"
	"github.com/schollz/progressbar/v3"
)

// evalBatch is the fixed batch of evaluation passes: a partial last batch is
// padded, so every pass reuses one compiled graph.
const evalBatch = 100

// forBatches calls fn on consecutive fixed-size batches of the images idx of
// ds (the last one padded by repeating its first image); fn gets the batch
// and how many of its images are real.
func forBatches(ds *data.Dataset, idx []int, size int, fn func(x []float32, y []int, real int) error) error {
	per := ds.ImageSize()
	x := make([]float32, size*per)
	y := make([]int, size)
	for s := 0; s < len(idx); s += size {
		real := min(size, len(idx)-s)
		for j := range size {
			i := idx[s+min(j, real-1)]
			copy(x[j*per:(j+1)*per], ds.Image(i))
			y[j] = ds.Labels[i]
		}
		if err := fn(x, y, real); err != nil {
			return err
		}
	}
	return nil
}

// accuracy is the fraction of the images idx of ds that net classifies
// correctly (evaluation mode, ReLU).
func accuracy(net *model.Net, ds *data.Dataset, idx []int) (float64, error) {
	correct := 0
	err := forBatches(ds, idx, evalBatch, func(x []float32, y []int, real int) error {
		logits, err := net.Predict(x, model.ReLU)
		if err != nil {
			return err
		}
		for j, p := range model.Argmax(logits, net.Config.NumClasses)[:real] {
			if p == y[j] {
				correct++
			}
		}
		return nil
	})
	return float64(correct) / float64(max(len(idx), 1)), err
}

// robustAccuracy is the accuracy on PGD adversarial examples of the images idx.
// The examples are those of pgdExamples, so the transfer matrix's diagonal
// is this accuracy.
func robustAccuracy(net *model.Net, ds *data.Dataset, idx []int, p attack.PGD, seed uint64) (float64, error) {
	adv, y, err := pgdExamples(net, ds, idx, p, seed)
	if err != nil {
		return 0, err
	}
	correct, err := countCorrect(net, adv, y)
	return float64(correct) / float64(max(len(idx), 1)), err
}

// gradientAlignment is the mean cosine similarity between each image and the
// input gradient of its true-class logit (the paper's Fig. 6), with the
// ReLU model in evaluation mode.
func gradientAlignment(net *model.Net, ds *data.Dataset, idx []int) (float64, error) {
	sum := 0.0
	per := ds.ImageSize()
	err := forBatches(ds, idx, evalBatch, func(x []float32, y []int, real int) error {
		g, err := attribution.Attribute(net, attribution.Gradient{Act: model.ReLU}, x, y)
		if err != nil {
			return err
		}
		for j := range real {
			sum += cosine(x[j*per:(j+1)*per], g[j*per:(j+1)*per])
		}
		return nil
	})
	return sum / float64(max(len(idx), 1)), err
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// quickEval is the per-epoch check of a training run.
func (o *TrainOptions) quickEval(net *model.Net, test *data.Dataset, step int) (clean, robust float64, err error) {
	n := min(o.EvalN, test.Len())
	clean, err = accuracy(net, test, firstN(n))
	if err != nil || o.EvalPGDN <= 0 || o.EvalPGD <= 0 {
		return clean, 0, err
	}
	p := attack.PGD{Eps: float64(o.PGDEps), Step: float64(o.PGDStep), Steps: o.EvalPGD, RandomStart: true}
	robust, err = robustAccuracy(net, test, firstN(min(o.EvalPGDN, test.Len())), p, o.Seed+uint64(step))
	return clean, robust, err
}

// EvalOptions are the settings of "art eval". The attributional-robustness
// settings (Eps, Step, Steps, K, Restarts, Beta, Keep) are those of
// attack.IFIA, with the same names as flags.
type EvalOptions struct {
	Ckpts    []string `json:"ckpts"`
	Data     string   `json:"data"`
	AccN     int      `json:"acc_n"`
	PGDN     int      `json:"pgd_n"`
	PGDSteps int      `json:"pgd_steps"`
	PGDEps   fraction `json:"pgd_eps"`
	PGDStep  fraction `json:"pgd_step"`
	// PGDNorm is the threat model of every PGD attack: linf or l2.
	PGDNorm string `json:"pgd_norm"`
	// Sweep lists the extra PGD radii of the accuracy-versus-eps plot,
	// measured on SweepN images.
	Sweep  fracList `json:"pgd_sweep"`
	SweepN int      `json:"pgd_sweep_n"`

	// N is the number of random test images, correctly classified by every
	// checkpoint, of the attributional-robustness evaluation (0 skips it).
	N int `json:"n"`
	// CenterN and TargetedN are the numbers of those images (the first ones
	// of the same random list) attacked by the mass-centre attack and the
	// targeted manipulation (0 skips them).
	CenterN     int      `json:"center_n"`
	TargetedN   int      `json:"targeted_n"`
	Attribution string   `json:"attribution"`
	IGSteps     int      `json:"ig_steps"`
	IGRule      string   `json:"ig_rule"`
	SHAPSamples int      `json:"gradshap_samples"`
	SHAPSigma   float64  `json:"gradshap_sigma"`
	Chunk       int      `json:"chunk"`
	Eps         fraction `json:"eps"`
	Step        fraction `json:"step"`
	Steps       int      `json:"steps"`
	K           int      `json:"k"`
	AttackK     int      `json:"attack_k,omitempty"`
	Restarts    int      `json:"restarts"`
	// RandomStart starts the first IFIA run at a uniform random point of
	// the ball (the ART reference's evaluation) instead of the clean image.
	RandomStart bool    `json:"random_start"`
	Beta        float64 `json:"beta"`
	Keep        string  `json:"keep"`
	RandomDraws int     `json:"random_draws"`
	AttackBatch int     `json:"attack_batch"`

	// Corruptions is the number of test images of the common-corruption
	// evaluation (0 skips it).
	Corruptions int `json:"corruptions"`
	// SPSAN is the number of test images attacked with SPSA (0 skips it).
	SPSAN       int `json:"spsa_n"`
	SPSAIters   int `json:"spsa_iters"`
	SPSASamples int `json:"spsa_samples"`
	// Transfer measures every checkpoint on the PGD examples of every other.
	Transfer bool `json:"transfer"`
	// SpatialN is the number of test images of the spatial attack (0 skips
	// it); the grid spans +-30 degrees and +-3 pixels (Engstrom et al.).
	SpatialN            int `json:"spatial_n"`
	SpatialRotations    int `json:"spatial_rotations"`
	SpatialTranslations int `json:"spatial_translations"`
	// SensN is the number of test images of the max-sensitivity and local
	// Lipschitz estimates of the attribution map (0 skips them).
	SensN       int     `json:"sens_n"`
	SensSamples int     `json:"sens_samples"`
	SensRadius  float64 `json:"sens_radius"`

	// Protocol is the preset of -protocol (chen.go).
	Protocol   string `json:"protocol,omitempty"`
	Seed       uint64 `json:"seed"`
	Report     string `json:"-"`
	NoProgress bool   `json:"-"`
}

func defaultEvalOptions() EvalOptions {
	a := attack.DefaultIFIA()
	return EvalOptions{Data: "shapes", AccN: 1000, PGDN: 500, PGDSteps: 40, PGDEps: 8.0 / 255, PGDStep: 2.0 / 255, PGDNorm: "linf",
		SPSAIters: 100, SPSASamples: 128, SpatialRotations: 31, SpatialTranslations: 5, SensSamples: 10, SensRadius: 0.02,
		Sweep: fracList{2.0 / 255, 4.0 / 255, 16.0 / 255}, SweepN: 100,
		N: 1000, Attribution: "ig", IGSteps: 100, IGRule: attribution.RiemannRight.String(), SHAPSamples: 20, SHAPSigma: 0,
		Eps: fraction(a.Eps), Step: fraction(a.Step), Steps: a.Steps, K: a.K, Restarts: a.Restarts, Beta: a.Beta,
		Keep: a.Keep.String(), RandomDraws: 1, AttackBatch: 10, Seed: 1}
}

// fracList is a comma-separated list of fractions ("2/255,4/255").
type fracList []float64

func (l *fracList) String() string {
	s := make([]string, len(*l))
	for i, v := range *l {
		s[i] = strconv.FormatFloat(v, 'g', 6, 64)
	}
	return strings.Join(s, ",")
}

func (l *fracList) Set(s string) error {
	*l = nil
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		var v fraction
		if err := v.Set(f); err != nil {
			return err
		}
		if v < 0 {
			return fmt.Errorf("%s is negative", f)
		}
		*l = append(*l, float64(v))
	}
	return nil
}

// num is a float64 that encodes NaN and infinities as JSON null.
type num float64

func (v num) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

func (v *num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*v = num(math.NaN())
		return nil
	}
	var f float64
	err := json.Unmarshal(b, &f)
	*v = num(f)
	return err
}

// over is a measure over n images: NaN, "not measured", when n is 0,
// rather than a number for something that was not measured.
func over(n int, measure func() (float64, error)) (num, error) {
	if n <= 0 {
		return num(math.NaN()), nil
	}
	v, err := measure()
	return num(v), err
}

// measured formats a measure, or says it was not measured.
func measured(v num) string {
	if math.IsNaN(float64(v)) {
		return "not measured"
	}
	return fmt.Sprintf("%.4f", float64(v))
}

// Summary is metric.Summary in JSON form.
type Summary struct {
	N      int `json:"n"`
	NaN    int `json:"nan"`
	Mean   num `json:"mean"`
	Std    num `json:"std"`
	Median num `json:"median"`
	Min    num `json:"min"`
	Max    num `json:"max"`
}

func summarize(x []float64) Summary {
	s := metric.Summarize(x)
	return Summary{N: s.N, NaN: s.NaN, Mean: num(s.Mean), Std: num(s.Std), Median: num(s.Median), Min: num(s.Min), Max: num(s.Max)}
}

// ImageStats is the outcome of an attribution attack on one test image.
type ImageStats struct {
	Index    int  `json:"index"`
	Label    int  `json:"label"`
	TopK     num  `json:"topk"`
	Kendall  num  `json:"kendall"`
	Spearman num  `json:"spearman"`
	Linf     num  `json:"linf"`
	Pred     int  `json:"pred"`
	Correct  bool `json:"correct"`
	Restart  int  `json:"restart"`
	Step     int  `json:"step"`
}

// AttackReport summarises an attribution attack over the evaluation images.
type AttackReport struct {
	Attack   string       `json:"attack"`
	TopK     Summary      `json:"topk"`
	Kendall  Summary      `json:"kendall"`
	Spearman Summary      `json:"spearman"`
	Images   []ImageStats `json:"images"`
}

// AttrReport is the attributional robustness of one checkpoint.
type AttrReport struct {
	Method string       `json:"method"`
	K      int          `json:"k"`
	N      int          `json:"n"`
	IFIA   AttackReport `json:"ifia"`
	Random AttackReport `json:"random_sign"`
}

// SweepPoint is the PGD accuracy at one radius.
type SweepPoint struct {
	Eps float64 `json:"eps"`
	N   int     `json:"n"`
	Acc float64 `json:"acc"`
}

// ModelReport holds the numbers of one checkpoint.
type ModelReport struct {
	Checkpoint        string             `json:"checkpoint"`
	Arch              string             `json:"arch"`
	Dataset           string             `json:"dataset"`
	Method            string             `json:"method"`
	CleanAcc          num                `json:"clean_acc"` // null: not measured (-acc-n 0)
	PGDAcc            num                `json:"pgd_acc"`   // null: not measured (-pgd-n 0)
	GradientAlignment num                `json:"gradient_alignment"`
	AccN              int                `json:"acc_n"`
	PGDN              int                `json:"pgd_n"`
	Sweep             []SweepPoint       `json:"pgd_sweep,omitempty"`
	Attr              *AttrReport        `json:"attributional,omitempty"`
	Corruptions       *CorruptionReport  `json:"corruptions,omitempty"`
	SPSA              *SPSAReport        `json:"spsa,omitempty"`
	Transfer          []TransferPoint    `json:"transfer,omitempty"`
	Spatial           *SpatialReport     `json:"spatial,omitempty"`
	Sensitivity       *SensitivityReport `json:"explanation_sensitivity,omitempty"`
	Center            *CenterReport      `json:"mass_center,omitempty"`
	Targeted          *TargetedReport    `json:"targeted,omitempty"`
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func runEval(args []string, stdout, stderr io.Writer) error {
	o := defaultEvalOptions()
	fs := flag.NewFlagSet("art eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ckpts stringList
	fs.Var(&ckpts, "ckpt", "checkpoint to evaluate (repeat for several)")
	fs.StringVar(&o.Data, "data", o.Data, "dataset spec (see art train -help)")
	fs.IntVar(&o.AccN, "acc-n", o.AccN, "test images for clean accuracy and gradient alignment")
	fs.IntVar(&o.PGDN, "pgd-n", o.PGDN, "test images for PGD accuracy")
	fs.IntVar(&o.PGDSteps, "pgd-steps", o.PGDSteps, "PGD steps")
	fs.Var(&o.PGDEps, "pgd-eps", "PGD L-inf radius (default 8/255)")
	fs.Var(&o.PGDStep, "pgd-step", "PGD step size (default 2/255; 0.1 with -pgd-norm l2)")
	fs.StringVar(&o.PGDNorm, "pgd-norm", o.PGDNorm, "PGD threat model: linf or l2 (l2 defaults: -pgd-eps 0.5, -pgd-step 0.1, -pgd-sweep 0.25,1)")
	fs.IntVar(&o.Corruptions, "corruptions", o.Corruptions, "test images under each of the 15 common corruptions at severities 1-5 (0: skip)")
	fs.IntVar(&o.SPSAN, "spsa-n", o.SPSAN, "test images for the gradient-free SPSA attack at -pgd-eps, L-inf only (0: skip)")
	fs.IntVar(&o.SPSAIters, "spsa-iters", o.SPSAIters, "SPSA iterations")
	fs.IntVar(&o.SPSASamples, "spsa-samples", o.SPSASamples, "SPSA model evaluations per image and iteration (even)")
	fs.BoolVar(&o.Transfer, "transfer", o.Transfer, "accuracy of every checkpoint on the PGD examples (-pgd-n images) of every checkpoint")
	fs.IntVar(&o.SpatialN, "spatial-n", o.SpatialN, "test images for the rotation/translation grid attack (0: skip)")
	fs.IntVar(&o.SpatialRotations, "spatial-rotations", o.SpatialRotations, "angles in [-30, 30] degrees of the spatial grid")
	fs.IntVar(&o.SpatialTranslations, "spatial-translations", o.SpatialTranslations, "shifts per axis in [-3, 3] pixels of the spatial grid")
	fs.IntVar(&o.SensN, "sens-n", o.SensN, "test images for max-sensitivity and local Lipschitz estimates of the -attribution map (0: skip)")
	fs.IntVar(&o.SensSamples, "sens-samples", o.SensSamples, "random perturbations per image of -sens-n")
	fs.Float64Var(&o.SensRadius, "sens-radius", o.SensRadius, "L-inf radius of the -sens-n perturbations")
	fs.Var(&o.Sweep, "pgd-sweep", "extra PGD radii for the accuracy-vs-eps plot, comma-separated (empty: none)")
	fs.IntVar(&o.SweepN, "pgd-sweep-n", o.SweepN, "test images per radius of -pgd-sweep")
	fs.IntVar(&o.N, "n", o.N, "random test images, correctly classified by every checkpoint, for the IFIA attribution attack (0: skip it;\nslow at the default: about n * (steps+1) * ig-steps gradient passes per checkpoint, hours on a 2-core CPU,\nso try -n 20 -ig-steps 10 -steps 10 for a quick run)")
	fs.IntVar(&o.CenterN, "center-n", o.CenterN, "the first of the attributional images attacked by the mass-centre attack\n(Ghorbani et al.), with the random-sign baseline; IFIA's -eps, -step, -steps, -restarts, -beta (0: skip)")
	fs.IntVar(&o.TargetedN, "targeted-n", o.TargetedN, "the first of the attributional images attacked by the targeted manipulation\n(Dombrowski et al.) towards the map of the next such image of another class; IFIA's settings (0: skip)")
	fs.StringVar(&o.Attribution, "attribution", o.Attribution, "attribution method attacked: ig, grad or gradshap")
	fs.IntVar(&o.IGSteps, "ig-steps", o.IGSteps, "Integrated Gradients steps")
	fs.StringVar(&o.IGRule, "ig-rule", o.IGRule, "Integrated Gradients Riemann rule: right, left, middle or trapezoid")
	fs.IntVar(&o.SHAPSamples, "gradshap-samples", o.SHAPSamples, "GradientSHAP samples")
	fs.Float64Var(&o.SHAPSigma, "gradshap-sigma", o.SHAPSigma, "GradientSHAP input noise std")
	fs.IntVar(&o.Chunk, "chunk", o.Chunk, "path points per input evaluated at once (0: all; memory bound only)")
	fs.Var(&o.Eps, "eps", "attribution attack L-inf radius (default 8/255)")
	fs.Var(&o.Step, "step", "attribution attack step size (default 1/255)")
	fs.IntVar(&o.Steps, "steps", o.Steps, "attribution attack steps")
	fs.IntVar(&o.K, "k", o.K, "top-k pixels (0: 100 at 32x32, scaled with the pixels)")
	fs.IntVar(&o.AttackK, "attack-k", o.AttackK, "top-k pixels of the IFIA objective, when not those of -k (0: -k)")
	fs.IntVar(&o.Restarts, "restarts", o.Restarts, "attribution attack runs (the first from the clean image)")
	fs.BoolVar(&o.RandomStart, "random-start", o.RandomStart, "start the first attribution-attack run at a uniform random point of the ball (the ART reference's evaluation)")
	fs.Float64Var(&o.Beta, "beta", o.Beta, "softplus beta of the attack's maps")
	fs.StringVar(&o.Keep, "keep", o.Keep, "iterate kept: kendall, topk or spearman (lowest among correctly classified)")
	fs.IntVar(&o.RandomDraws, "random-draws", o.RandomDraws, "random-sign baseline draws per image")
	fs.IntVar(&o.AttackBatch, "attack-batch", o.AttackBatch, "images per attribution-attack batch")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the image choice, the attacks' random starts (and of shapes test data)")
	fs.StringVar(&o.Protocol, "protocol", "default", "preset of the flags not given: "+evalProtocols+".\n"+
		"paper: -n 200 -ig-steps 100 -ig-rule trapezoid -eps 8/255 -step 1/255 -steps 50 -random-start -keep kendall-topk;\n"+
		"chen: -eps 0.3 (0.1) -step 0.01 -steps 100 -attack-k 200 (100) -k 100 -restarts 3 -beta 1 -ig-steps 100 -ig-rule right\n"+
		"-pgd-eps 0.3 (0.1) -pgd-steps 40 (20) -pgd-step 0.01; without -data, the first checkpoint's dataset")
	fs.StringVar(&o.Report, "report", o.Report, "write report.json, report.md, robustbench.json and plots into this directory")
	fs.BoolVar(&o.NoProgress, "no-progress", o.NoProgress, "no progress bars")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: art eval -ckpt A [-ckpt B ...] [flags]\n\nMeasures clean and PGD accuracy, input-gradient alignment, and attributional robustness\n(IFIA top-k attack and random-sign baseline: top-k intersection, Kendall, Spearman; optionally\nthe mass-centre and targeted attacks). The default -n 1000 with 100 IG steps takes hours on a\n2-core CPU. Quick run: -n 20 -ig-steps 10 -steps 10 -pgd-n 100 -pgd-steps 10 -pgd-sweep ''\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	o.Ckpts = ckpts
	if err := o.applyProtocol(fs, ckpts, stdout); err != nil {
		return err
	}
	if o.PGDNorm == "l2" {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["pgd-eps"] {
			o.PGDEps = 0.5
		}
		if !set["pgd-step"] {
			o.PGDStep = 0.1
		}
		if !set["pgd-sweep"] {
			o.Sweep = fracList{0.25, 1}
		}
	}
	reports, err := Evaluate(o, stdout, stderr)
	if err != nil {
		return err
	}
	return writeEvalReport(o, reports, stdout)
}

// attributionMethod builds the evaluated (ReLU) attribution method of the
// options.
func (o EvalOptions) attributionMethod() (attribution.Method, error) {
	switch o.Attribution {
	case "ig":
		rule, err := attribution.ParseRule(o.IGRule)
		if err != nil {
			return nil, err
		}
		if o.IGSteps <= 0 {
			return nil, errors.New("-ig-steps must be positive")
		}
		return attribution.IntegratedGradients{Steps: o.IGSteps, Rule: rule, ChunkSize: o.Chunk, Act: model.ReLU}, nil
	case "grad":
		return attribution.Gradient{Act: model.ReLU}, nil
	case "gradshap":
		if o.SHAPSamples <= 0 {
			return nil, errors.New("-gradshap-samples must be positive")
		}
		return attribution.GradientSHAP{Samples: o.SHAPSamples, Sigma: o.SHAPSigma, Seed: o.Seed, ChunkSize: o.Chunk, Act: model.ReLU}, nil
	}
	return nil, fmt.Errorf("unknown -attribution %q (want ig, grad or gradshap)", o.Attribution)
}

func (o EvalOptions) ifia() (attack.IFIA, error) {
	a := attack.DefaultIFIA()
	a.Eps, a.Step, a.Steps, a.K, a.Restarts, a.Beta, a.Seed = float64(o.Eps), float64(o.Step), o.Steps, o.K, o.Restarts, o.Beta, o.Seed
	a.RandomStart, a.AttackK = o.RandomStart, o.AttackK
	keep, err := attack.ParseCriterion(o.Keep)
	if err != nil {
		return a, err
	}
	a.Keep = keep
	return a, a.Validate()
}

func (o EvalOptions) randomSign() (attack.RandomSign, error) {
	r := attack.DefaultRandomSign()
	r.Eps, r.Draws, r.K, r.Seed = float64(o.Eps), o.RandomDraws, o.K, o.Seed
	keep, err := attack.ParseCriterion(o.Keep)
	if err != nil {
		return r, err
	}
	r.Keep = keep
	return r, r.Validate()
}

// loaded is a checkpoint loaded for evaluation.
type loaded struct {
	path string
	net  *model.Net
	meta checkpoint.Meta
}

// Evaluate measures every checkpoint on the same test images; progress bars
// go to stderr.
func Evaluate(o EvalOptions, stdout, stderr io.Writer) ([]ModelReport, error) {
	if len(o.Ckpts) == 0 {
		return nil, errors.New("no -ckpt given")
	}
	if err := checkOutputDir("-report", o.Report); err != nil {
		return nil, err
	}
	if err := notNegative(flagValue{"-pgd-eps", float64(o.PGDEps)}, flagValue{"-pgd-step", float64(o.PGDStep)},
		flagValue{"-pgd-steps", float64(o.PGDSteps)}, flagValue{"-eps", float64(o.Eps)}, flagValue{"-step", float64(o.Step)},
		flagValue{"-steps", float64(o.Steps)}, flagValue{"-restarts", float64(o.Restarts)}, flagValue{"-k", float64(o.K)},
		flagValue{"-attack-k", float64(o.AttackK)},
		flagValue{"-n", float64(o.N)}, flagValue{"-acc-n", float64(o.AccN)}, flagValue{"-pgd-n", float64(o.PGDN)},
		flagValue{"-pgd-sweep-n", float64(o.SweepN)}, flagValue{"-center-n", float64(o.CenterN)},
		flagValue{"-targeted-n", float64(o.TargetedN)}, flagValue{"-corruptions", float64(o.Corruptions)},
		flagValue{"-spsa-n", float64(o.SPSAN)}, flagValue{"-spatial-n", float64(o.SpatialN)}, flagValue{"-sens-n", float64(o.SensN)}); err != nil {
		return nil, err
	}
	norm, err := attack.ParseNorm(o.PGDNorm)
	if err != nil {
		return nil, err
	}
	spsa := attack.DefaultSPSA()
	spsa.Eps, spsa.Iterations, spsa.Samples, spsa.Seed = float64(o.PGDEps), o.SPSAIters, o.SPSASamples, o.Seed
	if o.SPSAN > 0 {
		if norm != attack.LInf {
			return nil, errors.New("-spsa-n needs -pgd-norm linf: SPSA is an L-inf attack")
		}
		if err := spsa.Validate(); err != nil {
			return nil, err
		}
	}
	spatial := attack.DefaultSpatial()
	spatial.Rotations, spatial.Translations = o.SpatialRotations, o.SpatialTranslations
	if o.SpatialN > 0 {
		if err := spatial.Validate(); err != nil {
			return nil, err
		}
	}
	if o.SensN > 0 && (o.SensSamples < 1 || !(o.SensRadius > 0)) {
		return nil, errors.New("-sens-samples must be positive and -sens-radius above 0")
	}
	if o.AttackBatch <= 0 {
		return nil, errors.New("-attack-batch must be positive")
	}
	var (
		m    attribution.Method
		ifia attack.IFIA
		rs   attack.RandomSign
	)
	pool := max(o.N, o.CenterN, o.TargetedN)
	if pool > 0 || o.SensN > 0 {
		if m, err = o.attributionMethod(); err != nil {
			return nil, err
		}
	}
	if o.CenterN > 0 {
		if _, _, err := o.centerAttack(); err != nil {
			return nil, err
		}
	}
	if o.TargetedN > 0 {
		if _, err := o.manipulation(); err != nil {
			return nil, err
		}
	}
	if o.N > 0 {
		if ifia, err = o.ifia(); err != nil {
			return nil, err
		}
		if rs, err = o.randomSign(); err != nil {
			return nil, err
		}
	}
	spec, err := data.ParseSpec(o.Data)
	if err != nil {
		return nil, err
	}
	backend, err := newBackend(attributionWork)
	if err != nil {
		return nil, err
	}
	var test *data.Dataset
	var nets []loaded
	for _, path := range o.Ckpts {
		ck, err := checkpoint.ReadFile(path)
		if err != nil {
			return nil, err
		}
		net, err := model.LoadNet(backend, ck)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if test == nil {
			test, err = spec.Load("test", data.LoadOptions{Size: net.Config.InputSize, Seed: o.Seed})
			if err != nil {
				return nil, err
			}
		}
		if net.Config.InputSize != test.Height || net.Config.NumClasses != len(test.Classes) || net.Config.Channels != test.Channels {
			return nil, fmt.Errorf("%s expects %d classes of %dx%dx%d images; %s has %d classes of %dx%dx%d", path,
				net.Config.NumClasses, net.Config.InputSize, net.Config.InputSize, net.Config.Channels,
				test.Name, len(test.Classes), test.Height, test.Width, test.Channels)
		}
		nets = append(nets, loaded{path, net, ck.Meta})
	}
	if err := checkTopK(o.K, test.Height, test.Width); err != nil {
		return nil, err
	}
	if o.AttackK > test.Height*test.Width {
		return nil, fmt.Errorf("-attack-k %d: want 0 (-k) to %d, the number of pixels of the %dx%d images", o.AttackK, test.Height*test.Width, test.Height, test.Width)
	}
	// The attributional images: IFIA attacks the first N, the mass-centre
	// and targeted attacks the first CenterN and TargetedN.
	var poolIdx, attrIdx []int
	if pool > 0 {
		if poolIdx, err = commonCorrect(nets, test, pool, o.Seed); err != nil {
			return nil, err
		}
		attrIdx = poolIdx[:min(o.N, len(poolIdx))]
		fmt.Fprintf(stdout, "attribution attacks on %d random test images classified correctly by every checkpoint\n", len(poolIdx))
	}
	pgd := attack.PGD{Norm: norm, Eps: float64(o.PGDEps), Step: float64(o.PGDStep), Steps: o.PGDSteps, RandomStart: true}
	var corr []*CorruptionReport
	if o.Corruptions > 0 {
		all := make([]*model.Net, len(nets))
		for i, l := range nets {
			all[i] = l.net
		}
		if corr, err = corruptionAccuracy(all, test, firstN(min(o.Corruptions, test.Len())), o.Seed, stderr, o.NoProgress); err != nil {
			return nil, err
		}
	}
	var transfer [][]TransferPoint
	if o.Transfer {
		if transfer, err = transferMatrix(nets, test, firstN(min(o.PGDN, test.Len())), pgd, o.Seed); err != nil {
			return nil, err
		}
	}
	var out []ModelReport
	for li, l := range nets {
		net := l.net
		r := ModelReport{Checkpoint: l.path, Arch: net.Config.Name(), Dataset: test.Name, Method: l.meta.Method,
			AccN: min(o.AccN, test.Len()), PGDN: min(o.PGDN, test.Len())}
		fmt.Fprintf(stdout, "evaluating %s (%s, %s) ...\n", l.path, r.Arch, r.Method)
		if r.CleanAcc, err = over(r.AccN, func() (float64, error) { return accuracy(net, test, firstN(r.AccN)) }); err != nil {
			return nil, err
		}
		if r.PGDAcc, err = over(r.PGDN, func() (float64, error) { return robustAccuracy(net, test, firstN(r.PGDN), pgd, o.Seed) }); err != nil {
			return nil, err
		}
		if r.GradientAlignment, err = over(r.AccN, func() (float64, error) { return gradientAlignment(net, test, firstN(r.AccN)) }); err != nil {
			return nil, err
		}
		fmt.Fprintf(stdout, "  clean acc %s, PGD-%d (%s) acc %s, cos(x, dz_y/dx) %s\n", measured(r.CleanAcc), o.PGDSteps, norm, measured(r.PGDAcc), measured(r.GradientAlignment))
		if err := o.robustSections(&r, l, li, test, m, spsa, spatial, pgd, corr, transfer, stdout); err != nil {
			return nil, err
		}
		if len(o.Sweep) > 0 && o.SweepN > 0 {
			sn := min(o.SweepN, test.Len())
			r.Sweep = append(r.Sweep, SweepPoint{Eps: 0, N: sn})
			if r.Sweep[0].Acc, err = accuracy(net, test, firstN(sn)); err != nil {
				return nil, err
			}
			eps := append(fracList{float64(o.PGDEps)}, o.Sweep...)
			slices.Sort(eps)
			eps = slices.Compact(eps)
			for _, e := range eps {
				if e <= 0 {
					continue
				}
				// The step follows the main setting's step/eps ratio.
				q := attack.PGD{Norm: norm, Eps: e, Step: e * float64(o.PGDStep) / float64(o.PGDEps), Steps: o.PGDSteps, RandomStart: true}
				acc, err := robustAccuracy(net, test, firstN(sn), q, o.Seed)
				if err != nil {
					return nil, err
				}
				r.Sweep = append(r.Sweep, SweepPoint{Eps: e, N: sn, Acc: acc})
			}
			fmt.Fprintf(stdout, "  PGD sweep:")
			for _, s := range r.Sweep {
				fmt.Fprintf(stdout, " %.4g->%.3f", s.Eps*255, s.Acc)
			}
			if norm == attack.LInf {
				fmt.Fprintln(stdout, " (eps in /255)")
			} else {
				fmt.Fprintln(stdout, " (L2 eps x 255)")
			}
		}
		if o.N > 0 {
			ar := &AttrReport{Method: m.String(), K: ifia.K, N: len(attrIdx)}
			if ar.K == 0 {
				ar.K = attack.DefaultTopK(test.Height, test.Width)
			}
			bar := newBarDesc(len(attrIdx), o.NoProgress, stderr, "IFIA "+filepath.Base(l.path))
			if ar.IFIA, err = attributionAttack(net, test, attrIdx, o.AttackBatch, bar, ifia.String(), func(x []float32, y []int) (*attack.Result, error) {
				return ifia.Attack(net, m, x, y)
			}); err != nil {
				return nil, err
			}
			_ = bar.Finish()
			bar = newBarDesc(len(attrIdx), o.NoProgress, stderr, "random sign")
			if ar.Random, err = attributionAttack(net, test, attrIdx, o.AttackBatch, bar, fmt.Sprintf("random sign eps %.4g, %d draws", rs.Eps, rs.Draws), func(x []float32, y []int) (*attack.Result, error) {
				return rs.Attack(net, m, x, y)
			}); err != nil {
				return nil, err
			}
			_ = bar.Finish()
			fmt.Fprintf(stdout, "  %s IFIA: top-%d intersection %.4f±%.4f, Kendall %.4f±%.4f, Spearman %.4f±%.4f\n", ar.Method, ar.K,
				float64(ar.IFIA.TopK.Mean), float64(ar.IFIA.TopK.Std), float64(ar.IFIA.Kendall.Mean), float64(ar.IFIA.Kendall.Std),
				float64(ar.IFIA.Spearman.Mean), float64(ar.IFIA.Spearman.Std))
			fmt.Fprintf(stdout, "  random sign: top-%d intersection %.4f, Kendall %.4f, Spearman %.4f\n", ar.K,
				float64(ar.Random.TopK.Mean), float64(ar.Random.Kendall.Mean), float64(ar.Random.Spearman.Mean))
			r.Attr = ar
		}
		if err := o.attributionSections(&r, l, test, m, poolIdx, stdout, stderr); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func newBarDesc(total int, off bool, w io.Writer, desc string) *progressbar.ProgressBar {
	return newBarAt(total, 0, off, w, desc)
}

// commonCorrect draws up to n random test images (a permutation from seed)
// that every checkpoint classifies correctly.
func commonCorrect(nets []loaded, test *data.Dataset, n int, seed uint64) ([]int, error) {
	perm := rand.New(rand.NewPCG(seed, 0x1f1a)).Perm(test.Len())
	var out []int
	for s := 0; s < len(perm) && len(out) < n; s += evalBatch {
		chunk := perm[s:min(s+evalBatch, len(perm))]
		ok := make([]bool, len(chunk))
		for i := range ok {
			ok[i] = true
		}
		for _, l := range nets {
			j := 0
			err := forBatches(test, chunk, evalBatch, func(x []float32, y []int, real int) error {
				logits, err := l.net.Predict(x, model.ReLU)
				if err != nil {
					return err
				}
				for i, p := range model.Argmax(logits, l.net.Config.NumClasses)[:real] {
					if p != y[i] {
						ok[j+i] = false
					}
				}
				j += real
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		for i, idx := range chunk {
			if ok[i] && len(out) < n {
				out = append(out, idx)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no test image is classified correctly by every checkpoint")
	}
	return out, nil
}

// attributionAttack runs an attribution attack on the images idx in batches
// and summarises the kept iterates.
func attributionAttack(net *model.Net, test *data.Dataset, idx []int, batch int, bar *progressbar.ProgressBar, name string,
	run func(x []float32, y []int) (*attack.Result, error)) (AttackReport, error) {
	rep := AttackReport{Attack: name}
	per := test.ImageSize()
	for s := 0; s < len(idx); s += batch {
		part := idx[s:min(s+batch, len(idx))]
		x := make([]float32, 0, len(part)*per)
		y := make([]int, len(part))
		for j, i := range part {
			x = append(x, test.Image(i)...)
			y[j] = test.Labels[i]
		}
		res, err := run(x, y)
		if err != nil {
			return rep, err
		}
		for j, im := range res.Images {
			k := im.Kept
			rep.Images = append(rep.Images, ImageStats{Index: part[j], Label: y[j], TopK: num(k.TopK), Kendall: num(k.Kendall),
				Spearman: num(k.Spearman), Linf: num(k.Linf), Pred: k.Pred, Correct: k.Correct, Restart: im.Restart, Step: im.Step})
		}
		_ = bar.Add(len(part))
	}
	var tk, kd, sp []float64
	for _, s := range rep.Images {
		tk, kd, sp = append(tk, float64(s.TopK)), append(kd, float64(s.Kendall)), append(sp, float64(s.Spearman))
	}
	rep.TopK, rep.Kendall, rep.Spearman = summarize(tk), summarize(kd), summarize(sp)
	return rep, nil
}
