package site

import (
	"strings"
	"testing"
)

func keepAll(dest string) (string, bool) { return "x/" + dest, true }
func dropAll(string) (string, bool)      { return "", false }

func TestMarkdownRewritesAndDropsLinks(t *testing.T) {
	src := "A [link](a.md) and ![pic](p.png) and [`code` text](b.md).\n"
	got, err := Markdown([]byte(src), keepAll)
	if err != nil {
		t.Fatal(err)
	}
	if want := `<p>A <a href="x/a.md">link</a> and <img src="x/p.png" alt="pic"> and <a href="x/b.md"><code>code</code> text</a>.</p>` + "\n"; got != want {
		t.Errorf("kept:\n got %q\nwant %q", got, want)
	}
	got, err = Markdown([]byte(src), dropAll)
	if err != nil {
		t.Fatal(err)
	}
	if want := "<p>A link and pic and <code>code</code> text.</p>\n"; got != want {
		t.Errorf("dropped:\n got %q\nwant %q", got, want)
	}
}

func TestMarkdownLeavesOutRawHTML(t *testing.T) {
	got, err := Markdown([]byte("<script>alert(1)</script>\n\nx <img src=y onerror=z> y\n"), keepAll)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "<script") || strings.Contains(got, "<img") {
		t.Errorf("raw HTML passed through: %q", got)
	}
}

// FuzzMarkdown: any input renders without panicking, never passes raw
// HTML tags through, and every link still goes through the resolver.
func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{
		"# T\n\n[a](b.md#c) ![i](j.png)\n",
		"| a | b |\n|:-|-:|\n| [x](y) | ![z](w) |\n",
		"- [a\n  b](c)\n- ![d](e)\n\n```\n[no](link)\n```\n",
		"[a]: b.md\n\n[ref link][a] <http://x.y> <script>",
		"[[nested](a)](b) ![![x](y)](z)",
		"> quote [q](r)\n\n1. one\n2. ~~two~~\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		out, err := Markdown([]byte(src), func(dest string) (string, bool) {
			if strings.HasSuffix(dest, ".md") {
				return "ok.html", true
			}
			return "", false
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(out), "<script") {
			t.Errorf("raw script tag in output for %q", src)
		}
		for _, attr := range []string{`href="`, `src="`} {
			for rest := out; ; {
				i := strings.Index(rest, attr)
				if i < 0 {
					break
				}
				rest = rest[i+len(attr):]
				if !strings.HasPrefix(rest, "ok.html") && !strings.HasPrefix(rest, "http") && !strings.HasPrefix(rest, "mailto") {
					t.Errorf("%s%s… did not go through the resolver (input %q)", attr, rest[:min(len(rest), 20)], src)
				}
			}
		}
	})
}
