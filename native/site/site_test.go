package site

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/checkpoint"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const testReport = `{"settings": {"acc_n": 1000, "pgd_n": 200, "pgd_steps": 20, "pgd_eps": 0.03137254901960784, "pgd_norm": "linf",
 "n": 100, "ig_steps": 16, "eps": 0.03137254901960784, "step": 0.00392156862745098, "steps": 20, "seed": 1, "attribution": "ig"},
 "models": [
  {"checkpoint": "weights/a-natural.ckpt", "method": "natural", "clean_acc": 0.924, "pgd_acc": 0, "gradient_alignment": 0.5,
   "attributional": {"k": 100, "n": 100, "ifia": {"topk": {"mean": 0.1287, "std": 0.09}, "kendall": {"mean": 0.3378, "std": null}},
     "random_sign": {"topk": {"mean": 0.8, "std": 0.1}, "kendall": {"mean": 0.9, "std": 0.05}}}},
  {"checkpoint": "weights/a-art.ckpt", "method": "art", "clean_acc": 0.9, "pgd_acc": null, "gradient_alignment": 1.4}
 ]}`

// A fake repository: every page is written, Markdown links between
// sources become relative links between pages, links to what the site does
// not hold are dropped (text kept), and the report's numbers appear.
func TestBuildWritesLinkedPages(t *testing.T) {
	root, dist := t.TempDir(), t.TempDir()
	writeFiles(t, root, map[string]string{
		"README.md":                                     "# Project\n\nSee [the format](docs/checkpoint.md#meta), [shipped](weights/README.md), [code](shared/model/) and [web](https://example.org/x).\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n",
		"docs/checkpoint.md":                            "# Format\n\n## Meta\n\nBack to [the overview](../README.md). Reader: [script](read.py). <script>alert(1)</script>\n",
		"docs/read.py":                                  "print(1)\n",
		"weights/README.md":                             "# Weights\n\n![curve](results/plot.png) ![gone](nothere.png)\n",
		"weights/results/report.json":                   testReport,
		"weights/results/report.md":                     "# Evaluation\n\n| model | x |\n|---|---|\n| a | 1 |\n\n![box](plot.png)\n",
		"weights/results/plot.png":                      "png",
		"weights/results/figures/natural-0/attack.json": `{"label": 3, "k": 100, "topk": 0.25, "kendall": 0.5, "settings": {"image": "shapes:0", "ig_steps": 16, "steps": 20, "eps": 0.03137254901960784}}`,
		"weights/results/figures/natural-0/image.png":   "png",
		"weights/results/figures/art-0/attack.json":     `{"label": 3, "k": 100, "kept_step": -1, "topk": 0.5, "kendall": 0.75, "settings": {"image": "shapes:0", "ig_steps": 16, "steps": 20, "eps": 0.03137254901960784}}`,
		"web/pages/index.md":                            "# Hello\n\n{{headline}}\n\n{{figures}}\n\nThe [demo](demo.html), [results](results.html) and [missing](nothing.html).\n",
		"web/site.css":                                  "body{}",
	})
	writeFiles(t, dist, map[string]string{"demo.html": "<p>demo</p>"})
	ck := &checkpoint.Checkpoint{
		Meta: checkpoint.Meta{Arch: checkpoint.Arch{Name: "WRN-10-1", NumClasses: 10, InputSize: 32, Channels: 3}, Method: "art",
			Dataset: "shapes", Metrics: map[string]float64{"ifia_topk": 0.1424}, Notes: "made <here>", Hyper: map[string]any{"lr": 0.01}},
		Tensors: []*checkpoint.Tensor{checkpoint.NewFloat32("/w", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6})},
	}
	if err := os.MkdirAll(filepath.Join(dist, "weights"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.WriteFile(filepath.Join(dist, "weights", "a-art.ckpt"), ck, checkpoint.WithFloat16()); err != nil {
		t.Fatal(err)
	}

	pages, err := Build(Options{Root: root, Dist: dist})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range pages {
		paths = append(paths, p.Path)
	}
	want := "docs/index.html docs/weights.html docs/checkpoint.html results.html models.html index.html"
	if strings.Join(paths, " ") != want {
		t.Errorf("pages %v, want %s", paths, want)
	}

	readme := read(t, filepath.Join(dist, "docs", "index.html"))
	for _, s := range []string{
		`href="../docs/checkpoint.html#meta"`, `href="../docs/weights.html"`, `href="https://example.org/x"`,
		`<td align="right">2</td>`, `href="../site.css"`, `href="../demo.html"`, `aria-current="page">Docs`,
	} {
		if !strings.Contains(readme, s) {
			t.Errorf("docs/index.html lacks %s", s)
		}
	}
	if strings.Contains(readme, "shared/model") && strings.Contains(readme, `href="shared`) || !strings.Contains(readme, "code") {
		t.Errorf("link to a source folder should become plain text")
	}
	format := read(t, filepath.Join(dist, "docs", "checkpoint.html"))
	if !strings.Contains(format, `href="../docs/index.html"`) || !strings.Contains(format, `href="../docs/read.py.txt"`) || strings.Contains(format, "<script>") {
		t.Errorf("docs/checkpoint.html: links or raw HTML wrong:\n%s", format)
	}
	if read(t, filepath.Join(dist, "docs", "read.py.txt")) != "print(1)\n" {
		t.Error("docs/read.py not copied as text")
	}
	weights := read(t, filepath.Join(dist, "docs", "weights.html"))
	if !strings.Contains(weights, `src="../results/plot.png"`) || strings.Contains(weights, "nothere.png") || !strings.Contains(weights, "gone") {
		t.Errorf("docs/weights.html images wrong:\n%s", weights)
	}

	index := read(t, filepath.Join(dist, "index.html"))
	for _, s := range []string{"12.9 ± 9.0", "33.8<", `href="demo.html"`, `src="results/figures/natural-0/image.png"`, "25.0", "75.0", "shapes:0 (class 3)", "no attack step kept the prediction"} {
		if !strings.Contains(index, s) {
			t.Errorf("index.html lacks %q", s)
		}
	}
	if strings.Count(index, `href="results.html"`) != 2 || strings.Count(index, `href="demo.html"`) != 2 {
		t.Errorf("index.html: links to the site's own pages (besides the navigation bar) were dropped: %d %d", strings.Count(index, `href="results.html"`), strings.Count(index, `href="demo.html"`))
	}
	if strings.Contains(index, "{{") || strings.Contains(index, "nothing.html") {
		t.Errorf("index.html keeps a placeholder or a dead link")
	}
	// The ART row has no adv.png etc.: empty cells, no broken image.
	if strings.Contains(index, "art-0/adv.png") {
		t.Error("index.html links a figure that does not exist")
	}

	results := read(t, filepath.Join(dist, "results.html"))
	for _, s := range []string{"92.4", "n/a", `src="results/plot.png"`, `href="results/report.json"`, "Not yet measured", `href="models.html#a-art-ckpt"`} {
		if !strings.Contains(results, s) {
			t.Errorf("results.html lacks %q", s)
		}
	}
	models := read(t, filepath.Join(dist, "models.html"))
	for _, s := range []string{`id="a-art-ckpt"`, "ifia_topk", "0.1424", "made &lt;here&gt;", "6 numbers in 1 tensors, as float16", `href="weights/a-art.ckpt"`} {
		if !strings.Contains(models, s) {
			t.Errorf("models.html lacks %q", s)
		}
	}
	// Every local href/src of every page points at a file of the site.
	ref := regexp.MustCompile(`(?:href|src)="([^"#]*)`)
	for _, p := range pages {
		for _, m := range ref.FindAllStringSubmatch(read(t, filepath.Join(dist, p.Path)), -1) {
			u := m[1]
			if u == "" || strings.HasPrefix(u, "https://") {
				continue
			}
			target := filepath.Join(dist, filepath.Dir(p.Path), filepath.FromSlash(u))
			if _, err := os.Stat(target); err != nil {
				t.Errorf("%s links %s, which the site lacks", p.Path, u)
			}
		}
	}
}

