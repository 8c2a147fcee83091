package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/artrobust/art/native/site"
)

func runSite(args []string, stdout, stderr io.Writer) error {
	o := site.Options{Root: ".", Dist: "dist"}
	fs := flag.NewFlagSet("art site", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Root, "root", o.Root, "repository root (README.md, docs/, web/pages/, weights/)")
	fs.StringVar(&o.Dist, "dist", o.Dist, "site folder, with the demonstrator built into it (./build.sh web)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: art site [-root DIR] [-dist DIR]\n\nWrites the showcase site's pages beside the demonstrator: index.html (landing page),\nresults.html (from weights/results/), models.html (model cards of weights/*.ckpt) and docs/.\n./build.sh site runs it after building the demonstrator.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("site: unexpected argument %q", fs.Arg(0))
	}
	pages, err := site.Build(o)
	if err != nil {
		return err
	}
	for _, p := range pages {
		fmt.Fprintf(stdout, "%s  %s\n", p.Path, p.Title)
	}
	return nil
}
