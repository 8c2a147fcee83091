package data

import (
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

func mustShapes(t testing.TB, cfg ShapesConfig) *Dataset {
	t.Helper()
	d, err := Shapes(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	return d
}

// shapesHash is an FNV-1a hash of every value of d, bit for bit.
func shapesHash(d *Dataset) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	put := func(v uint64) {
		for k := range buf {
			buf[k] = byte(v >> (8 * k))
		}
		h.Write(buf[:])
	}
	for _, v := range d.Images {
		put(uint64(math.Float32bits(v)))
	}
	for _, l := range d.Labels {
		put(uint64(l))
	}
	for _, b := range d.Boxes {
		put(math.Float64bits(b.X0))
		put(math.Float64bits(b.Y0))
		put(math.Float64bits(b.X1))
		put(math.Float64bits(b.Y1))
	}
	h.Write(d.Masks)
	return h.Sum64()
}

func TestShapesSameConfigGivesIdenticalBytes(t *testing.T) {
	cfg := ShapesConfig{N: 200, Seed: 3, Split: "test", Clutter: 0.8}
	a, b := mustShapes(t, cfg), mustShapes(t, cfg)
	if ha, hb := shapesHash(a), shapesHash(b); ha != hb {
		t.Fatalf("two runs of one config hash to %x and %x", ha, hb)
	}
}

// TestShapesGoldenHash pins the generator's output: the same hash must come
// out on every platform (run it under GOOS=js GOARCH=wasm too) and in every
// release, since changing it changes every experiment run on shapes.
func TestShapesGoldenHash(t *testing.T) {
	for _, c := range []struct {
		cfg  ShapesConfig
		want uint64
	}{
		{ShapesConfig{N: 40, Seed: 1}, 0x975d79bec1b43260},
		{ShapesConfig{N: 10, Size: 67, Seed: 99, Split: "test", Clutter: 1}, 0xe03a85e79d37c40b},
	} {
		if got := shapesHash(mustShapes(t, c.cfg)); got != c.want {
			t.Errorf("%+v: hash %#x, want %#x", c.cfg, got, c.want)
		}
	}
}

func TestShapesAtEqualsSubsetOfShapes(t *testing.T) {
	cfg := ShapesConfig{N: 300, Seed: 11}
	indices := []int{299, 0, 17, 150, 17}
	at, err := ShapesAt(cfg, indices)
	if err != nil {
		t.Fatal(err)
	}
	want := mustShapes(t, cfg).Subset(indices)
	if at.Name != want.Name || shapesHash(at) != shapesHash(want) {
		t.Fatalf("ShapesAt(%v) differs from Shapes().Subset", indices)
	}
}

func TestShapesSplitsAndSeedsShareNoImage(t *testing.T) {
	const n = 500
	sets := []*Dataset{
		mustShapes(t, ShapesConfig{N: n, Seed: 5}),
		mustShapes(t, ShapesConfig{N: n, Seed: 5, Split: "test"}),
		mustShapes(t, ShapesConfig{N: n, Seed: 6}),
	}
	if sets[0].Name != "shapes/train" || sets[1].Name != "shapes/test" {
		t.Errorf("names %q, %q", sets[0].Name, sets[1].Name)
	}
	seen := map[uint64]string{}
	for si, d := range sets {
		for i := range d.Len() {
			key := shapesHash(&Dataset{Images: d.Image(i)})
			if prev, ok := seen[key]; ok {
				t.Fatalf("set %d image %d repeats %s", si, i, prev)
			}
			seen[key] = fmt.Sprintf("set %d image %d", si, i)
		}
	}
	// Not merely different: train and test image i differ almost everywhere.
	diff := 0
	for k, v := range sets[0].Images {
		if math.Abs(float64(v-sets[1].Images[k])) > 0.02 {
			diff++
		}
	}
	if frac := float64(diff) / float64(len(sets[0].Images)); frac < 0.8 {
		t.Errorf("train and test differ by more than 0.02 in only %.2f of their values", frac)
	}
}

func TestShapesClassesAreBalanced(t *testing.T) {
	const n = 1003
	d := mustShapes(t, ShapesConfig{N: n, Seed: 2})
	if len(d.Classes) != 10 {
		t.Fatalf("%d classes, want 10", len(d.Classes))
	}
	counts := make([]int, len(d.Classes))
	for _, l := range d.Labels {
		counts[l]++
	}
	for c, k := range counts {
		if math.Abs(float64(k)-float64(n)/10) > 1 {
			t.Errorf("class %s has %d images, want %d +- 1", d.Classes[c], k, n/10)
		}
	}
}

// TestShapesBoxIsTightBoundOfMask checks every box against its mask, the
// mask's area and the value range, at the sizes the project uses.
func TestShapesBoxIsTightBoundOfMask(t *testing.T) {
	for _, c := range []struct{ size, n int }{{16, 100}, {32, 1000}, {64, 200}, {224, 30}} {
		d := mustShapes(t, ShapesConfig{N: c.n, Size: c.size, Seed: 4, Clutter: 1})
		s := c.size
		minArea, maxArea := 1.0, 0.0
		minSide, maxSide := 1.0, 0.0
		for i := range d.Len() {
			m := d.Mask(i)
			x0, y0, x1, y1, area := s, s, 0, 0, 0
			for y := range s {
				for x := range s {
					if m[y*s+x] > 1 {
						t.Fatalf("size %d image %d: mask value %d", s, i, m[y*s+x])
					}
					if m[y*s+x] == 1 {
						area++
						x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x+1), max(y1, y+1)
					}
				}
			}
			want := Box{float64(x0), float64(y0), float64(x1), float64(y1)}
			if area == 0 || d.Boxes[i] != want {
				t.Fatalf("size %d image %d: box %+v, mask bounds %+v, mask area %d", s, i, d.Boxes[i], want, area)
			}
			frac := float64(area) / float64(s*s)
			side := max(want.X1-want.X0, want.Y1-want.Y0) / float64(s)
			minArea, maxArea = min(minArea, frac), max(maxArea, frac)
			minSide, maxSide = min(minSide, side), max(maxSide, side)
		}
		t.Logf("size %d: mask area %.3f..%.3f of the image, box's longer side %.2f..%.2f of the side", s, minArea, maxArea, minSide, maxSide)
		if minArea < 0.06 || maxArea > 0.45 || minSide < 0.36 || maxSide > 0.85 {
			t.Errorf("size %d: mask area %.3f..%.3f, box side %.2f..%.2f; want area in [0.06, 0.45], side in [0.36, 0.85]", s, minArea, maxArea, minSide, maxSide)
		}
		for k, v := range d.Images {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("size %d: value %d is %v", s, k, v)
			}
		}
	}
}

