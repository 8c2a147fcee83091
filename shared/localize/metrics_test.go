package localize

import (
	"math"
	"testing"

	"github.com/artrobust/art/shared/data"
)

// A map equal to the ground-truth mask localizes and segments every image
// perfectly, with or without the default filter.
func TestMapEqualToMaskLocalizesPerfectly(t *testing.T) {
	d, err := data.Shapes(data.ShapesConfig{N: 40, Seed: 3, Split: "test"})
	if err != nil {
		t.Fatal(err)
	}
	h, w := d.Height, d.Width
	for _, o := range []Options{{Low: 0, High: 100, Filter: 1}, DefaultOptions()} {
		samples := make([]Sample, d.Len())
		for i := range samples {
			attr := make([]float32, h*w*3)
			for p, v := range d.Mask(i) {
				for k := range 3 {
					attr[p*3+k] = float32(v) * float32(1-2*(k%2)) // signs do not matter
				}
			}
			heat, err := Heat(attr, h, w, 3, o)
			if err != nil {
				t.Fatal(err)
			}
			samples[i] = Sample{Heat: heat, Box: d.Boxes[i], Mask: d.Mask(i), Correct: i%4 != 0}
		}
		if o.Filter == 1 {
			m, err := Score(samples, h, w, 0.5, All)
			if err != nil {
				t.Fatal(err)
			}
			if m.GTKnownLoc != 1 || m.MeanBoxIoU != 1 || *m.MeanMaskIoU != 1 || m.Top1Acc != 0.75 || m.Top1Loc != 0.75 || *m.Top1Seg != 0.75 {
				t.Errorf("unfiltered mask maps: %+v (seg %v, mask IoU %v)", m, *m.Top1Seg, *m.MeanMaskIoU)
			}
			continue
		}
		// The 3x3 mean filter spreads the mask by at most one pixel at
		// threshold 0.2: still localized, IoU well above 0.5.
		m, err := Score(samples, h, w, 0.2, Largest)
		if err != nil {
			t.Fatal(err)
		}
		if m.GTKnownLoc != 1 || m.MeanBoxIoU < 0.6 || *m.MeanMaskIoU < 0.5 {
			t.Errorf("filtered mask maps: %+v (mask IoU %v)", m, *m.MeanMaskIoU)
		}
	}
}

// square returns an h*w heat map with value v on the square [x0,x1)x[y0,y1).
func square(heat []float32, w, x0, y0, x1, y1 int, v float32) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			heat[y*w+x] = v
		}
	}
}

// Hand-built images: each map has a bright core (value 1) on the object and
// a dimmer halo (0.5) around it, so thresholds below 0.5 give a box of the
// halo and thresholds from 0.5 give the object's box.
func haloSamples(n int) []Sample {
	const h, w = 16, 16
	out := make([]Sample, n)
	for i := range out {
		heat := make([]float32, h*w)
		square(heat, w, 0, 0, 16, 16, 0.5)
		square(heat, w, 4, 4, 8, 8, 1)
		out[i] = Sample{Heat: heat, Box: data.Box{X0: 4, Y0: 4, X1: 8, Y1: 8}, Correct: i%2 == 0}
	}
	return out
}

func TestScoreHandBuiltMaps(t *testing.T) {
	s := haloSamples(4)
	m, err := Score(s, 16, 16, 0.3, Largest)
	if err != nil {
		t.Fatal(err)
	}
	if m.GTKnownLoc != 0 || math.Abs(m.MeanBoxIoU-16.0/256) > 1e-12 || m.Top1Acc != 0.5 || m.Top1Seg != nil {
		t.Errorf("threshold 0.3: %+v", m)
	}
	m, err = Score(s, 16, 16, 0.5, Largest)
	if err != nil {
		t.Fatal(err)
	}
	if m.GTKnownLoc != 1 || m.Top1Loc != 0.5 || m.MeanBoxIoU != 1 {
		t.Errorf("threshold 0.5: %+v", m)
	}
	if _, err := Score(nil, 16, 16, 0.5, Largest); err == nil {
		t.Error("no error for no images")
	}
	s[1].Heat = s[1].Heat[:10]
	if _, err := Score(s, 16, 16, 0.5, Largest); err == nil {
		t.Error("no error for a heat map of the wrong size")
	}
}

// The sweep picks the lowest threshold with the best validation GT-known
// Loc (0.5 here: 0.5..0.95 all keep just the core) and reports the test
// images at it.
func TestSweepPicksBestValidationThreshold(t *testing.T) {
	val, test := haloSamples(3), haloSamples(5)
	// Move the test images' object so that the validation choice is not
	// the test optimum: at 0.5 the test boxes miss.
	for i := range test {
		test[i].Box = data.Box{X0: 0, Y0: 0, X1: 16, Y1: 16}
	}
	r, err := Sweep(val, test, 16, 16, SweepThresholds(), Largest)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Validation) != 20 || r.Validation[19].Threshold != 0.95 {
		t.Fatalf("%d validation points", len(r.Validation))
	}
	if r.Best != 0.5 || r.Test.Threshold != 0.5 || r.Test.N != 5 {
		t.Errorf("best %v, test %+v; want 0.5", r.Best, r.Test)
	}
	if r.Test.GTKnownLoc != 0 || math.Abs(r.Test.MeanBoxIoU-16.0/256) > 1e-12 {
		t.Errorf("test at 0.5: %+v", r.Test)
	}
	if r.Validation[9].GTKnownLoc != 0 || r.Validation[10].GTKnownLoc != 1 {
		t.Errorf("validation at 0.45 and 0.5: %+v %+v", r.Validation[9], r.Validation[10])
	}
}
