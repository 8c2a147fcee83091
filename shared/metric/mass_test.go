package metric

import (
	"math"
	"testing"
)

func TestCenterOfMassHandComputed(t *testing.T) {
	for _, c := range []struct {
		name     string
		m        []float32
		h, w     int
		row, col float64
	}{
		{"single pixel", []float32{0, 0, 0, 0, 0, 2}, 2, 3, 1, 2},
		{"uniform", []float32{1, 1, 1, 1, 1, 1}, 2, 3, 0.5, 1},
		// Row 0 only; columns 0 and 2 with weights 1 and 3: (0*1 + 2*3)/4.
		{"weighted", []float32{1, 0, 3, 0, 0, 0}, 2, 3, 0, 1.5},
	} {
		r, col, err := CenterOfMass(c.m, c.h, c.w)
		if err != nil {
			t.Fatal(err)
		}
		if r != c.row || col != c.col {
			t.Errorf("%s: CenterOfMass = (%v, %v), want (%v, %v)", c.name, r, col, c.row, c.col)
		}
	}
}

func TestCenterShiftOfTwoPointMasses(t *testing.T) {
	const h, w = 4, 5
	a, b := make([]float32, h*w), make([]float32, h*w)
	a[0] = 1       // (0, 0)
	b[3*w+4] = 0.5 // (3, 4)
	got, err := CenterShift(a, b, h, w)
	if err != nil {
		t.Fatal(err)
	}
	if got != 5 {
		t.Errorf("CenterShift = %v, want 5", got)
	}
}

func TestCenterOfMassZeroMassIsNaN(t *testing.T) {
	r, c, err := CenterOfMass(make([]float32, 6), 2, 3)
	if err != nil || !math.IsNaN(r) || !math.IsNaN(c) {
		t.Errorf("zero map: (%v, %v, %v), want (NaN, NaN, nil)", r, c, err)
	}
}

func TestCenterOfMassRejectsBadInput(t *testing.T) {
	for _, m := range [][]float32{
		{1, -1, 0, 0},
		{1, float32(math.NaN()), 0, 0},
		{1, float32(math.Inf(1)), 0, 0},
		{1, 2, 3},
	} {
		if _, _, err := CenterOfMass(m, 2, 2); err == nil {
			t.Errorf("no error for %v as a 2x2 map", m)
		}
	}
	if _, err := CenterShift([]float32{1, 1, 1, 1}, []float32{1, -1, 1, 1}, 2, 2); err == nil {
		t.Error("CenterShift: no error for a negative value")
	}
}
