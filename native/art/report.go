package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/artrobust/art/shared/nanjson"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// RobustBenchRecord is one model's entry of robustbench.json, after the
// per-model records of RobustBench's model_info files (accuracies in percent).
type RobustBenchRecord struct {
	Name         string  `json:"name"`
	Checkpoint   string  `json:"checkpoint"`
	Architecture string  `json:"architecture"`
	Training     string  `json:"training"`
	Dataset      string  `json:"dataset"`
	ThreatModel  string  `json:"threat_model"`
	Eps          float64 `json:"eps"`
	CleanAcc     float64 `json:"clean_acc"`
	RobustAcc    float64 `json:"robust_acc"`
	Attack       string  `json:"attack"`
	// Attributional robustness under IFIA at EpsAttr (percent; null when
	// not measured).
	Attribution     string `json:"attribution_method,omitempty"`
	EpsAttr         num    `json:"attribution_eps"`
	TopKIntersect   num    `json:"topk_intersection"`
	Kendall         num    `json:"kendall"`
	Spearman        num    `json:"spearman"`
	RandomTopK      num    `json:"random_topk_intersection"`
	RandomKendall   num    `json:"random_kendall"`
	AttributionImgs int    `json:"attribution_n"`
}

func robustBench(o EvalOptions, reports []ModelReport) []RobustBenchRecord {
	var out []RobustBenchRecord
	for _, r := range reports {
		rec := RobustBenchRecord{
			Name:         strings.TrimSuffix(filepath.Base(filepath.Dir(r.Checkpoint)), "/") + "/" + filepath.Base(r.Checkpoint),
			Checkpoint:   r.Checkpoint,
			Architecture: r.Arch, Training: r.Method, Dataset: r.Dataset, ThreatModel: threatModel(o.PGDNorm),
			Eps: float64(o.PGDEps), CleanAcc: 100 * float64(r.CleanAcc), RobustAcc: 100 * float64(r.PGDAcc),
			Attack:  fmt.Sprintf("PGD-%d step %.4g", o.PGDSteps, float64(o.PGDStep)),
			EpsAttr: num(math.NaN()), TopKIntersect: num(math.NaN()), Kendall: num(math.NaN()), Spearman: num(math.NaN()),
			RandomTopK: num(math.NaN()), RandomKendall: num(math.NaN()),
		}
		if a := r.Attr; a != nil {
			rec.Attribution, rec.EpsAttr, rec.AttributionImgs = a.Method, num(float64(o.Eps)), a.N
			rec.TopKIntersect, rec.Kendall, rec.Spearman = 100*a.IFIA.TopK.Mean, 100*a.IFIA.Kendall.Mean, 100*a.IFIA.Spearman.Mean
			rec.RandomTopK, rec.RandomKendall = 100*a.Random.TopK.Mean, 100*a.Random.Kendall.Mean
		}
		out = append(out, rec)
	}
	return out
}

// pct formats a fraction as a percentage, "–" for NaN.
func pct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f", 100*v)
}

// reportMarkdown lays out the numbers like the paper's Table 1.
func reportMarkdown(o EvalOptions, reports []ModelReport) string {
	var md strings.Builder
	attr := len(reports) > 0 && reports[0].Attr != nil
	fmt.Fprintf(&md, "Dataset `%s`.", o.Data)
	if attr {
		a := reports[0].Attr
		runs := ""
		if o.AttackK > 0 && o.AttackK != a.K {
			runs = fmt.Sprintf(" (the attack on the top %d)", o.AttackK)
		}
		if o.Restarts > 1 {
			runs += fmt.Sprintf(", %d runs (the first from the image, the others from random points of the ball; the worst kept)", o.Restarts)
		}
		fmt.Fprintf(&md, " Attributional robustness: IFIA top-k attack on %s, eps %.4g (%.3g/255), %d steps of %.3g/255, k = %d%s, on %d random test images that every checkpoint classifies correctly; mean ± std in percent.",
			a.Method, float64(o.Eps), 255*float64(o.Eps), o.Steps, 255*float64(o.Step), a.K, runs, a.N)
	}
	fmt.Fprintf(&md, " Accuracy: clean on %d images, PGD-%d (%s, eps %s, step %s) on %d images.\n\n",
		reports[0].AccN, o.PGDSteps, threatModel(o.PGDNorm), epsText(o.PGDNorm, float64(o.PGDEps)), epsText(o.PGDNorm, float64(o.PGDStep)), reports[0].PGDN)
	md.WriteString("| checkpoint | arch | training | top-k intersection | Kendall's tau | clean acc | PGD-" + fmt.Sprint(o.PGDSteps) + " acc |\n|---|---|---|---:|---:|---:|---:|\n")
	for _, r := range reports {
		tk, kd := "–", "–"
		if r.Attr != nil {
			tk = pct(float64(r.Attr.IFIA.TopK.Mean)) + " ± " + pct(float64(r.Attr.IFIA.TopK.Std))
			kd = pct(float64(r.Attr.IFIA.Kendall.Mean)) + " ± " + pct(float64(r.Attr.IFIA.Kendall.Std))
		}
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s | %s | %s |\n", r.Checkpoint, r.Arch, r.Method, tk, kd, pct(float64(r.CleanAcc)), pct(float64(r.PGDAcc)))
	}
	if attr {
		md.WriteString("\nMore measures (percent): Spearman's rho under IFIA, the random-sign baseline at the same eps, and the alignment cos(x, dz_y/dx).\n\n")
		md.WriteString("| checkpoint | IFIA Spearman | random top-k | random Kendall | random Spearman | cos(x, dz_y/dx) |\n|---|---:|---:|---:|---:|---:|\n")
		for _, r := range reports {
			a := r.Attr
			fmt.Fprintf(&md, "| %s | %s | %s | %s | %s | %s |\n", r.Checkpoint, pct(float64(a.IFIA.Spearman.Mean)),
				pct(float64(a.Random.TopK.Mean)), pct(float64(a.Random.Kendall.Mean)), pct(float64(a.Random.Spearman.Mean)), pct(float64(r.GradientAlignment)))
		}
	} else {
		md.WriteString("\n| checkpoint | cos(x, dz_y/dx) |\n|---|---:|\n")
		for _, r := range reports {
			fmt.Fprintf(&md, "| %s | %s |\n", r.Checkpoint, measured(r.GradientAlignment))
		}
	}
	if len(reports[0].Sweep) > 0 {
		md.WriteString("\nPGD accuracy (percent) by eps:\n\n| checkpoint |")
		for _, s := range reports[0].Sweep {
			fmt.Fprintf(&md, " %s |", epsText(o.PGDNorm, s.Eps))
		}
		md.WriteString("\n|---|" + strings.Repeat("---:|", len(reports[0].Sweep)) + "\n")
		for _, r := range reports {
			fmt.Fprintf(&md, "| %s |", r.Checkpoint)
			for _, s := range r.Sweep {
				fmt.Fprintf(&md, " %s |", pct(s.Acc))
			}
			md.WriteString("\n")
		}
	}
	robustMarkdown(&md, o, reports)
	return md.String()
}