// TestShapesSceneIsTheSameAtEverySize checks that Size changes the
// resolution, not the scene: boxes scale with the image.
func TestShapesSceneIsTheSameAtEverySize(t *testing.T) {
	small := mustShapes(t, ShapesConfig{N: 100, Size: 32, Seed: 8})
	large := mustShapes(t, ShapesConfig{N: 100, Size: 128, Seed: 8})
	// A box edge lies within a pixel of the outline's extreme point, or a
	// little further where a sharp tip passes between pixel centres, so
	// edges differ by about a pixel of 32 at worst, far less on average.
	worst, mean := 0.0, 0.0
	for i := range small.Len() {
		b, l := small.Boxes[i], large.Boxes[i]
		for _, e := range [][2]float64{{b.X0, l.X0}, {b.Y0, l.Y0}, {b.X1, l.X1}, {b.Y1, l.Y1}} {
			diff := math.Abs(e[0] - e[1]/4)
			worst, mean = max(worst, diff), mean+diff/float64(4*small.Len())
		}
	}
	t.Logf("box edges at 128/4 vs 32: mean difference %.3f, worst %.3f pixels", mean, worst)
	if worst > 2 || mean > 0.4 {
		t.Errorf("boxes at 128 differ from 4x the boxes at 32 by %.2f pixels of 32 on average, %.2f at worst", mean, worst)
	}
}

