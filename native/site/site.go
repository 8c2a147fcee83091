package site

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Options say where the sources are and where the site goes.
type Options struct {
	// Root is the repository root: README.md, docs/, web/pages/,
	// web/site.css and weights/ are read from it.
	Root string
	// Dist is the site folder. The demonstrator (demo.html) and the
	// checkpoints (weights/*.ckpt) are expected there already (./build.sh
	// web); the pages are added beside them.
	Dist string
}

// Page is one generated page, for reporting.
type Page struct {
	Path  string // site path, e.g. "docs/report.html"
	Title string
}

// Build writes the site's pages into o.Dist and returns them.
func Build(o Options) ([]Page, error) {
	if st, err := os.Stat(o.Dist); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("site: %s is not a folder (run ./build.sh web first)", o.Dist)
	}
	b := &builder{root: o.Root, dist: o.Dist, files: map[string]string{}}
	// The landing page goes last: it links to the others.
	steps := []func() error{b.copyAssets, b.favicon, b.docs, b.results, b.models, b.landing}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("site: %w", err)
		}
	}
	return b.pages, nil
}

type builder struct {
	root, dist string
	// files maps a source's repository path to its site path, for every
	// source the site holds (slash-separated): Markdown links to a
	// repository file resolve through it.
	files    map[string]string
	docPages []docPage
	pages    []Page
}

// docPage is a Markdown source rendered as documentation: its repository
// path, site path and title.
type docPage struct{ src, dst, title string }

// findDocs lists the documentation sources: README.md, weights/README.md,
// web/README.md and every docs/*.md, titled by their first heading.
func (b *builder) findDocs() []docPage {
	srcs := []string{"README.md", "weights/README.md", "web/README.md"}
	more, _ := filepath.Glob(filepath.Join(b.root, "docs", "*.md"))
	slices.Sort(more)
	for _, m := range more {
		srcs = append(srcs, "docs/"+filepath.Base(m))
	}
	var pages []docPage
	for _, src := range srcs {
		text, err := os.ReadFile(filepath.Join(b.root, filepath.FromSlash(src)))
		if err != nil {
			continue
		}
		var dst string
		switch src {
		case "README.md":
			dst = "docs/index.html"
		case "weights/README.md":
			dst = "docs/weights.html"
		case "web/README.md":
			dst = "docs/web.html"
		default:
			dst = strings.TrimSuffix(src, ".md") + ".html"
		}
		pages = append(pages, docPage{src: src, dst: dst, title: firstHeading(text, src)})
	}
	return pages
}

// firstHeading is the text of a Markdown file's first "# " heading, or
// fallback.
func firstHeading(text []byte, fallback string) string {
	for _, line := range strings.Split(string(text), "\n") {
		if h, ok := strings.CutPrefix(line, "# "); ok {
			h = strings.NewReplacer("`", "", "*", "").Replace(strings.TrimSpace(h))
			if h != "" {
				return h
			}
		}
	}
	return fallback
}

// copyAssets copies the style sheet, the result files and figures, and
// other documentation files into the site, and registers what the
// demonstrator's build already put there.
func (b *builder) copyAssets() error {
	if err := b.copyFile("web/site.css", "site.css"); err != nil {
		return err
	}
	if err := b.copyTree("weights/results", "results"); err != nil {
		return err
	}
	ckpts, _ := filepath.Glob(filepath.Join(b.dist, "weights", "*.ckpt"))
	for _, c := range ckpts {
		name := "weights/" + filepath.Base(c)
		b.files[name] = name
	}
	b.docPages = b.findDocs()
	for _, d := range b.docPages {
		b.files[d.src] = d.dst
	}
	// Other documentation files (e.g. a reader script) as plain text.
	others, _ := filepath.Glob(filepath.Join(b.root, "docs", "*"))
	for _, f := range others {
		name := "docs/" + filepath.Base(f)
		if _, isPage := b.files[name]; isPage || strings.HasSuffix(name, ".md") {
			continue
		}
		if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
			continue
		}
		if err := b.copyFile(name, name+".txt"); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) copyFile(src, dst string) error {
	in, err := os.Open(filepath.Join(b.root, filepath.FromSlash(src)))
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(b.dist, filepath.FromSlash(dst))), 0o755); err != nil {
		return err
	}
	out, err := os.Create(filepath.Join(b.dist, filepath.FromSlash(dst)))
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	b.files[src] = dst
	return nil
}

