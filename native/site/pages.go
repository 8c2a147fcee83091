package site

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/artrobust/art/shared/checkpoint"
)

// evalReport is the part of art eval's report.json (docs/report.md) the
// site shows. Numbers that could not be computed are JSON null (nil here).
type evalReport struct {
	Settings struct {
		AccN     int     `json:"acc_n"`
		PGDN     int     `json:"pgd_n"`
		PGDSteps int     `json:"pgd_steps"`
		PGDEps   float64 `json:"pgd_eps"`
		PGDNorm  string  `json:"pgd_norm"`
		N        int     `json:"n"`
		IGSteps  int     `json:"ig_steps"`
		Eps      float64 `json:"eps"`
		Step     float64 `json:"step"`
		Steps    int     `json:"steps"`
		Seed     uint64  `json:"seed"`
		Attrib   string  `json:"attribution"`
	} `json:"settings"`
	Models []struct {
		Checkpoint        string   `json:"checkpoint"`
		Method            string   `json:"method"`
		Arch              string   `json:"arch"`
		CleanAcc          *float64 `json:"clean_acc"`
		PGDAcc            *float64 `json:"pgd_acc"`
		GradientAlignment *float64 `json:"gradient_alignment"`
		Attr              *struct {
			K      int          `json:"k"`
			N      int          `json:"n"`
			IFIA   attackReport `json:"ifia"`
			Random attackReport `json:"random_sign"`
		} `json:"attributional"`
	} `json:"models"`
}

type attackReport struct {
	TopK    summary `json:"topk"`
	Kendall summary `json:"kendall"`
}

type summary struct {
	Mean *float64 `json:"mean"`
	Std  *float64 `json:"std"`
}

func readEvalReport(path string) (*evalReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r evalReport
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(r.Models) == 0 {
		return nil, fmt.Errorf("%s: no models", path)
	}
	return &r, nil
}

// pct formats a fraction as a percentage; nil (undefined) as "n/a".
func pct(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", 100**v)
}

func pctPM(s summary) string {
	if s.Mean == nil {
		return "n/a"
	}
	if s.Std == nil {
		return pct(s.Mean)
	}
	return fmt.Sprintf("%.1f ± %.1f", 100**s.Mean, 100**s.Std)
}

func fracText(v float64) string {
	n := v * 255
	if r := float64(int(n + 0.5)); n-r < 1e-6 && r-n < 1e-6 {
		return fmt.Sprintf("%g/255", r)
	}
	return fmt.Sprintf("%g", v)
}

// summaryTable is the headline table of an evaluation report: one row per
// checkpoint.
func summaryTable(r *evalReport, linkModels bool) string {
	var sb strings.Builder
	sb.WriteString("<table class=\"numbers\"><thead><tr><th>model</th><th>IFIA top-k intersection</th><th>IFIA Kendall's τ</th>" +
		"<th>random-sign top-k</th><th>clean acc</th><th>PGD acc</th><th>cos(x, ∂z<sub>y</sub>/∂x)</th></tr></thead><tbody>\n")
	for _, m := range r.Models {
		name := template.HTMLEscapeString(filepath.Base(m.Checkpoint))
		if linkModels {
			name = fmt.Sprintf("<a href=\"models.html#%s\">%s</a>", template.HTMLEscapeString(anchor(filepath.Base(m.Checkpoint))), name)
		}
		topk, kendall, random := "n/a", "n/a", "n/a"
		if m.Attr != nil {
			topk, kendall, random = pctPM(m.Attr.IFIA.TopK), pctPM(m.Attr.IFIA.Kendall), pctPM(m.Attr.Random.TopK)
		}
		align := "n/a"
		if m.GradientAlignment != nil {
			align = fmt.Sprintf("%.3f", *m.GradientAlignment)
		}
		fmt.Fprintf(&sb, "<tr><td>%s <span class=\"method\">%s</span></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			name, template.HTMLEscapeString(m.Method), topk, kendall, random, pct(m.CleanAcc), pct(m.PGDAcc), align)
	}
	sb.WriteString("</tbody></table>\n")
	s := r.Settings
	fmt.Fprintf(&sb, "<p class=\"settings\">Percent (mean ± standard deviation over images). IFIA: the top-k attack of Ghorbani et al. on %s (%d steps), %d steps of %s within L∞ ε = %s, on %d test images that every model classifies correctly; "+
		"the random-sign baseline perturbs the same images by ±ε noise. Clean accuracy on %d test images, PGD-%d (%s, ε = %s) on %d. Seed %d.</p>\n",
		template.HTMLEscapeString(attribName(s.Attrib)), s.IGSteps, s.Steps, fracText(s.Step), fracText(s.Eps), s.N, s.AccN, s.PGDSteps, template.HTMLEscapeString(s.PGDNorm), fracText(s.PGDEps), s.PGDN, s.Seed)
	return sb.String()
}

func attribName(a string) string {
	if a == "ig" {
		return "Integrated Gradients"
	}
	return a
}

// anchor is an element id for a checkpoint file name.
func anchor(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, name)
}