// TestShapesClutterChangesOnlyTheDistractors compares NoClutter with full
// clutter: the masks are identical, the object's pixels are too except on
// its anti-aliased edge, and the background gets busier (mean absolute
// difference of horizontal neighbours outside the object).
func TestShapesClutterChangesOnlyTheDistractors(t *testing.T) {
	const n, s = 300, 32
	plain := mustShapes(t, ShapesConfig{N: n, Seed: 9, Clutter: NoClutter})
	busy := mustShapes(t, ShapesConfig{N: n, Seed: 9, Clutter: 1})
	var edgePlain, edgeBusy float64
	pairs, same, objectPixels := 0, 0, 0
	for i := range n {
		mp, mb := plain.Mask(i), busy.Mask(i)
		ip, ib := plain.Image(i), busy.Image(i)
		for k := range mp {
			if mp[k] != mb[k] {
				t.Fatalf("image %d: masks differ at pixel %d", i, k)
			}
			x := k % s
			if mp[k] == 1 {
				objectPixels++
				if ip[3*k] == ib[3*k] && ip[3*k+1] == ib[3*k+1] && ip[3*k+2] == ib[3*k+2] {
					same++
				}
			}
			if x+1 < s && mp[k] == 0 && mp[k+1] == 0 {
				for ch := range 3 {
					edgePlain += math.Abs(float64(ip[3*k+ch] - ip[3*k+3+ch]))
					edgeBusy += math.Abs(float64(ib[3*k+ch] - ib[3*k+3+ch]))
				}
				pairs++
			}
		}
	}
	edgePlain /= float64(3 * pairs)
	edgeBusy /= float64(3 * pairs)
	t.Logf("background neighbour difference: %.4f without clutter, %.4f with Clutter 1; %.4f of object pixels identical", edgePlain, edgeBusy, float64(same)/float64(objectPixels))
	if float64(same) < 0.9*float64(objectPixels) {
		t.Errorf("clutter changed %d of %d object pixels", objectPixels-same, objectPixels)
	}
	if edgeBusy < 1.3*edgePlain {
		t.Errorf("clutter raised the background's neighbour difference from %.4f only to %.4f", edgePlain, edgeBusy)
	}
}

// interior reports whether pixel (x, y) and its 8 neighbours are in mask m.
func interior(m []uint8, s, x, y int) bool {
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			u, v := x+dx, y+dy
			if u < 0 || v < 0 || u >= s || v >= s || m[v*s+u] == 0 {
				return false
			}
		}
	}
	return true
}

// TestShapesObjectAlwaysContrastsWithBackground measures, without clutter,
// the RGB distance between the mean colour of each object's interior and the
// mean colour of the background ring 2 pixels around it. The generator keeps
// 0.3 between the object's base colour and every background colour; shading
// and noise may take a little of it.
func TestShapesObjectAlwaysContrastsWithBackground(t *testing.T) {
	const n, s = 1000, 32
	d := mustShapes(t, ShapesConfig{N: n, Seed: 10, Clutter: NoClutter})
	lowest, sum := math.Inf(1), 0.0
	for i := range n {
		m, img := d.Mask(i), d.Image(i)
		var in, out [3]float64
		nin, nout := 0, 0
		for k := range m {
			x, y := k%s, k/s
			switch {
			case interior(m, s, x, y):
				for ch := range 3 {
					in[ch] += float64(img[3*k+ch])
				}
				nin++
			case m[k] == 0 && nearMask(m, s, x, y, 3) && !nearMask(m, s, x, y, 1):
				for ch := range 3 {
					out[ch] += float64(img[3*k+ch])
				}
				nout++
			}
		}
		dist := 0.0
		for ch := range 3 {
			diff := in[ch]/float64(nin) - out[ch]/float64(nout)
			dist += diff * diff
		}
		dist = math.Sqrt(dist)
		lowest = min(lowest, dist)
		sum += dist
	}
	t.Logf("object-background contrast: lowest %.3f, mean %.3f", lowest, sum/n)
	if lowest < 0.2 {
		t.Errorf("lowest object-background contrast %.3f, want >= 0.2", lowest)
	}
}

// nearMask reports whether a mask pixel lies within Chebyshev distance r of (x, y).
func nearMask(m []uint8, s, x, y, r int) bool {
	for v := max(0, y-r); v <= min(s-1, y+r); v++ {
		for u := max(0, x-r); u <= min(s-1, x+r); u++ {
			if m[v*s+u] == 1 {
				return true
			}
		}
	}
	return false
}

