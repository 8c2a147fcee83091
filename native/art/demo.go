package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"
)

// DemoOptions size the main job.
type DemoOptions struct {
	Out           string
	TrainN        int
	NaturalEpochs int
	ARTSteps      int
	Seed          uint64
	NoProgress    bool
}

func runDemo(args []string, stdout, stderr io.Writer) error {
	// Sized for a few minutes per model on 2 cores. Natural training sits on
	// a plateau near chance for one to two epochs (how long varies with the
	// seed and the machine's float order) and then climbs to about 92%; 8
	// epochs leave room for that. An ART step costs ~17x a natural one, so
	// the demo fine-tunes the natural model for one epoch (156 steps of 64,
	// ~4 minutes).
	o := DemoOptions{Out: "runs/demo", TrainN: 10000, NaturalEpochs: 8, ARTSteps: 156, Seed: 1}
	fs := flag.NewFlagSet("art demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Out, "out", o.Out, "output directory")
	fs.IntVar(&o.TrainN, "train-n", o.TrainN, "training images of the built-in shapes dataset")
	fs.IntVar(&o.NaturalEpochs, "natural-epochs", o.NaturalEpochs, "epochs of natural training")
	fs.IntVar(&o.ARTSteps, "art-steps", o.ARTSteps, "steps (batches of 64) of ART fine-tuning from the natural model")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed")
	fs.BoolVar(&o.NoProgress, "no-progress", o.NoProgress, "no progress bars")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: art demo [flags]\n\nTrains a natural WRN-10-1 on the built-in shapes dataset, fine-tunes a copy with ART,\nand evaluates both (clean and PGD accuracy, alignment of input gradients with the image).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	return Demo(o, stdout, stderr)
}

// Demo runs the main job.
func Demo(o DemoOptions, stdout, stderr io.Writer) error {
	start := time.Now()
	nat := defaultTrainOptions()
	nat.Out = filepath.Join(o.Out, "natural")
	nat.TrainN, nat.TestN, nat.Seed, nat.NoProgress = o.TrainN, 1000, o.Seed, o.NoProgress
	nat.Epochs = o.NaturalEpochs
	nat.EvalN, nat.EvalPGDN = 500, 100
	fmt.Fprintln(stdout, "== natural training")
	natRes, err := Train(nat, stdout, stderr)
	if err != nil {
		return err
	}

	art := nat
	art.Out = filepath.Join(o.Out, "art")
	art.Method = "art"
	art.Init = natRes.Checkpoint
	perEpoch := max(o.TrainN/art.Batch, 1)
	art.Epochs = max((o.ARTSteps+perEpoch-1)/perEpoch, 1)
	art.MaxSteps = o.ARTSteps
	art.LR, art.Warmup = 0.01, 0
	art.LREpochs = intList{1}
	fmt.Fprintln(stdout, "\n== ART fine-tuning from the natural model")
	artRes, err := Train(art, stdout, stderr)
	if err != nil {
		return err
	}

	fmt.Fprintln(stdout, "\n== evaluation")
	ev := defaultEvalOptions()
	ev.Ckpts, ev.AccN, ev.PGDN, ev.PGDSteps = []string{natRes.Checkpoint, artRes.Checkpoint}, 1000, 200, 20
	ev.SweepN, ev.N, ev.IGSteps, ev.Steps = 100, 30, 16, 20
	ev.Seed, ev.Report, ev.NoProgress = o.Seed, filepath.Join(o.Out, "report"), o.NoProgress
	reports, err := Evaluate(ev, stdout, stderr)
	if err != nil {
		return err
	}
	if err := writeEvalReport(ev, reports, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\ndemo finished in %s; results in %s\n", time.Since(start).Round(time.Second), o.Out)
	return nil
}