// The site has a favicon (browsers ask for one on every page): an ICO
// holding one 32x32 PNG.
func TestBuildWritesFavicon(t *testing.T) {
	root, dist := t.TempDir(), t.TempDir()
	writeFiles(t, root, map[string]string{"web/pages/index.md": "x\n", "web/site.css": ""})
	if _, err := Build(Options{Root: root, Dist: dist}); err != nil {
		t.Fatal(err)
	}
	ico := []byte(read(t, filepath.Join(dist, "favicon.ico")))
	if len(ico) < 22 || binary.LittleEndian.Uint16(ico[2:]) != 1 || binary.LittleEndian.Uint16(ico[4:]) != 1 || ico[6] != 32 || ico[7] != 32 {
		t.Fatalf("not a one-image 32x32 ICO: % x", ico[:min(len(ico), 22)])
	}
	size, off := binary.LittleEndian.Uint32(ico[14:]), binary.LittleEndian.Uint32(ico[18:])
	if int(off+size) != len(ico) {
		t.Fatalf("image at %d+%d in a %d-byte file", off, size, len(ico))
	}
	img, err := png.Decode(bytes.NewReader(ico[off:]))
	if err != nil || img.Bounds().Dx() != 32 || img.Bounds().Dy() != 32 {
		t.Fatalf("payload: %v %v", err, img)
	}
}

