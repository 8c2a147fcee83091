package localize

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/artrobust/art/shared/data"
)

// refComponents labels 8-connected components with a union-find over all
// pixel pairs that touch: an algorithm independent of Components' flood fill.
func refComponents(mask []uint8, h, w int) []int {
	parent := make([]int, h*w)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for y := range h {
		for x := range w {
			if mask[y*w+x] == 0 {
				continue
			}
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					yy, xx := y+dy, x+dx
					if yy < 0 || yy >= h || xx < 0 || xx >= w || mask[yy*w+xx] == 0 {
						continue
					}
					parent[find(y*w+x)] = find(yy*w + xx)
				}
			}
		}
	}
	roots := make([]int, h*w)
	for i := range roots {
		roots[i] = -1
		if mask[i] != 0 {
			roots[i] = find(i)
		}
	}
	return roots
}

// checkComponents compares Components with the union-find reference: the
// same partition of the pixels, and sizes that count each component.
func checkComponents(t *testing.T, mask []uint8, h, w int) {
	t.Helper()
	labels, sizes := Components(mask, h, w)
	ref := refComponents(mask, h, w)
	toRef := map[int32]int{}
	fromRef := map[int]int32{}
	count := make([]int, len(sizes))
	for i := range mask {
		if (labels[i] == 0) != (mask[i] == 0) {
			t.Fatalf("%dx%d pixel %d: label %d for mask value %d", h, w, i, labels[i], mask[i])
		}
		if mask[i] == 0 {
			continue
		}
		l := labels[i]
		if l < 1 || int(l) > len(sizes) {
			t.Fatalf("pixel %d: label %d outside 1..%d", i, l, len(sizes))
		}
		count[l-1]++
		if r, ok := toRef[l]; ok && r != ref[i] {
			t.Fatalf("pixel %d: component %d spans two reference components", i, l)
		}
		if q, ok := fromRef[ref[i]]; ok && q != l {
			t.Fatalf("pixel %d: reference component split into %d and %d", i, q, l)
		}
		toRef[l], fromRef[ref[i]] = ref[i], l
	}
	if !slices.Equal(count, sizes) {
		t.Fatalf("sizes %v, counted %v", sizes, count)
	}
}

func randomMask(r *rand.Rand, n int, p float64) []uint8 {
	m := make([]uint8, n)
	for i := range m {
		if r.Float64() < p {
			m[i] = 1
		}
	}
	return m
}

func TestComponentsMatchUnionFindOnRandomMasks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		h, w := 1+r.IntN(20), 1+r.IntN(20)
		checkComponents(t, randomMask(r, h*w, []float64{0.1, 0.3, 0.45, 0.6, 0.9}[trial%5]), h, w)
	}
}

// Diagonal neighbours join a component (4-connectivity would give 3 here),
// and pixels two apart do not.
func TestComponentsAreEightConnected(t *testing.T) {
	mask := []uint8{
		1, 0, 0, 0, 1,
		0, 1, 0, 0, 0,
		0, 0, 1, 0, 1,
	}
	labels, sizes := Components(mask, 3, 5)
	if !slices.Equal(sizes, []int{3, 1, 1}) {
		t.Fatalf("sizes %v, want [3 1 1]", sizes)
	}
	if labels[0] != 1 || labels[6] != 1 || labels[12] != 1 || labels[4] != 2 || labels[14] != 3 {
		t.Fatalf("labels %v", labels)
	}
}

func TestLocateBoxesLargestComponentOrAllPixels(t *testing.T) {
	// A 3-pixel blob at columns 1..2, rows 1..2 and a lone pixel at (6, 4).
	h, w := 6, 8
	heat := make([]float32, h*w)
	heat[1*w+1], heat[1*w+2], heat[2*w+2] = 1, 0.9, 0.5
	heat[4*w+6] = 0.8
	heat[5*w+0] = 0.1 // below 0.2 of the maximum
	box, mask := Locate(heat, h, w, 0.2, Largest)
	if want := (data.Box{X0: 1, Y0: 1, X1: 3, Y1: 3}); box != want {
		t.Errorf("largest: box %+v, want %+v", box, want)
	}
	if got := slices.Index(mask, 0); got != 0 || mask[5*w] != 0 || mask[4*w+6] != 1 {
		t.Errorf("mask %v: want the four pixels above 0.2", mask)
	}
	box, _ = Locate(heat, h, w, 0.2, All)
	if want := (data.Box{X0: 1, Y0: 1, X1: 7, Y1: 5}); box != want {
		t.Errorf("all: box %+v, want %+v", box, want)
	}
	box, mask = Locate(make([]float32, h*w), h, w, 0.2, Largest)
	if box != (data.Box{}) || slices.Contains(mask, 1) {
		t.Errorf("zero map: box %+v, mask %v; want empty", box, mask)
	}
}

