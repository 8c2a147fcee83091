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

	"github.com/artrobust/art/shared/checkpoint"
	"github.com/artrobust/art/shared/model"
)

// PublishOptions say which checkpoint to ship, where, and with which
// evaluation numbers.
type PublishOptions struct {
	Ckpt    string
	Out     string
	Report  string
	Float16 bool
}

func runPublish(args []string, stdout, stderr io.Writer) error {
	o := PublishOptions{Float16: true}
	fs := flag.NewFlagSet("art publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Ckpt, "ckpt", o.Ckpt, "checkpoint to publish (a training checkpoint or a published one)")
	fs.StringVar(&o.Out, "out", o.Out, "file to write (may be -ckpt itself)")
	fs.StringVar(&o.Report, "report", o.Report, "art eval report.json whose entry for -out (or -ckpt) goes into the metadata")
	fs.BoolVar(&o.Float16, "float16", o.Float16, "store the weights as IEEE half precision (half the size)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: art publish -ckpt IN -out OUT [-report report.json] [flags]\n\nWrites a checkpoint for inference: only the model's weights (no optimizer state), by default\nin float16, with the evaluation numbers of an art eval report in its metadata.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("publish: unexpected argument %q", fs.Arg(0))
	}
	if o.Ckpt == "" || o.Out == "" {
		return errors.New("publish: -ckpt and -out are required")
	}
	return Publish(o, stdout)
}

// Publish writes o.Ckpt's model weights to o.Out, dropping every other
// tensor, and replaces the metadata's metrics and notes with the numbers of
// the o.Report entry that evaluated o.Out or o.Ckpt.
func Publish(o PublishOptions, stdout io.Writer) error {
	if err := checkOutputFile("-out", o.Out); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	ck, err := checkpoint.ReadFile(o.Ckpt)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	cfg, err := model.ConfigFromMeta(ck.Meta)
	if err != nil {
		return fmt.Errorf("publish: %s: %w", o.Ckpt, err)
	}
	if _, err := cfg.ValuesFromCheckpoint(ck); err != nil {
		return fmt.Errorf("publish: %s: %w", o.Ckpt, err)
	}
	out := &checkpoint.Checkpoint{Meta: ck.Meta}
	for _, v := range cfg.Variables() {
		t, _ := ck.Tensor(v.Path)
		out.Tensors = append(out.Tensors, t)
	}
	if o.Report != "" {
		m, settings, err := findReportEntry(o.Report, o.Out, o.Ckpt)
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		out.Meta.Metrics = reportMetrics(m)
		out.Meta.Notes = reportNotes(settings, o.Report)
	}
	var opts []checkpoint.Option
	if o.Float16 {
		opts = append(opts, checkpoint.WithFloat16())
	}
	if err := checkpoint.WriteFile(o.Out, out, opts...); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	st, err := os.Stat(o.Out)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	fmt.Fprintf(stdout, "%s: %s %s, %d tensors, %d bytes\n", o.Out, ck.Meta.Method, cfg.Name(), len(out.Tensors), st.Size())
	return nil
}

// evalReport is the part of art eval's report.json that publishing reads.
type evalReport struct {
	Settings EvalOptions   `json:"settings"`
	Models   []ModelReport `json:"models"`
}

// maxReportBytes bounds the art eval report a publish reads (a report of
// thousands of images per checkpoint is a few MB).
const maxReportBytes = 256 << 20

// findReportEntry returns the report's entry for the first of paths that
// it evaluated (paths compared after cleaning).
func findReportEntry(report string, paths ...string) (ModelReport, EvalOptions, error) {
	b, err := readLimited(report, maxReportBytes, nil)
	if err != nil {
		return ModelReport{}, EvalOptions{}, fmt.Errorf("-report: %w", err)
	}
	var r evalReport
	if err := json.Unmarshal(b, &r); err != nil {
		return ModelReport{}, EvalOptions{}, fmt.Errorf("%s: not an art eval report: %w", report, err)
	}
	for _, p := range paths {
		for _, m := range r.Models {
			if filepath.Clean(m.Checkpoint) == filepath.Clean(p) {
				return m, r.Settings, nil
			}
		}
	}
	return ModelReport{}, EvalOptions{}, fmt.Errorf("%s has no entry for %s", report, strings.Join(paths, " or "))
}

// reportMetrics flattens a report entry into metadata metrics, under the
// report's own key names (attributional ones prefixed by the attack).
// Undefined values (NaN) are left out: JSON cannot hold them.
func reportMetrics(m ModelReport) map[string]float64 {
	out := map[string]float64{
		"clean_acc": float64(m.CleanAcc), "pgd_acc": float64(m.PGDAcc), "gradient_alignment": float64(m.GradientAlignment),
		"acc_n": float64(m.AccN), "pgd_n": float64(m.PGDN),
	}
	if a := m.Attr; a != nil {
		out["attributional_n"] = float64(a.N)
		for name, r := range map[string]AttackReport{"ifia": a.IFIA, "random_sign": a.Random} {
			out[name+"_topk"] = float64(r.TopK.Mean)
			out[name+"_kendall"] = float64(r.Kendall.Mean)
			out[name+"_spearman"] = float64(r.Spearman.Mean)
		}
	}
	for k, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(out, k)
		}
	}
	return out
}

// reportNotes says in words how the metrics were measured.
func reportNotes(s EvalOptions, report string) string {
	var parts []string
	parts = append(parts, fmt.Sprintf("Evaluated with art eval (seed %d) on %s: clean accuracy and gradient alignment on %d test images, PGD-%d (%s, eps %s) on %d",
		s.Seed, s.Data, s.AccN, s.PGDSteps, s.PGDNorm, fracText(float64(s.PGDEps)), s.PGDN))
	if s.N > 0 {
		parts = append(parts, fmt.Sprintf("IFIA top-k attack on %s (%d steps) with k %s, %d steps of %s within %s, on %d images every model classifies correctly; random_sign is the same-eps noise baseline",
			s.Attribution, s.IGSteps, kText(s.K), s.Steps, fracText(float64(s.Step)), fracText(float64(s.Eps)), s.N))
	}
	parts = append(parts, "accuracies and top-k intersections are fractions; full report: "+filepath.ToSlash(report))
	return strings.Join(parts, "; ") + "."
}

func kText(k int) string {
	if k == 0 {
		return "100 (scaled with the pixels)"
	}
	return fmt.Sprint(k)
}

// fracText writes a radius as n/255 when it is one.
func fracText(v float64) string {
	n := v * 255
	if r := math.Round(n); math.Abs(n-r) < 1e-6 {
		return fmt.Sprintf("%g/255", r)
	}
	return fmt.Sprintf("%g", v)
}