// TestShapesColourDoesNotTellTheClass checks that object colours are
// independent of the class: per class, the mean object colour stays near
// the overall mean, and a nearest-class-mean classifier on each image's
// mean colour is near chance (10%).
func TestShapesColourDoesNotTellTheClass(t *testing.T) {
	train := mustShapes(t, ShapesConfig{N: 2000, Seed: 12})
	test := mustShapes(t, ShapesConfig{N: 1000, Seed: 12, Split: "test"})
	objectColour := func(d *Dataset, i int) [3]float64 {
		var c [3]float64
		n := 0
		for k, v := range d.Mask(i) {
			if v == 1 {
				for ch := range 3 {
					c[ch] += float64(d.Image(i)[3*k+ch])
				}
				n++
			}
		}
		for ch := range c {
			c[ch] /= float64(n)
		}
		return c
	}
	var perClass [10][3]float64
	var all [3]float64
	for i := range train.Len() {
		c := objectColour(train, i)
		for ch := range 3 {
			perClass[train.Labels[i]][ch] += c[ch] / 200
			all[ch] += c[ch] / 2000
		}
	}
	worst := 0.0
	for _, c := range perClass {
		worst = max(worst, distance3(c, all))
	}
	t.Logf("per-class mean object colour is within %.3f of the overall mean %.3f", worst, all)
	if worst > 0.08 {
		t.Errorf("a class's mean object colour is %.3f from the overall mean, want <= 0.08", worst)
	}

	feature := func(d *Dataset, i int) []float64 {
		f := make([]float64, 3)
		for k, v := range d.Image(i) {
			f[k%3] += float64(v)
		}
		return f
	}
	acc := nearestMeanAccuracy(train, test, feature)
	t.Logf("nearest class mean on the mean image colour: %.1f%% (chance 10%%)", 100*acc)
	if acc >= 0.2 {
		t.Errorf("mean colour predicts the class with accuracy %.3f, want < 0.2", acc)
	}
}

// TestShapesClassesDifferByShape shows that the classes are told apart by
// outline, not by pixels at fixed places: a nearest-class-mean classifier on
// rotation- and scale-invariant descriptors of the mask does far better than
// chance, while the same classifier on raw pixels stays weak.
func TestShapesClassesDifferByShape(t *testing.T) {
	train := mustShapes(t, ShapesConfig{N: 2000, Seed: 13})
	test := mustShapes(t, ShapesConfig{N: 1000, Seed: 13, Split: "test"})
	raw := func(d *Dataset, i int) []float64 {
		f := make([]float64, d.ImageSize())
		for k, v := range d.Image(i) {
			f[k] = float64(v)
		}
		return f
	}
	rawAcc := nearestMeanAccuracy(train, test, raw)
	maskAcc := nearestMeanAccuracy(train, test, maskDescriptor)
	t.Logf("nearest class mean: %.1f%% on raw pixels, %.1f%% on mask descriptors (chance 10%%)", 100*rawAcc, 100*maskAcc)
	if rawAcc > 0.2 {
		t.Errorf("raw-pixel nearest class mean reaches %.3f; the task is too easy", rawAcc)
	}
	if maskAcc < 0.6 {
		t.Errorf("mask-descriptor nearest class mean reaches only %.3f; the shapes are not distinct", maskAcc)
	}
}

// maskDescriptor describes a mask independently of position, rotation and
// scale: the histogram of its pixels' distances from the centroid (in units
// of the radius of a disc of equal area), whether the centroid is covered,
// and the ratio of boundary pixels to that radius.
func maskDescriptor(d *Dataset, i int) []float64 {
	s := d.Width
	m := d.Mask(i)
	var cx, cy, area float64
	for k, v := range m {
		if v == 1 {
			cx += float64(k%s) + 0.5
			cy += float64(k/s) + 0.5
			area++
		}
	}
	cx, cy = cx/area, cy/area
	r0 := math.Sqrt(area / math.Pi)
	const bins = 12
	f := make([]float64, bins+2)
	boundary := 0.0
	for k, v := range m {
		if v == 0 {
			continue
		}
		x, y := k%s, k/s
		r := math.Sqrt((float64(x)+0.5-cx)*(float64(x)+0.5-cx)+(float64(y)+0.5-cy)*(float64(y)+0.5-cy)) / r0
		f[min(bins-1, int(r/0.15))] += 1 / area
		if x == 0 || y == 0 || x == s-1 || y == s-1 || m[k-1] == 0 || m[k+1] == 0 || m[k-s] == 0 || m[k+s] == 0 {
			boundary++
		}
	}
	f[bins] = float64(m[int(cy)*s+int(cx)])
	f[bins+1] = boundary / r0 / 10
	return f
}