func (b *builder) results() error {
	var body strings.Builder
	body.WriteString("<h1>Results of the shipped checkpoints</h1>\n")
	rep, err := readEvalReport(filepath.Join(b.root, "weights", "results", "report.json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		body.WriteString("<p class=\"missing\">Attributional robustness: not yet measured (no weights/results/report.json; <code>./build.sh weights</code> writes it).</p>\n")
	case err != nil:
		return err
	default:
		body.WriteString("<h2>Attributional and adversarial robustness</h2>\n")
		body.WriteString("<p>Higher top-k intersection and Kendall's τ mean the attribution map changed less under the attack on it. " +
			"Measured by <code>art eval</code> on the checkpoints this site ships (see <a href=\"models.html\">Models</a>); " +
			"the full report follows, and the raw numbers are in <a href=\"results/report.json\">report.json</a>.</p>\n")
		body.WriteString(summaryTable(rep, true))
		full, ok, err := b.render("weights/results/report.md", "results.html")
		if err != nil {
			return err
		}
		if ok {
			body.WriteString("<section class=\"report\">\n" + demoteHeadings(full) + "</section>\n")
		}
	}
	body.WriteString("<h2>Weakly supervised localization</h2>\n")
	loc, ok, err := b.render("weights/results/localize/localize.md", "results.html")
	if err != nil {
		return err
	}
	if ok {
		body.WriteString("<p>Measured by <code>art localize</code> on the shipped checkpoints")
		if _, has := b.files["weights/results/localize/localize.json"]; has {
			body.WriteString(" (raw numbers: <a href=\"results/localize/localize.json\">localize.json</a>)")
		}
		body.WriteString(".</p>\n<section class=\"report\">\n" + demoteHeadings(loc) + "</section>\n")
	} else {
		body.WriteString("<p class=\"missing\">Not yet measured (no weights/results/localize/localize.md).</p>\n")
	}
	return b.write("results.html", "Results", "results", body.String())
}

// demoteHeadings moves a report's headings one level down, below the
// page's own h1 and h2.
func demoteHeadings(h string) string {
	r := strings.NewReplacer("<h1", "<h3", "</h1>", "</h3>", "<h2", "<h3", "</h2>", "</h3>")
	return r.Replace(h)
}