// copyTree copies the regular files under the repository folder src (if it
// exists) to the site folder dst.
func (b *builder) copyTree(src, dst string) error {
	base := filepath.Join(b.root, filepath.FromSlash(src))
	if _, err := os.Stat(base); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		r, err := filepath.Rel(base, p)
		if err != nil {
			return err
		}
		r = filepath.ToSlash(r)
		return b.copyFile(src+"/"+r, dst+"/"+r)
	})
}

// relURL is the relative URL from the page at site path from to the site
// path to.
func relURL(from, to string) string {
	depth := strings.Count(from, "/")
	u := strings.Repeat("../", depth) + to
	if u == "" {
		return "./"
	}
	return (&url.URL{Path: u}).EscapedPath()
}

// resolver resolves the links of the Markdown source src (a repository
// path) rendered as the page at site path page: a repository file the site
// holds becomes a relative link to it; web links stay; anything else (a
// source folder, a file the site does not ship) is not linked.
func (b *builder) resolver(src, page string) Resolver {
	return func(dest string) (string, bool) {
		u, err := url.Parse(dest)
		if err != nil || dest == "" {
			return "", false
		}
		if u.Scheme != "" || u.Host != "" {
			return dest, u.Scheme == "https" || u.Scheme == "http" || u.Scheme == "mailto"
		}
		if u.Path == "" {
			return dest, true // "#anchor" within the page
		}
		if strings.HasPrefix(u.Path, "/") {
			return "", false
		}
		p := path.Clean(path.Join(path.Dir(src), u.Path))
		target, ok := b.files[p]
		if !ok {
			// A page of the site itself, written relative to the page.
			if isFile(filepath.Join(b.dist, filepath.FromSlash(path.Join(path.Dir(page), u.Path)))) {
				return dest, true
			}
			return "", false
		}
		r := relURL(page, target)
		if u.Fragment != "" {
			r += "#" + url.PathEscape(u.Fragment)
		}
		return r, true
	}
}

// render renders a Markdown source file to HTML for the page at site path
// page; ok is false when the source does not exist.
func (b *builder) render(src, page string) (body string, ok bool, err error) {
	text, err := os.ReadFile(filepath.Join(b.root, filepath.FromSlash(src)))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	body, err = Markdown(text, b.resolver(src, page))
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", src, err)
	}
	return body, true, nil
}

func (b *builder) docs() error {
	var list strings.Builder
	list.WriteString("<nav class=\"doclist\"><h2>Documents</h2><ul>\n")
	for _, d := range b.docPages {
		fmt.Fprintf(&list, "<li><a href=\"%s\">%s</a> <span class=\"src\">(%s)</span></li>\n",
			relURL("docs/index.html", d.dst), template.HTMLEscapeString(d.title), template.HTMLEscapeString(d.src))
	}
	list.WriteString("</ul></nav>\n")
	for _, d := range b.docPages {
		body, ok, err := b.render(d.src, d.dst)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := b.write(d.dst, d.title, "docs", list.String()+body); err != nil {
			return err
		}
	}
	return nil
}

// nav is the shared navigation bar: site path and label.
var nav = []struct{ path, label, key string }{
	{"index.html", "Home", "home"},
	{"demo.html", "Demo", "demo"},
	{"results.html", "Results", "results"},
	{"models.html", "Models", "models"},
	{"docs/index.html", "Docs", "docs"},
}

var shell = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Attributional Robustness Training</title>
<link rel="stylesheet" href="{{.Up}}site.css">
</head>
<body>
<header class="site"><a class="brand" href="{{.Up}}index.html">ART</a>
<nav>{{range .Nav}}<a href="{{.Href}}"{{if .Current}} aria-current="page"{{end}}>{{.Label}}</a>{{end}}</nav></header>
<main>
{{.Body}}
</main>
<footer class="site">Attributional Robustness Training (Singh et al., ECCV 2020) in Go on GoMLX. Everything on these pages is static; the demo computes in your browser.</footer>
</body>
</html>
`))

type navLink struct {
	Href    template.URL
	Label   string
	Current bool
}

// write wraps body in the page shell and writes it to the site path page.
func (b *builder) write(page, title, key, body string) error {
	up := strings.Repeat("../", strings.Count(page, "/"))
	var links []navLink
	for _, n := range nav {
		links = append(links, navLink{Href: template.URL(relURL(page, n.path)), Label: n.label, Current: n.key == key})
	}
	var buf bytes.Buffer
	err := shell.Execute(&buf, map[string]any{"Title": title, "Up": up, "Nav": links, "Body": template.HTML(body)})
	if err != nil {
		return err
	}
	dst := filepath.Join(b.dist, filepath.FromSlash(page))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		return err
	}
	b.pages = append(b.pages, Page{Path: page, Title: title})
	return nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
