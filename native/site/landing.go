package site

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// attackResult is the part of art attack's attack.json a figure caption
// uses.
type attackResult struct {
	Label    int      `json:"label"`
	K        int      `json:"k"`
	TopK     *float64 `json:"topk"`
	Kendall  *float64 `json:"kendall"`
	Linf     *float64 `json:"linf"`
	KeptStep int      `json:"kept_step"`
	Settings struct {
		Image   string  `json:"image"`
		IGSteps int     `json:"ig_steps"`
		Steps   int     `json:"steps"`
		Eps     float64 `json:"eps"`
	} `json:"settings"`
	Before struct {
		Class int `json:"class"`
	} `json:"prediction_before"`
	After struct {
		Class int `json:"class"`
	} `json:"prediction_after"`
}

// figureModels are the checkpoints the landing page's figures compare, as
// named in weights/results/figures/MODEL-IMAGE/.
var figureModels = []struct{ key, label string }{{"natural", "natural training"}, {"art", "ART"}}

// figures renders the attack figures under weights/results/figures (art
// attack output folders named MODEL-IMAGE): per image, one row per model
// with the image, its map, the attacked image and its map.
func (b *builder) figures() (string, error) {
	dir := filepath.Join(b.root, "weights", "results", "figures")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "<p class=\"missing\">Figures not yet made (<code>./build.sh weights</code> draws them from the shipped checkpoints).</p>", nil
	}
	if err != nil {
		return "", err
	}
	var images []string
	for _, e := range entries {
		if key, img, ok := strings.Cut(e.Name(), "-"); ok && e.IsDir() && key == figureModels[0].key && !slices.Contains(images, img) {
			images = append(images, img)
		}
	}
	slices.Sort(images)
	var sb strings.Builder
	for _, img := range images {
		var rows []string
		for _, m := range figureModels {
			name := m.key + "-" + img
			raw, err := os.ReadFile(filepath.Join(dir, name, "attack.json"))
			if err != nil {
				continue
			}
			var a attackResult
			if err := json.Unmarshal(raw, &a); err != nil {
				return "", fmt.Errorf("%s: %w", name, err)
			}
			src := "results/figures/" + name + "/"
			cell := func(file, alt string) string {
				if !isFile(filepath.Join(dir, name, file)) {
					return "<td></td>"
				}
				return fmt.Sprintf("<td><img src=\"%s%s\" alt=\"%s\" width=\"128\" height=\"128\"></td>", src, file, template.HTMLEscapeString(alt))
			}
			label := template.HTMLEscapeString(m.label)
			if a.KeptStep < 0 {
				label += "<br><span class=\"method\">no attack step kept the prediction: the image is unchanged</span>"
			}
			rows = append(rows, fmt.Sprintf("<tr><th>%s</th>%s%s%s%s<td class=\"num\">%s</td><td class=\"num\">%s</td></tr>\n",
				label,
				cell("image.png", "test image"), cell("map_before.png", "attribution map of the test image"),
				cell("adv.png", "attacked image"), cell("map_after.png", "attribution map of the attacked image"),
				pct(a.TopK), pct(a.Kendall)))
			if len(rows) == 1 {
				sb.WriteString("<figure class=\"attack\"><table><thead><tr><th></th><th>image</th><th>its map</th><th>attacked image</th><th>its map</th><th>top-k kept %</th><th>Kendall's τ %</th></tr></thead><tbody>\n")
			}
			sb.WriteString(rows[len(rows)-1])
			if len(rows) == len(figureModels) {
				sb.WriteString(fmt.Sprintf("</tbody></table><figcaption>Built-in test image %s (class %d). Integrated Gradients (%d steps) maps before and after the IFIA attack: %d steps within L∞ ε = %s, keeping the prediction; top-k is the share of the k = %d most important pixels still among the top k after the attack.</figcaption></figure>\n",
					template.HTMLEscapeString(a.Settings.Image), a.Label, a.Settings.IGSteps, a.Settings.Steps, fracText(a.Settings.Eps), a.K))
			}
		}
		if len(rows) > 0 && len(rows) < len(figureModels) {
			sb.WriteString("</tbody></table></figure>\n")
		}
	}
	if sb.Len() == 0 {
		return "<p class=\"missing\">Figures not yet made.</p>", nil
	}
	return sb.String(), nil
}

// isFile reports whether path is a regular file.
func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// landing renders web/pages/index.md as index.html, with {{figures}} and
// {{headline}} paragraphs replaced by the attack figures and the headline
// numbers of the evaluation report.
func (b *builder) landing() error {
	body, ok, err := b.render("web/pages/index.md", "index.html")
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("web/pages/index.md is missing")
	}
	figs, err := b.figures()
	if err != nil {
		return err
	}
	headline := "<p class=\"missing\">Not yet measured: <code>./build.sh weights</code> evaluates the shipped checkpoints.</p>"
	if rep, err := readEvalReport(filepath.Join(b.root, "weights", "results", "report.json")); err == nil {
		headline = summaryTable(rep, true)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	body = strings.ReplaceAll(body, "<p>{{figures}}</p>", figs)
	body = strings.ReplaceAll(body, "<p>{{headline}}</p>", headline)
	return b.write("index.html", "Home", "home", body)
}
