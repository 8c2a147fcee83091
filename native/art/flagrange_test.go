package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

var errFlagsChecked = errors.New("flags checked")

// numericFlags lists the flags of fs whose values are numbers or lists of
// numbers.
func numericFlags(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		switch f.Value.(type) {
		case *fraction, *intList, *fracList, percentiles:
			names = append(names, f.Name)
			return
		}
		if g, ok := f.Value.(flag.Getter); ok {
			switch g.Get().(type) {
			case int, int64, uint, uint64, float64:
				names = append(names, f.Name)
			}
		}
	})
	return names
}

// Every numeric flag of every command, given NaN, ±Inf, a negative number,
// zero or 2^63-1, either passes the checks or is refused before any work
// with one line naming the flag, never an internal error: the issue's
// -epochs 9223372036854775807 (printed "-4 steps" and wrote an untrained
// checkpoint), -lr-factor -1, -lr Inf, NaN anywhere, -eval-n -1, -crop-pad,
// -restarts, -random-draws, -ig-steps of 2^63-1, and negative -jitter,
// -rotate, -translate, -crop-pad, -ckpt-every, -max-steps. Not finite is
// never accepted; a run with a value that passes is the command's own
// business (TestBadCommandLinesGiveOneLineErrors, the commands' tests).
func TestEveryNumericFlagIsCheckedBeforeAnyWork(t *testing.T) {
	var checked *flag.FlagSet
	stopAfterFlags = func(fs *flag.FlagSet) error { checked = fs; return errFlagsChecked }
	defer func() { stopAfterFlags = nil }()
	cases := 0
	for _, c := range commands() {
		checked = nil
		if err := run([]string{c.name}, io.Discard, io.Discard); !errors.Is(err, errFlagsChecked) || checked == nil {
			t.Fatalf("art %s with its defaults: %v, want its flags checked", c.name, err)
		}
		for _, name := range numericFlags(checked) {
			for _, v := range []string{"NaN", "Inf", "-Inf", "+Inf", "-1", "-0.5", "0", "9223372036854775807", "1e308"} {
				cases++
				args := []string{c.name, "-" + name, v}
				var stderr bytes.Buffer
				err := run(args, io.Discard, &stderr)
				if errors.Is(err, errFlagsChecked) {
					if strings.Contains(strings.ToLower(v), "nan") || strings.Contains(v, "Inf") {
						t.Errorf("art %s -%s %s: accepted", c.name, name, v)
					}
					continue
				}
				msg := ""
				if err != nil {
					msg = err.Error()
				}
				if err == nil || strings.Contains(msg, "\n") || !strings.Contains(msg, "-"+name) ||
					strings.Contains(msg, "internal error") || len(msg) > 300 {
					t.Errorf("art %s -%s %s: error %q, want one short line naming -%s", c.name, name, v, msg, name)
				}
				if stderr.Len() > 0 {
					t.Errorf("art %s -%s %s: printed %q besides the error", c.name, name, v, stderr.String())
				}
			}
		}
	}
	t.Logf("%d cases", cases)
	if cases < 500 {
		t.Errorf("only %d cases: the commands' flags were not all found", cases)
	}
}

// The values, with the exact errors.
func TestFlagRangeErrorsSayWhatIsWanted(t *testing.T) {
	stopAfterFlags = func(*flag.FlagSet) error { return errFlagsChecked }
	defer func() { stopAfterFlags = nil }()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "-epochs", "9223372036854775807"}, "-epochs 9223372036854775807: want an integer from 1 to 1000000"},
		{[]string{"train", "-lr-factor", "-1"}, "-lr-factor -1: want a number above 0, at most 1"},
		{[]string{"train", "-lr", "Inf"}, "-lr +Inf: want a number above 0, finite"},
		{[]string{"train", "-weight-decay", "NaN"}, "-weight-decay NaN: want a number from 0 to 1"},
		{[]string{"train", "-momentum", "NaN"}, "-momentum NaN: want a number from 0, below 1"},
		{[]string{"train", "-lambda", "NaN"}, "-lambda NaN: want a number from 0, finite"},
		{[]string{"train", "-beta", "NaN"}, "-beta NaN: want a number above 0, finite"},
		{[]string{"train", "-eval-n", "-1"}, "-eval-n -1: want an integer from 0 to 1048576"},
		{[]string{"train", "-crop-pad", "9223372036854775807"}, "-crop-pad 9223372036854775807: want an integer from 0 to 512"},
		{[]string{"train", "-jitter", "-1"}, "-jitter -1: want a number from 0 to 1"},
		{[]string{"train", "-ckpt-every", "-1"}, "-ckpt-every -1: want an integer from 0 to 1073741824"},
		{[]string{"eval", "-restarts", "9223372036854775807"}, "-restarts 9223372036854775807: want an integer from 1 to 1000"},
		{[]string{"eval", "-random-draws", "9223372036854775807"}, "-random-draws"},
		{[]string{"explain", "-ig-steps", "9223372036854775807"}, "-ig-steps 9223372036854775807: want an integer from 1 to 10000"},
		{[]string{"eval", "-eps", "NaN"}, `invalid value "NaN" for flag -eps: not a finite number: "NaN" (art eval -h lists the flags)`},
		{[]string{"eval", "-pgd-sweep", "1/255,-2/255"}, "-pgd-sweep"},
		{[]string{"localize", "-percentile", "50,NaN"}, "-percentile"},
	} {
		err := run(tc.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
	}
}
