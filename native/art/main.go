// Command art trains and evaluates image classifiers for attributional
// robustness: natural, PGD and ART (Attributional Robustness Training, Singh
// et al., ECCV 2020) training on the built-in shapes dataset or the paper's
// datasets, and evaluation of accuracy, adversarial robustness and the
// alignment of input gradients with the image.
//
// Usage:
//
//	art demo  [flags]   the main job: train natural and ART models, evaluate both
//	art train [flags]   train one model
//	art eval  [flags]   evaluate checkpoints (attributional and adversarial robustness)
//	art explain, art attack  one image: attribution map, or an attack on it
//	art localize [flags] weakly supervised localization and segmentation from attribution maps
//	art bench [flags]   the PyTorch peer's workloads
//	art publish [flags] write a checkpoint for shipping (weights only, float16, eval numbers)
//	art site [flags]    write the showcase site's pages beside the demonstrator
//	art serve [flags]   serve the static showcase site locally
//	art explain [flags] attribution map of one image
//	art attack [flags]  attack one image's attribution map or prediction
//
// Run "art COMMAND -help" for the flags of a command.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	_ "github.com/gomlx/compute/gobackend"
)

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "train natural and ART models on the built-in dataset and evaluate them", runDemo},
		{"train", "train a model (natural, PGD or ART)", runTrain},
		{"eval", "evaluate checkpoints: accuracy, PGD accuracy, gradient alignment, attributional robustness", runEval},
		{"explain", "predict one image and write its attribution map (PNG overlay and .npy)", runExplain},
		{"attack", "attack one image's attribution map (IFIA, mass-centre, targeted) or its prediction (PGD)", runAttack},
		{"localize", "boxes and masks from attribution maps: GT-known/Top-1 Loc, Top-1 Seg (the paper's Table 2)", runLocalize},
		{"bench", "measure the workloads of the PyTorch peer benchmark (images/s, GFLOP/s)", runBench},
		{"publish", "write a checkpoint for shipping: weights only, float16, evaluation numbers in its metadata", runPublish},
		{"site", "write the showcase site's pages (landing, results, models, docs) beside the demonstrator", runSite},
		{"serve", "serve the in-browser demonstrator's static site (./build.sh web) on 127.0.0.1", runServe},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "art: attributional robustness training and evaluation")
	fmt.Fprintln(w, "\nUsage: art COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'art COMMAND -help' for a command's flags.")
	fmt.Fprintln(w, "The compute backend is GoMLX's pure-Go backend unless GOMLX_BACKEND selects another.")
}

// run executes one command line and turns panics (GoMLX reports graph and
// shape errors by panicking) into errors.
func run(args []string, stdout, stderr io.Writer) (err error) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		return guard(c.name, stderr, func() error { return c.run(args[1:], stdout, stderr) })
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

// guard runs a command and turns a panic into a one-line error naming the
// command; with ART_DEBUG set, the panic's stack goes to stderr first.
func guard(name string, stderr io.Writer, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if os.Getenv("ART_DEBUG") != "" {
				fmt.Fprintf(stderr, "%v\n%s\n", r, debug.Stack())
			}
			err = fmt.Errorf("%s: internal error: %s (set ART_DEBUG=1 for the stack)", name, oneLine(fmt.Sprint(r)))
		}
	}()
	return f()
}

// oneLine joins the non-blank lines of s with " | ".
func oneLine(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, " | ")
}

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(os.Stderr, "art:", err)
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "art:", err)
		os.Exit(1)
	}
}
