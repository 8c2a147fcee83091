package main

import "fmt"

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
