package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
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

// parseFlags parses a command's flags. -h or -help prints the command's
// usage; a flag that does not parse is one error naming the flag and where
// the list is ("art eval -h"), not the usage followed by the error.
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
	return nil
}