// Without results or localization reports the pages say so instead of
// showing numbers.
func TestBuildWithoutResultsSaysNotYetMeasured(t *testing.T) {
	root, dist := t.TempDir(), t.TempDir()
	writeFiles(t, root, map[string]string{"README.md": "# P\n", "web/pages/index.md": "{{headline}}\n\n{{figures}}\n", "web/site.css": ""})
	if _, err := Build(Options{Root: root, Dist: dist}); err != nil {
		t.Fatal(err)
	}
	if s := read(t, filepath.Join(dist, "results.html")); strings.Count(s, "not yet measured")+strings.Count(s, "Not yet measured") != 2 {
		t.Errorf("results.html should say twice that nothing is measured:\n%s", s)
	}
	if s := read(t, filepath.Join(dist, "index.html")); !strings.Contains(s, "Not yet measured") || !strings.Contains(s, "Figures not yet made") {
		t.Errorf("index.html:\n%s", s)
	}
	if s := read(t, filepath.Join(dist, "models.html")); !strings.Contains(s, "No checkpoints are shipped yet") {
		t.Errorf("models.html:\n%s", s)
	}
}

func TestBuildErrors(t *testing.T) {
	root := t.TempDir()
	if _, err := Build(Options{Root: root, Dist: filepath.Join(root, "nope")}); err == nil || !strings.Contains(err.Error(), "is not a folder") {
		t.Errorf("missing dist: %v", err)
	}
	dist := t.TempDir()
	writeFiles(t, root, map[string]string{"web/site.css": "", "web/pages/index.md": "x", "weights/results/report.json": "{not json"})
	if _, err := Build(Options{Root: root, Dist: dist}); err == nil || !strings.Contains(err.Error(), "report.json") {
		t.Errorf("broken report: %v", err)
	}
	root2, dist2 := t.TempDir(), t.TempDir()
	writeFiles(t, root2, map[string]string{"web/site.css": ""})
	if _, err := Build(Options{Root: root2, Dist: dist2}); err == nil || !strings.Contains(err.Error(), "web/pages/index.md is missing") {
		t.Errorf("no landing source: %v", err)
	}
}

func TestRelURL(t *testing.T) {
	for _, c := range []struct{ from, to, want string }{
		{"index.html", "docs/a.html", "docs/a.html"},
		{"docs/index.html", "site.css", "../site.css"},
		{"docs/index.html", "docs/a b.html", "../docs/a%20b.html"},
		{"a/b/c.html", "x.png", "../../x.png"},
	} {
		if got := relURL(c.from, c.to); got != c.want {
			t.Errorf("relURL(%q, %q) = %q, want %q", c.from, c.to, got, c.want)
		}
	}
}