// nearestMeanAccuracy fits one mean feature vector per class on train and
// returns the fraction of test images whose nearest mean is their class.
func nearestMeanAccuracy(train, test *Dataset, feature func(*Dataset, int) []float64) float64 {
	means := make([][]float64, len(train.Classes))
	counts := make([]float64, len(train.Classes))
	for i := range train.Len() {
		f, l := feature(train, i), train.Labels[i]
		if means[l] == nil {
			means[l] = make([]float64, len(f))
		}
		for k, v := range f {
			means[l][k] += v
		}
		counts[l]++
	}
	for l := range means {
		for k := range means[l] {
			means[l][k] /= counts[l]
		}
	}
	correct := 0
	for i := range test.Len() {
		f := feature(test, i)
		best, bestDist := -1, math.Inf(1)
		for l, m := range means {
			dist := 0.0
			for k, v := range f {
				dist += (v - m[k]) * (v - m[k])
			}
			if dist < bestDist {
				best, bestDist = l, dist
			}
		}
		if best == test.Labels[i] {
			correct++
		}
	}
	return float64(correct) / float64(test.Len())
}

func TestShapesRejectsBadConfig(t *testing.T) {
	for _, cfg := range []ShapesConfig{
		{N: -1},
		{N: 1, Size: 15},
		{N: 1, Size: -32},
		{N: 1, Size: MaxShapesSize + 1},
		{N: 1, Split: "val"},
		{N: 1, Clutter: 1.01},
		{N: 1, Clutter: math.NaN()},
		{N: math.MaxInt / 100, Size: 1024},
	} {
		if _, err := Shapes(cfg); err == nil {
			t.Errorf("Shapes(%+v) gave no error", cfg)
		}
	}
	for _, idx := range [][]int{{-1}, {10}, {0, 3, 10}} {
		if _, err := ShapesAt(ShapesConfig{N: 10}, idx); err == nil {
			t.Errorf("ShapesAt(N=10, %v) gave no error", idx)
		}
	}
	d, err := Shapes(ShapesConfig{})
	if err != nil || d.Len() != 0 || d.Height != DefaultShapesSize {
		t.Errorf("zero config: %v, %d images of %d", err, d.Len(), d.Height)
	}
	if got := ShapesClasses(); len(got) != 10 || got[0] != "circle" || got[9] != "heart" {
		t.Errorf("ShapesClasses() = %v", got)
	}
}

// TestShapesOutlinesFitTheUnitDisc checks the invariant placement relies on:
// every outline lies inside the unit disc, so objects never leave the image.
func TestShapesOutlinesFitTheUnitDisc(t *testing.T) {
	for _, o := range [][]vec2{squareOutline, triangleOutline, diamondOutline, plusOutline, arrowOutline, starOutline, heartOutline, {heartLobe.scale(1 + heartLobeRadius/heartLobe.norm())}} {
		for _, v := range o {
			if v.norm() > 1 {
				t.Errorf("vertex %v lies outside the unit disc", v)
			}
		}
	}
	// Every class's distance is positive just outside the unit disc, and
	// negative somewhere inside.
	for k := range shapesClasses {
		inside := 0
		for a := range 256 {
			s, c := math.Sincos(2 * math.Pi * float64(a) / 256)
			if d := shapeDistance(k, vec2{1.001 * c, 1.001 * s}); d <= 0 {
				t.Errorf("%s: distance %v at radius 1.001", shapesClasses[k], d)
			}
			for r := 0.05; r < 1; r += 0.05 {
				if shapeDistance(k, vec2{r * c, r * s}) < 0 {
					inside++
				}
			}
		}
		if inside == 0 {
			t.Errorf("%s: no point of the unit disc is inside", shapesClasses[k])
		}
	}
}