// threatModel is RobustBench's name of the PGD norm.
func threatModel(norm string) string {
	if norm == "l2" {
		return "L2"
	}
	return "Linf"
}

// epsText writes an L-inf radius in units of 1/255 and an L2 one as is.
func epsText(norm string, e float64) string {
	if norm == "l2" {
		return fmt.Sprintf("%.3g", e)
	}
	return fmt.Sprintf("%.3g/255", 255*e)
}

// writeEvalReport prints the table and, with o.Report set, writes
// report.json, report.md, robustbench.json and the plots.
func writeEvalReport(o EvalOptions, reports []ModelReport, stdout io.Writer) error {
	md := reportMarkdown(o, reports)
	fmt.Fprint(stdout, "\n"+md)
	if o.Report == "" {
		return nil
	}
	if err := os.MkdirAll(o.Report, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(o.Report, "report.json"), map[string]any{"settings": o, "models": reports}); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(o.Report, "robustbench.json"), robustBench(o, reports)); err != nil {
		return err
	}
	var figs []string
	if reports[0].Attr != nil {
		if err := writeBoxPlots(reports, filepath.Join(o.Report, "attribution_boxplots.png")); err != nil {
			return err
		}
		figs = append(figs, "attribution_boxplots.png")
	}
	if len(reports[0].Sweep) > 0 {
		if err := writeSweepPlot(reports, filepath.Join(o.Report, "pgd_sweep.png")); err != nil {
			return err
		}
		figs = append(figs, "pgd_sweep.png")
	}
	full := "# Evaluation\n\n" + md
	for _, f := range figs {
		full += fmt.Sprintf("\n![%s](%s)\n", strings.TrimSuffix(f, ".png"), f)
	}
	return os.WriteFile(filepath.Join(o.Report, "report.md"), []byte(full), 0o644)
}

// writeJSON writes v as indented JSON, numbers that are not finite as null
// (a report is not lost at the end of a long run over one undefined number).
func writeJSON(path string, v any) error {
	b, err := nanjson.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// shortName labels a checkpoint in plots: its directory and file name.
func shortName(path string) string {
	return filepath.Base(filepath.Dir(path)) + "/" + filepath.Base(path)
}

// writeBoxPlots draws the per-image top-k intersection and Kendall's tau
// under IFIA as box plots, one box per checkpoint (the paper's Fig. 11).
func writeBoxPlots(reports []ModelReport, path string) error {
	panels := []struct {
		title string
		get   func(ImageStats) num
	}{
		{"top-k intersection", func(s ImageStats) num { return s.TopK }},
		{"Kendall's tau", func(s ImageStats) num { return s.Kendall }},
	}
	var plots []*plot.Plot
	for _, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.title + " under IFIA"
		for i, r := range reports {
			var v plotter.Values
			for _, s := range r.Attr.IFIA.Images {
				if f := float64(pn.get(s)); !math.IsNaN(f) {
					v = append(v, f)
				}
			}
			if len(v) == 0 {
				continue
			}
			b, err := plotter.NewBoxPlot(vg.Points(30), float64(i), v)
			if err != nil {
				return err
			}
			p.Add(b)
		}
		labels := make([]string, len(reports))
		for i, r := range reports {
			labels[i] = shortName(r.Checkpoint)
		}
		p.NominalX(labels...)
		plots = append(plots, p)
	}
	return savePanels(plots, path, 5*vg.Inch)
}

// writeSweepPlot draws PGD accuracy against eps, one line per checkpoint.
func writeSweepPlot(reports []ModelReport, path string) error {
	p := plot.New()
	p.Title.Text = "PGD accuracy"
	p.X.Label.Text = "eps (x 1/255)"
	p.Y.Min, p.Y.Max = 0, 1
	var args []any
	for _, r := range reports {
		var xy plotter.XYs
		for _, s := range r.Sweep {
			xy = append(xy, plotter.XY{X: 255 * s.Eps, Y: s.Acc})
		}
		args = append(args, shortName(r.Checkpoint), xy)
	}
	if err := addLines(p, args...); err != nil {
		return err
	}
	return savePanels([]*plot.Plot{p}, path, 6*vg.Inch)
}

func savePanels(plots []*plot.Plot, path string, each vg.Length) error {
	img := vgimg.New(each*vg.Length(len(plots)), 4*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2,
		PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{plots}, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[0][i])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
