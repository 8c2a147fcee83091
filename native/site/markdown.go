// Package site generates the project's static showcase site: a landing
// page, a results page from the art eval and art localize reports of the
// shipped checkpoints, model cards from their metadata, and the
// documentation rendered from Markdown, next to the in-browser
// demonstrator that ./build.sh web writes. Every link it writes is
// relative, so the site works under any sub-path of any static host, and
// pages load nothing from other origins.
package site

import (
	"bytes"
	"fmt"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// Resolver maps a link or image destination as written in a Markdown
// source to the URL the page should use. ok false means the target is not
// part of the site: the link is dropped and its text kept.
type Resolver func(dest string) (url string, ok bool)

var md = goldmark.New(
	goldmark.WithExtensions(extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
		extension.Strikethrough),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	// Raw HTML in a source is left out (goldmark's default): pages carry
	// only what the renderer writes.
)

// Markdown renders src to HTML, passing every link and image destination
// through resolve.
func Markdown(src []byte, resolve Resolver) (string, error) {
	doc := md.Parser().Parse(text.NewReader(src))
	var unlink []ast.Node
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch l := n.(type) {
		case *ast.Link:
			if u, ok := resolve(string(l.Destination)); ok {
				l.Destination = []byte(u)
			} else {
				unlink = append(unlink, l)
			}
		case *ast.AutoLink:
			// <scheme:...> links name their target in the text: keep them
			// only when the resolver keeps them as they are.
			if l.AutoLinkType == ast.AutoLinkURL {
				u := string(l.URL(src))
				if got, ok := resolve(u); !ok || got != u {
					unlink = append(unlink, l)
				}
			}
		case *ast.Image:
			if u, ok := resolve(string(l.Destination)); ok {
				l.Destination = []byte(u)
			} else {
				unlink = append(unlink, l)
			}
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		return "", err
	}
	// A dropped link or image leaves its text (an image's alt text) in place.
	for _, n := range unlink {
		parent := n.Parent()
		if a, ok := n.(*ast.AutoLink); ok {
			parent.ReplaceChild(parent, n, ast.NewString(a.Label(src)))
			continue
		}
		for c := n.FirstChild(); c != nil; {
			next := c.NextSibling()
			parent.InsertBefore(parent, n, c)
			c = next
		}
		parent.RemoveChild(parent, n)
	}
	var buf bytes.Buffer
	if err := md.Renderer().Render(&buf, src, doc); err != nil {
		return "", fmt.Errorf("rendering Markdown: %w", err)
	}
	return buf.String(), nil
}