// TestShapesTurnConstantsMatchTrig checks the slopes written out in place
// of trigonometry.
func TestShapesTurnConstantsMatchTrig(t *testing.T) {
	for _, c := range []struct{ got, want float64 }{
		{tan20, math.Tan(math.Pi / 9)},
		{tan30, math.Tan(math.Pi / 6)},
		{tanArcDev, math.Tan(0.4)},
		{cosArcMid, math.Cos(0.8)},
		{sinArcMid, math.Sin(0.8)},
	} {
		if math.Abs(c.got-c.want) > 1e-15 {
			t.Errorf("constant %v, want %v", c.got, c.want)
		}
	}
}

// TestRandTurnIsUniformInItsSector samples rotations of at most 20 degrees:
// all are unit vectors within the sector, and a quarter of them lie in
// [0, 10) degrees.
func TestRandTurnIsUniformInItsSector(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 20000
	low, biggest := 0, 0.0
	for range n {
		r := randTurn(rng, tan20)
		if math.Abs(r.norm()-1) > 1e-15 {
			t.Fatalf("turn %v is not a unit vector", r)
		}
		a := math.Atan2(r.y, r.x) * 180 / math.Pi
		biggest = max(biggest, math.Abs(a))
		if a >= 0 && a < 10 {
			low++
		}
	}
	if biggest > 20+1e-9 {
		t.Errorf("a turn of %.3f degrees, want <= 20", biggest)
	}
	if frac := float64(low) / n; math.Abs(frac-0.25) > 0.015 {
		t.Errorf("%.3f of the turns in [0, 10) degrees, want 0.25", frac)
	}
}

// TestShapesContactSheet is a viewer, not a check: with $SHAPES_GRID set it
// writes there a PNG of 4 images per class (one class per row), each shown
// plain and then with its box in red and the background outside the mask
// dimmed. $SHAPES_GRID_SIZE and $SHAPES_GRID_CLUTTER change the config.
func TestShapesContactSheet(t *testing.T) {
	path := os.Getenv("SHAPES_GRID")
	if path == "" {
		t.Skip("set SHAPES_GRID=/tmp/shapes_grid.png to write the contact sheet")
	}
	cfg := ShapesConfig{N: 40, Size: 32, Seed: 7}
	if s := os.Getenv("SHAPES_GRID_SIZE"); s != "" {
		var err error
		if cfg.Size, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	if s := os.Getenv("SHAPES_GRID_CLUTTER"); s != "" {
		var err error
		if cfg.Clutter, err = strconv.ParseFloat(s, 64); err != nil {
			t.Fatal(err)
		}
	}
	const perClass, gap = 4, 4
	size, zoom := cfg.Size, max(1, 128/cfg.Size)
	d, err := Shapes(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cell := size*zoom + gap
	sheet := image.NewRGBA(image.Rect(0, 0, 2*perClass*cell, 10*cell))
	for i := range d.Len() {
		// Column pairs: the image, then the image with its box and mask outline.
		row, col := d.Labels[i], i/10
		for k := range 2 {
			ox, oy := (2*col+k)*cell, row*cell
			img, m, b := d.Image(i), d.Mask(i), d.Boxes[i]
			for y := range size * zoom {
				for x := range size * zoom {
					px, py := x/zoom, y/zoom
					j := 3 * (py*size + px)
					c := color.RGBA{uint8(img[j]*255 + 0.5), uint8(img[j+1]*255 + 0.5), uint8(img[j+2]*255 + 0.5), 255}
					if k == 1 {
						inBox := float64(px) >= b.X0 && float64(px) < b.X1 && float64(py) >= b.Y0 && float64(py) < b.Y1
						edge := inBox && (px == int(b.X0) || px == int(b.X1)-1 || py == int(b.Y0) || py == int(b.Y1)-1)
						if edge && (x%zoom == 0 || y%zoom == 0) {
							c = color.RGBA{255, 0, 0, 255}
						} else if m[py*size+px] == 0 {
							c = color.RGBA{c.R / 3, c.G / 3, c.B / 3, 255}
						}
					}
					sheet.Set(ox+x, oy+y, c)
				}
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, sheet); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkShapes32 generates the default 10,000-image training set.
func BenchmarkShapes32(b *testing.B) {
	for b.Loop() {
		if _, err := Shapes(ShapesConfig{N: 10000, Seed: uint64(b.N)}); err != nil {
			b.Fatal(err)
		}
	}
}
