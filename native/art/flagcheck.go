package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/artrobust/art/shared/model"
)

// flagValue is a numeric flag's name (with its dash) and value, for errors
// that name the flag at fault.
type flagValue struct {
	name  string
	value float64
}

// notNegative returns an error naming the first flag whose value is
// negative (or NaN).
func notNegative(flags ...flagValue) error {
	for _, f := range flags {
		if !(f.value >= 0) {
			return fmt.Errorf("%s %g: must not be negative", f.name, f.value)
		}
	}
	return nil
}

// checkTopK refuses a -k that is negative or larger than the number of
// pixels of an h x w image (0 means the default).
func checkTopK(k, h, w int) error {
	if k < 0 || k > h*w {
		return fmt.Errorf("-k %d: want 0 (the default) to %d, the number of pixels of the %dx%d images", k, h*w, h, w)
	}
	return nil
}

// flagRange is the range of a numeric flag's values; every float must also
// be finite.
type flagRange struct {
	min, max float64
	minOpen  bool // min itself is excluded
	maxOpen  bool // max itself is excluded
}

const (
	maxCount  = 1 << 20 // images, steps, samples: beyond it a run would take months or all memory
	maxSteps  = 1 << 30 // optimizer steps of a run, checkpoint intervals
	maxFloat  = math.MaxFloat64
	maxPixels = float64(model.MaxInputSize)
)

// flagRanges are the ranges of the numeric flags by name (the same name
// means the same thing in every command), or by "command -name" where a
// command's flag differs. A numeric flag not listed takes [0, maxCount] for
// an integer and [0, max float] for a float; uint64 flags (seeds) take any
// value.
var flagRanges = map[string]flagRange{
	// counts that must be at least 1
	"epochs": {min: 1, max: 1_000_000}, "natural-epochs": {min: 1, max: 1_000_000},
	"batch": {min: 1, max: 1 << 16}, "attack-batch": {min: 1, max: 1 << 16},
	"ig-steps": {min: 1, max: 10_000}, "samples": {min: 1, max: 10_000}, "gradshap-samples": {min: 1, max: 10_000},
	"restarts": {min: 1, max: 1000}, "random-draws": {min: 1, max: 10_000}, "sens-samples": {min: 1, max: 10_000},
	"iters": {min: 1, max: maxCount}, "bench -conv-parts": {min: 1, max: 1024}, "conv-parts": {max: 1024},
	"size": {min: 1, max: maxPixels}, "image-size": {min: 1, max: maxPixels},
	"filter": {min: 1, max: 255}, "fold": {min: 1, max: 3},
	"spatial-rotations": {max: 1000}, "spatial-translations": {max: 1000},
	// steps of a whole run and intervals
	"warmup": {max: maxSteps}, "ckpt-every": {max: maxSteps}, "max-steps": {max: maxSteps},
	"crop-pad": {max: maxPixels}, "nan-retries": {max: 1000}, "chunk": {max: 1 << 16},
	"target": {min: -1, max: model.MaxClasses},
	// floats: rates and factors
	"lr": {min: 0, minOpen: true, max: maxFloat}, "lr-factor": {min: 0, minOpen: true, max: 1},
	"momentum": {max: 1, maxOpen: true}, "weight-decay": {max: 1}, "head-lr-factor": {max: 1e6},
	"nan-lr-factor": {min: 0, minOpen: true, max: 1, maxOpen: true},
	"beta":          {min: 0, minOpen: true, max: maxFloat},
	"adam-beta1":    {max: 1, maxOpen: true}, "adam-beta2": {max: 1, maxOpen: true},
	"adam-eps": {min: 0, minOpen: true, max: 1}, "ig-approx": {min: 1, max: 10_000},
	// floats: augmentation, thresholds, noise
	"jitter": {max: 1}, "rotate": {max: 180}, "translate": {max: maxPixels}, "project": {max: 0.5},
	"threshold": {max: 1}, "sigma": {max: 1000}, "gradshap-sigma": {max: 1000}, "sens-radius": {max: 1},
}

// checkNumbers refuses, with one line naming the flag, a numeric flag whose
// value is not finite or lies outside its range (flagRanges), before a
// command does any work.
func checkNumbers(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		g, ok := f.Value.(flag.Getter)
		if err != nil || !ok {
			return
		}
		var v float64
		isInt := false
		switch x := g.Get().(type) {
		case int:
			v, isInt = float64(x), true
		case float64:
			v = x
		default:
			return // uint64 seeds, bools, strings, lists (checked by their Set)
		}
		r, ok := flagRanges[strings.TrimPrefix(fs.Name(), "art ")+" -"+f.Name]
		if !ok {
			r, ok = flagRanges[f.Name]
		}
		if !ok {
			r = flagRange{max: maxFloat}
			if isInt {
				r.max = maxCount
			}
		}
		if !(v >= r.min && v <= r.max) || (r.minOpen && v == r.min) || (r.maxOpen && v == r.max) {
			err = fmt.Errorf("-%s %s: %s", f.Name, f.Value.String(), r.describe(isInt))
		}
	})
	return err
}

// describe says what a flag in the range takes.
func (r flagRange) describe(isInt bool) string {
	num := func(v float64) string {
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	what := "a number"
	if isInt {
		what = "an integer"
	}
	switch {
	case r.max == maxFloat && r.minOpen:
		return fmt.Sprintf("want %s above %s, finite", what, num(r.min))
	case r.max == maxFloat:
		return fmt.Sprintf("want %s from %s, finite", what, num(r.min))
	case r.minOpen && r.maxOpen:
		return fmt.Sprintf("want %s between %s and %s, both excluded", what, num(r.min), num(r.max))
	case r.minOpen:
		return fmt.Sprintf("want %s above %s, at most %s", what, num(r.min), num(r.max))
	case r.maxOpen:
		return fmt.Sprintf("want %s from %s, below %s", what, num(r.min), num(r.max))
	}
	return fmt.Sprintf("want %s from %s to %s", what, num(r.min), num(r.max))
}

// stopAfterFlags, when set (by tests), is called once a command's flags
// have been parsed and checked, and its error returned instead of running
// the command: the flag checks can then be tried in process, in
// milliseconds, for every flag of every command.
var stopAfterFlags func(fs *flag.FlagSet) error

// parseFlags parses a command's flags and checks every numeric one
// (checkNumbers). -h or -help prints the command's usage; a flag that does
// not parse is one error naming the flag and where the list is ("art eval
// -h"), not the usage followed by the error.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		if fs.Usage != nil {
			fs.Usage()
		} else {
			fmt.Fprintf(stderr, "Usage of %s:\n", fs.Name())
			fs.PrintDefaults()
		}
		return err
	case err != nil:
		return fmt.Errorf("%w (%s -h lists the flags)", err, fs.Name())
	}
	if err := checkNumbers(fs); err != nil {
		return err
	}
	if stopAfterFlags != nil {
		return stopAfterFlags(fs)
	}
	return nil
}