func (b *builder) models() error {
	var body strings.Builder
	body.WriteString("<h1>Model cards</h1>\n<p>The checkpoints this site ships and the demo runs on, described from their own metadata")
	var refs []string
	if t, ok := b.files["docs/checkpoint.md"]; ok {
		refs = append(refs, fmt.Sprintf("file format: <a href=\"%s\">docs/checkpoint.md</a>", relURL("models.html", t)))
	}
	if t, ok := b.files["weights/README.md"]; ok {
		refs = append(refs, fmt.Sprintf("how they were made: <a href=\"%s\">weights/README.md</a>", relURL("models.html", t)))
	}
	if len(refs) > 0 {
		body.WriteString(" (" + strings.Join(refs, "; ") + ")")
	}
	body.WriteString(".</p>\n")
	ckpts, _ := filepath.Glob(filepath.Join(b.dist, "weights", "*.ckpt"))
	if len(ckpts) == 0 {
		body.WriteString("<p class=\"missing\">No checkpoints are shipped yet: the demo shows untrained models.</p>\n")
	}
	for _, path := range ckpts {
		card, err := modelCard(path)
		if err != nil {
			return err
		}
		body.WriteString(card)
	}
	return b.write("models.html", "Models", "models", body.String())
}

// modelCard describes one checkpoint from its metadata.
func modelCard(path string) (string, error) {
	ck, err := checkpoint.ReadFile(path)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	name := filepath.Base(path)
	m := ck.Meta
	params, dtypes := 0, map[string]bool{}
	for _, t := range ck.Tensors {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		params += n
		dtypes[string(t.DType)] = true
	}
	e := template.HTMLEscapeString
	var sb strings.Builder
	fmt.Fprintf(&sb, "<section class=\"card\" id=\"%s\">\n<h2>%s</h2>\n<dl>\n", e(anchor(name)), e(name))
	row := func(k, v string) { fmt.Fprintf(&sb, "<dt>%s</dt><dd>%s</dd>\n", e(k), v) }
	row("training method", e(orDash(m.Method)))
	row("architecture", e(fmt.Sprintf("%s: %d classes, %d×%d×%d input", orDash(m.Arch.Name), m.Arch.NumClasses, m.Arch.InputSize, m.Arch.InputSize, m.Arch.Channels)))
	// Tensor elements, batch-norm statistics included (not only trained parameters).
	row("stored values", e(fmt.Sprintf("%d numbers in %d tensors, as %s", params, len(ck.Tensors), strings.Join(sortedKeys(dtypes), ", "))))
	row("dataset", e(orDash(m.Dataset)))
	if len(m.ClassNames) > 0 {
		row("classes", e(strings.Join(m.ClassNames, ", ")))
	}
	row("activation", e(orDash(m.Activation)))
	if m.Training.Step > 0 {
		row("training", e(fmt.Sprintf("%d steps (%d epochs), seed %d", m.Training.Step, m.Training.Epoch, m.Training.Seed)))
	}
	if !m.Created.IsZero() {
		row("created", e(m.Created.UTC().Format("2006-01-02 15:04 MST")))
	}
	row("file", fmt.Sprintf("<a href=\"weights/%s\">%s</a>, %.0f kB", e(name), e(name), float64(st.Size())/1000))
	sb.WriteString("</dl>\n")
	if len(m.Metrics) > 0 {
		sb.WriteString("<table class=\"metrics\"><thead><tr><th>metric</th><th>value</th></tr></thead><tbody>\n")
		for _, k := range sortedKeys(m.Metrics) {
			fmt.Fprintf(&sb, "<tr><td>%s</td><td>%.4g</td></tr>\n", e(k), m.Metrics[k])
		}
		sb.WriteString("</tbody></table>\n")
	}
	if m.Notes != "" {
		fmt.Fprintf(&sb, "<p class=\"notes\">%s</p>\n", e(m.Notes))
	}
	if len(m.Hyper) > 0 {
		sb.WriteString("<details><summary>training settings</summary><table class=\"hyper\"><tbody>\n")
		for _, k := range sortedKeys(m.Hyper) {
			v, _ := json.Marshal(m.Hyper[k])
			fmt.Fprintf(&sb, "<tr><td>%s</td><td><code>%s</code></td></tr>\n", e(k), e(string(v)))
		}
		sb.WriteString("</tbody></table></details>\n")
	}
	sb.WriteString("</section>\n")
	return sb.String(), nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
