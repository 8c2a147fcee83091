package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/checkpoint"
	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/model"
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
func robustAccuracy(net *model.Net, ds *data.Dataset, idx []int, p attack.PGD, seed uint64) (float64, error) {
	correct := 0
	batch := 0
	err := forBatches(ds, idx, evalBatch, func(x []float32, y []int, real int) error {
		adv, err := p.Attack(net, x, y, seed+uint64(batch))
		batch++
		if err != nil {
			return err
		}
		logits, err := net.Predict(adv, model.ReLU)
		if err != nil {
			return err
		}
		for j, pr := range model.Argmax(logits, net.Config.NumClasses)[:real] {
			if pr == y[j] {
				correct++
			}
		}
		return nil
	})
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

// EvalOptions are the settings of "art eval".
type EvalOptions struct {
	Ckpts    []string `json:"ckpts"`
	Data     string   `json:"data"`
	N        int      `json:"n"`
	PGDN     int      `json:"pgd_n"`
	PGDSteps int      `json:"pgd_steps"`
	PGDEps   fraction `json:"pgd_eps"`
	PGDStep  fraction `json:"pgd_step"`
	Seed     uint64   `json:"seed"`
	Report   string   `json:"-"`
}

// ModelReport holds the numbers of one checkpoint.
type ModelReport struct {
	Checkpoint        string  `json:"checkpoint"`
	Arch              string  `json:"arch"`
	Method            string  `json:"method"`
	CleanAcc          float64 `json:"clean_acc"`
	PGDAcc            float64 `json:"pgd_acc"`
	GradientAlignment float64 `json:"gradient_alignment"`
	N                 int     `json:"n"`
	PGDN              int     `json:"pgd_n"`
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func runEval(args []string, stdout, stderr io.Writer) error {
	o := EvalOptions{Data: "shapes", N: 1000, PGDN: 500, PGDSteps: 40, PGDEps: 8.0 / 255, PGDStep: 2.0 / 255, Seed: 1}
	fs := flag.NewFlagSet("art eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ckpts stringList
	fs.Var(&ckpts, "ckpt", "checkpoint to evaluate (repeat for several)")
	fs.StringVar(&o.Data, "data", o.Data, "dataset spec (see art train -help)")
	fs.IntVar(&o.N, "n", o.N, "test images for clean accuracy and gradient alignment")
	fs.IntVar(&o.PGDN, "pgd-n", o.PGDN, "test images for PGD accuracy")
	fs.IntVar(&o.PGDSteps, "pgd-steps", o.PGDSteps, "PGD steps")
	fs.Var(&o.PGDEps, "pgd-eps", "PGD L-inf radius (default 8/255)")
	fs.Var(&o.PGDStep, "pgd-step", "PGD step size (default 2/255)")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the attacks' random starts (and of shapes test data)")
	fs.StringVar(&o.Report, "report", o.Report, "write report.json and report.md into this directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Ckpts = ckpts
	reports, err := Evaluate(o, stdout)
	if err != nil {
		return err
	}
	return writeEvalReport(o, reports, stdout)
}

// Evaluate measures every checkpoint on the same test images.
func Evaluate(o EvalOptions, stdout io.Writer) ([]ModelReport, error) {
	if len(o.Ckpts) == 0 {
		return nil, errors.New("no -ckpt given")
	}
	if o.PGDEps < 0 || o.PGDStep < 0 || o.PGDSteps < 0 {
		return nil, errors.New("PGD eps, step and steps must not be negative")
	}
	spec, err := data.ParseSpec(o.Data)
	if err != nil {
		return nil, err
	}
	backend, err := newBackend()
	if err != nil {
		return nil, err
	}
	var test *data.Dataset
	var out []ModelReport
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
		r := ModelReport{Checkpoint: path, Arch: net.Config.Name(), Method: ck.Meta.Method,
			N: min(o.N, test.Len()), PGDN: min(o.PGDN, test.Len())}
		fmt.Fprintf(stdout, "evaluating %s (%s, %s) ...\n", path, r.Arch, r.Method)
		if r.CleanAcc, err = accuracy(net, test, firstN(r.N)); err != nil {
			return nil, err
		}
		p := attack.PGD{Eps: float64(o.PGDEps), Step: float64(o.PGDStep), Steps: o.PGDSteps, RandomStart: true}
		if r.PGDAcc, err = robustAccuracy(net, test, firstN(r.PGDN), p, o.Seed); err != nil {
			return nil, err
		}
		if r.GradientAlignment, err = gradientAlignment(net, test, firstN(r.N)); err != nil {
			return nil, err
		}
		fmt.Fprintf(stdout, "  clean acc %.4f, PGD-%d acc %.4f, cos(x, dz_y/dx) %.4f\n", r.CleanAcc, o.PGDSteps, r.PGDAcc, r.GradientAlignment)
		out = append(out, r)
	}
	return out, nil
}

func writeEvalReport(o EvalOptions, reports []ModelReport, stdout io.Writer) error {
	var md strings.Builder
	fmt.Fprintf(&md, "| checkpoint | arch | method | clean acc | PGD-%d acc (eps %.4g) | cos(x, dz_y/dx) |\n|---|---|---|---:|---:|---:|\n", o.PGDSteps, float64(o.PGDEps))
	for _, r := range reports {
		fmt.Fprintf(&md, "| %s | %s | %s | %.4f | %.4f | %.4f |\n", r.Checkpoint, r.Arch, r.Method, r.CleanAcc, r.PGDAcc, r.GradientAlignment)
	}
	fmt.Fprint(stdout, "\n"+md.String())
	if o.Report == "" {
		return nil
	}
	if err := os.MkdirAll(o.Report, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(map[string]any{"settings": o, "models": reports}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.Report, "report.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.Report, "report.md"), []byte("# Evaluation\n\n"+md.String()), 0o644)
}