func TestThresholdIsStrictlyAboveFractionOfMax(t *testing.T) {
	heat := []float32{0, 0.2, 0.21, 1, 0.5}
	if got := Threshold(heat, 0.2); !slices.Equal(got, []uint8{0, 0, 1, 1, 1}) {
		t.Errorf("0.2: %v", got)
	}
	if got := Threshold(heat, 0); !slices.Equal(got, []uint8{0, 1, 1, 1, 1}) {
		t.Errorf("0: %v", got)
	}
	if got := Threshold([]float32{-1, 0}, 0.5); slices.Contains(got, 1) {
		t.Errorf("non-positive map: %v, want empty", got)
	}
}

func TestMaskIoUHandValues(t *testing.T) {
	cases := []struct {
		a, b []uint8
		want float64
	}{
		{[]uint8{1, 1, 0, 0}, []uint8{0, 1, 1, 0}, 1.0 / 3},
		{[]uint8{1, 1, 1, 1}, []uint8{1, 0, 0, 0}, 0.25},
		{[]uint8{1, 0}, []uint8{1, 0}, 1},
		{[]uint8{0, 0}, []uint8{0, 0}, 0},
		{[]uint8{2, 0}, []uint8{1, 0}, 1},
	}
	for _, c := range cases {
		if got := MaskIoU(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("MaskIoU(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// The box IoU that Score uses, with the exclusive upper bounds that Locate
// produces: a 2x2 box and a 2x2 box shifted by one column share 2 of 6
// pixels.
func TestBoxIoUOfLocatedBoxesHandValues(t *testing.T) {
	a := BoundingBox(4, 4, func(i int) bool { return i == 0 || i == 5 })
	b := BoundingBox(4, 4, func(i int) bool { return i == 1 || i == 6 })
	if a != (data.Box{X0: 0, Y0: 0, X1: 2, Y1: 2}) || b != (data.Box{X0: 1, Y0: 0, X1: 3, Y1: 2}) {
		t.Fatalf("boxes %+v %+v", a, b)
	}
	if got := a.IoU(b); math.Abs(got-2.0/6) > 1e-12 {
		t.Errorf("IoU %v, want 1/3", got)
	}
	one := BoundingBox(4, 4, func(i int) bool { return i == 15 })
	if one != (data.Box{X0: 3, Y0: 3, X1: 4, Y1: 4}) || one.Area() != 1 {
		t.Errorf("single pixel box %+v", one)
	}
}

func TestMeanFilterMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{1, 3, 5, 7} {
		h, w := 5+r.IntN(6), 5+r.IntN(6)
		m := make([]float32, h*w)
		for i := range m {
			m[i] = r.Float32()
		}
		got := MeanFilter(m, h, w, size)
		for y := range h {
			for x := range w {
				var s float64
				n := 0
				for yy := y - size/2; yy <= y+size/2; yy++ {
					for xx := x - size/2; xx <= x+size/2; xx++ {
						if yy >= 0 && yy < h && xx >= 0 && xx < w {
							s += float64(m[yy*w+xx])
							n++
						}
					}
				}
				if want := s / float64(n); math.Abs(float64(got[y*w+x])-want) > 1e-6 {
					t.Fatalf("size %d (%d,%d): %v, want %v", size, x, y, got[y*w+x], want)
				}
			}
		}
	}
}

// The separable blur equals the direct 2-D convolution with the truncated
// Gaussian, renormalised over the pixels inside the image.
func TestGaussianBlurMatchesDirect2D(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	h, w, sigma := 9, 12, 1.3
	m := make([]float32, h*w)
	for i := range m {
		m[i] = r.Float32()
	}
	got := GaussianBlur(m, h, w, sigma)
	rad := int(math.Ceil(3 * sigma))
	for y := range h {
		for x := range w {
			var s, ws float64
			for yy := max(y-rad, 0); yy <= min(y+rad, h-1); yy++ {
				for xx := max(x-rad, 0); xx <= min(x+rad, w-1); xx++ {
					d2 := float64((yy-y)*(yy-y) + (xx-x)*(xx-x))
					k := math.Exp(-d2 / (2 * sigma * sigma))
					s += k * float64(m[yy*w+xx])
					ws += k
				}
			}
			if want := s / ws; math.Abs(float64(got[y*w+x])-want) > 1e-5 {
				t.Fatalf("(%d,%d): %v, want %v", x, y, got[y*w+x], want)
			}
		}
	}
	c := GaussianBlur(slices.Repeat([]float32{0.7}, h*w), h, w, 2)
	for i, v := range c {
		if math.Abs(float64(v)-0.7) > 1e-6 {
			t.Fatalf("constant map changed at %d: %v", i, v)
		}
	}
}

// With no filter, Heat is |map| averaged over channels, clipped at the 2nd
// and 98th percentiles computed by sorting (linear interpolation between
// order statistics) and rescaled to [0,1].
func TestHeatPercentilesMatchSorting(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	h, w, c := 7, 9, 3
	attr := make([]float32, h*w*c)
	for i := range attr {
		attr[i] = float32(r.NormFloat64())
	}
	heat, err := Heat(attr, h, w, c, Options{Low: 2, High: 98, Filter: 1})
	if err != nil {
		t.Fatal(err)
	}
	gray := make([]float64, h*w)
	for p := range gray {
		for k := range c {
			gray[p] += math.Abs(float64(attr[p*c+k])) / float64(c)
		}
	}
	sorted := slices.Clone(gray)
	slices.Sort(sorted)
	pct := func(p float64) float64 {
		rank := p / 100 * float64(len(sorted)-1)
		lo := math.Floor(rank)
		return sorted[int(lo)] + (rank-lo)*(sorted[int(math.Ceil(rank))]-sorted[int(lo)])
	}
	lo, hi := pct(2), pct(98)
	for p, g := range gray {
		want := min(max((g-lo)/(hi-lo), 0), 1)
		if math.Abs(float64(heat[p])-want) > 1e-5 {
			t.Fatalf("pixel %d: heat %v, want %v", p, heat[p], want)
		}
	}
}

func TestOptionsRejectBadSettings(t *testing.T) {
	bad := []Options{
		{Low: 50, High: 10, Filter: 3}, {Low: -1, High: 98, Filter: 3}, {Low: 2, High: 101, Filter: 3},
		{Low: 2, High: 98, Filter: 2}, {Low: 2, High: 98, Filter: 0}, {Low: 2, High: 98, Filter: 3, Sigma: -1},
		{Low: 2, High: 98, Filter: 3, Sigma: math.NaN()},
	}
	for _, o := range bad {
		if _, err := Heat(make([]float32, 12), 2, 2, 3, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if _, err := Heat(make([]float32, 11), 2, 2, 3, DefaultOptions()); err == nil {
		t.Error("no error for a map of the wrong size")
	}
	if _, err := ParseBoxMode("biggest"); err == nil {
		t.Error("no error for an unknown box mode")
	}
	for _, m := range []BoxMode{Largest, All} {
		if got, err := ParseBoxMode(m.String()); err != nil || got != m {
			t.Errorf("ParseBoxMode(%q) = %v, %v", m, got, err)
		}
	}
}

// FuzzLocate checks Locate's invariants on arbitrary maps: the largest-
// component box lies inside the all-pixels box, which is the tight bound of
// the mask, and the components agree with the union-find reference.
func FuzzLocate(f *testing.F) {
	f.Add(uint8(4), uint8(5), []byte{0, 200, 3, 255, 9, 9, 9, 0, 1, 100, 100, 100, 0, 0, 0, 250, 0, 0, 0, 0}, uint8(51))
	f.Add(uint8(1), uint8(1), []byte{7}, uint8(0))
	f.Add(uint8(3), uint8(3), []byte{255, 0, 255, 0, 255, 0, 255, 0, 255}, uint8(250))
	f.Fuzz(func(t *testing.T, hb, wb uint8, pix []byte, fb uint8) {
		h, w := 1+int(hb)%24, 1+int(wb)%24
		heat := make([]float32, h*w)
		for i := range heat {
			if len(pix) > 0 {
				heat[i] = float32(pix[i%len(pix)]) / 255
			}
		}
		frac := float64(fb) / 256
		largest, mask := Locate(heat, h, w, frac, Largest)
		all, mask2 := Locate(heat, h, w, frac, All)
		if !slices.Equal(mask, mask2) {
			t.Fatal("the mask depends on the box mode")
		}
		want := BoundingBox(h, w, func(i int) bool { return mask[i] != 0 })
		if all != want {
			t.Fatalf("all box %+v, mask bound %+v", all, want)
		}
		if all.Area() > 0 && (largest.X0 < all.X0 || largest.Y0 < all.Y0 || largest.X1 > all.X1 || largest.Y1 > all.Y1 || largest.Area() == 0) {
			t.Fatalf("largest box %+v outside all box %+v", largest, all)
		}
		if all.X0 < 0 || all.Y0 < 0 || all.X1 > float64(w) || all.Y1 > float64(h) {
			t.Fatalf("box %+v outside the %dx%d image", all, w, h)
		}
		checkComponents(t, mask, h, w)
	})
}

func BenchmarkHeatAndLocate224(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	const h, w, c = 224, 224, 3
	attr := make([]float32, h*w*c)
	for i := range attr {
		attr[i] = float32(r.NormFloat64())
	}
	for b.Loop() {
		heat, err := Heat(attr, h, w, c, DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		Locate(heat, h, w, 0.2, Largest)
	}
}
