package corrupt

import (
	"bytes"
	goimage "image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/artrobust/art/shared/data"
)

func shapesImages(t *testing.T, n, size int) *data.Dataset {
	t.Helper()
	ds, err := data.Shapes(data.ShapesConfig{N: n, Size: size, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func mustApply(t *testing.T, name string, s int, img []float32, h, w, c int, seed uint64) []float32 {
	t.Helper()
	out, err := Apply(name, s, img, h, w, c, seed)
	if err != nil {
		t.Fatalf("%s/%d: %v", name, s, err)
	}
	return out
}

func TestNamesAreTheFifteenCIFAR10CTypes(t *testing.T) {
	got := Names()
	if len(got) != 15 {
		t.Fatalf("%d names, want 15", len(got))
	}
	for _, n := range got {
		if kinds[n] == nil {
			t.Errorf("name %q has no corruption", n)
		}
	}
	got[0] = "changed"
	if Names()[0] != "gaussian_noise" {
		t.Error("Names returns the package's own slice")
	}
}

// Every type at every severity returns an image of the input's shape with
// values in [0,1], for RGB and grey images, square and not, at 32x32 and
// at other sizes.
func TestEveryCorruptionKeepsShapeAndRange(t *testing.T) {
	ds := shapesImages(t, 1, 32)
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		h, w, c int
		img     []float32
	}{{32, 32, 3, ds.Image(0)}}
	for _, d := range [][3]int{{20, 27, 3}, {16, 16, 1}, {7, 5, 3}, {1, 1, 1}} {
		img := make([]float32, d[0]*d[1]*d[2])
		for i := range img {
			img[i] = rng.Float32()
		}
		cases = append(cases, struct {
			h, w, c int
			img     []float32
		}{d[0], d[1], d[2], img})
	}
	for _, cs := range cases {
		for _, name := range Names() {
			for s := 1; s <= Severities; s++ {
				out := mustApply(t, name, s, cs.img, cs.h, cs.w, cs.c, 5)
				if len(out) != len(cs.img) {
					t.Fatalf("%s/%d on %dx%dx%d: %d values, want %d", name, s, cs.h, cs.w, cs.c, len(out), len(cs.img))
				}
				for i, v := range out {
					if !(v >= 0 && v <= 1) {
						t.Fatalf("%s/%d on %dx%dx%d: value %d = %v", name, s, cs.h, cs.w, cs.c, i, v)
					}
				}
			}
		}
	}
}

// meanChange returns, per severity, the mean absolute change and the mean
// of 1 - Pearson correlation with the clean image, over images and seeds.
func meanChange(t *testing.T, name string, ds *data.Dataset, seeds int) (mac, decor [Severities]float64) {
	n := float64(ds.Len() * seeds)
	for i := range ds.Len() {
		img := ds.Image(i)
		for s := 1; s <= Severities; s++ {
			for seed := range seeds {
				out := mustApply(t, name, s, img, ds.Height, ds.Width, 3, uint64(seed))
				var d float64
				for j := range out {
					d += math.Abs(float64(out[j]) - float64(img[j]))
				}
				mac[s-1] += d / float64(len(out)) / n
				decor[s-1] += (1 - pearson(out, img)) / n
			}
		}
	}
	return mac, decor
}

func pearson(a, b []float32) float64 {
	var ma, mb float64
	for i := range a {
		ma += float64(a[i])
		mb += float64(b[i])
	}
	ma, mb = ma/float64(len(a)), mb/float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		da, db := float64(a[i])-ma, float64(b[i])-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	return sab / math.Sqrt(saa*sbb)
}

// Higher severities change the image more: the mean absolute change grows
// strictly with severity (8 shapes images, 3 seeds each) for every type
// whose reference parameters make it grow. Four types are checked against
// what their reference parameters do instead:
//
//   - motion_blur: severities 3 and 4 (radius 6 and 8, sigma 2) differ
//     only in taps weighing below 1e-4, so they tie;
//   - frost: a*x + b*F lowers the clean image's weight a as it raises b,
//     so mid-tone pixels move less at severity 5 than at 3; the image's
//     decorrelation from the clean one (monotone in b/a) grows strictly;
//   - glass_blur: the Gaussian sigmas (0.05, 0.25, 0.4) barely blur, and
//     the pixel shuffling dominates: the two-sweep severities 4 and 5
//     change more than the one-sweep severities 1 to 3;
//   - elastic_transform: severity 1 is a pure random affine warp of up to
//     0.08*32 = 2.56 px per control point, and that amplitude falls to
//     0.03*32 while the local elastic field grows, so the change falls from
//     severity 1 to 5.
func TestSeverityIncreasesTheChange(t *testing.T) {
	ds := shapesImages(t, 8, 32)
	for _, name := range Names() {
		mac, decor := meanChange(t, name, ds, 3)
		t.Logf("%-18s mean |change| %.4f %.4f %.4f %.4f %.4f", name, mac[0], mac[1], mac[2], mac[3], mac[4])
		increasing := func(v [Severities]float64, skip int) bool {
			for s := 1; s < Severities; s++ {
				if s != skip && !(v[s] > v[s-1]) {
					return false
				}
			}
			return true
		}
		switch name {
		case "motion_blur":
			if !increasing(mac, 3) || math.Abs(mac[3]-mac[2]) > 1e-3*mac[2] {
				t.Errorf("%s: mean change %v: want strictly increasing with severities 3 and 4 tied", name, mac)
			}
		case "frost":
			if !increasing(decor, -1) {
				t.Errorf("%s: 1 - correlation %v: want strictly increasing", name, decor)
			}
		case "glass_blur":
			if min(mac[3], mac[4]) <= max(mac[0], mac[1], mac[2]) {
				t.Errorf("%s: mean change %v: want severities 4 and 5 above 1 to 3", name, mac)
			}
		case "elastic_transform":
			if !(mac[0] > mac[2] && mac[2] > mac[4]) {
				t.Errorf("%s: mean change %v: want falling from severity 1 to 5", name, mac)
			}
		default:
			if !increasing(mac, -1) {
				t.Errorf("%s: mean change %v: want strictly increasing", name, mac)
			}
		}
	}
}

// One seed gives one result; another seed gives another wherever the type
// draws random numbers; ApplyBatch corrupts image i as Apply does with
// ImageSeed(seed, i).
func TestCorruptionsAreDeterministicBySeed(t *testing.T) {
	ds := shapesImages(t, 2, 16)
	img := ds.Image(0)
	deterministic := map[string]bool{"defocus_blur": true, "zoom_blur": true, "brightness": true,
		"contrast": true, "pixelate": true, "jpeg_compression": true}
	for _, name := range Names() {
		a := mustApply(t, name, 3, img, 16, 16, 3, 42)
		b := mustApply(t, name, 3, img, 16, 16, 3, 42)
		c := mustApply(t, name, 3, img, 16, 16, 3, 43)
		same, differ := true, false
		for i := range a {
			same = same && a[i] == b[i]
			differ = differ || a[i] != c[i]
		}
		if !same {
			t.Errorf("%s: two calls with seed 42 differ", name)
		}
		if differ == deterministic[name] {
			t.Errorf("%s: seeds 42 and 43 differ: %v, want %v", name, differ, !deterministic[name])
		}
		batch, err := ApplyBatch(name, 3, ds.Images, 2, 16, 16, 3, 42)
		if err != nil {
			t.Fatal(err)
		}
		second := mustApply(t, name, 3, ds.Image(1), 16, 16, 3, ImageSeed(42, 1))
		for i, v := range second {
			if batch[16*16*3+i] != v {
				t.Fatalf("%s: ApplyBatch image 1 differs from Apply with ImageSeed(42, 1) at %d", name, i)
			}
		}
	}
}

// Brightness adds b to HSV's V = max(R,G,B) (clipped to 1) at fixed hue and
// saturation. By hand, severity 1 (b = 0.05): (0.5, 0.25, 0) has V 0.5 ->
// 0.55, so every channel scales by 1.1: (0.55, 0.275, 0); black becomes
// grey (0.05, 0.05, 0.05); (0.98, 0.49, 0.196) has V 0.98 -> 1, scale
// 1/0.98: (1, 0.5, 0.2). Severity 5 (b = 0.3) on (0.2, 0.4, 0.1): V 0.4 ->
// 0.7, scale 1.75: (0.35, 0.7, 0.175).
func TestBrightnessMatchesHandComputedHSV(t *testing.T) {
	img := []float32{0.5, 0.25, 0, 0, 0, 0, 0.98, 0.49, 0.196, 0.2, 0.4, 0.1}
	want1 := []float64{0.55, 0.275, 0, 0.05, 0.05, 0.05, 1, 0.5, 0.2}
	got := mustApply(t, "brightness", 1, img, 1, 4, 3, 0)
	for i, w := range want1 {
		if math.Abs(float64(got[i])-w) > 1e-6 {
			t.Errorf("severity 1: value %d = %v, want %v", i, got[i], w)
		}
	}
	got = mustApply(t, "brightness", 5, img, 1, 4, 3, 0)
	for i, w := range []float64{0.35, 0.7, 0.175} {
		if math.Abs(float64(got[9+i])-w) > 1e-6 {
			t.Errorf("severity 5: value %d = %v, want %v", 9+i, got[9+i], w)
		}
	}
	// Against an independent HSV round trip on random pixels.
	rng := rand.New(rand.NewPCG(2, 2))
	px := make([]float32, 3*200)
	for i := range px {
		px[i] = rng.Float32()
	}
	for s, b := range []float64{0.05, 0.1, 0.15, 0.2, 0.3} {
		got := mustApply(t, "brightness", s+1, px, 1, 200, 3, 0)
		for p := range 200 {
			h, sat, v := rgbToHSV(float64(px[3*p]), float64(px[3*p+1]), float64(px[3*p+2]))
			r, g, bl := hsvToRGB(h, sat, math.Min(1, v+b))
			for ch, w := range []float64{r, g, bl} {
				if math.Abs(float64(got[3*p+ch])-w) > 1e-5 {
					t.Fatalf("severity %d pixel %d channel %d: %v, HSV round trip %v", s+1, p, ch, got[3*p+ch], w)
				}
			}
		}
	}
}

// rgbToHSV and hsvToRGB are the textbook hexcone conversions (as in
// scikit-image's rgb2hsv and hsv2rgb).
func rgbToHSV(r, g, b float64) (h, s, v float64) {
	v = math.Max(r, math.Max(g, b))
	d := v - math.Min(r, math.Min(g, b))
	if v > 0 {
		s = d / v
	}
	switch {
	case d == 0:
		h = 0
	case v == r:
		h = math.Mod((g-b)/d, 6) / 6
	case v == g:
		h = ((b-r)/d + 2) / 6
	default:
		h = ((r-g)/d + 4) / 6
	}
	if h < 0 {
		h++
	}
	return h, s, v
}

func hsvToRGB(h, s, v float64) (r, g, b float64) {
	i := math.Floor(h * 6)
	f := h*6 - i
	p, q, t := v*(1-s), v*(1-f*s), v*(1-(1-f)*s)
	switch int(i) % 6 {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	}
	return v, p, q
}

// Contrast scales each channel about its own mean: a 1x2 RGB image
// (0.2, 1, 0.5), (0.6, 0.4, 0.5) has channel means 0.4, 0.7, 0.5; at
// severity 2 (k = 0.5) red becomes 0.4 + 0.5*(0.2-0.4) = 0.3 and 0.5, green
// 0.7 + 0.5*(1-0.7) = 0.85 and 0.55, blue stays 0.5; at severity 5 (k =
// 0.15) red is 0.37 and 0.43, green 0.745 and 0.655.
func TestContrastMatchesHandComputedMeans(t *testing.T) {
	img := []float32{0.2, 1, 0.5, 0.6, 0.4, 0.5}
	for _, c := range []struct {
		s    int
		want []float64
	}{
		{2, []float64{0.3, 0.85, 0.5, 0.5, 0.55, 0.5}},
		{5, []float64{0.37, 0.745, 0.5, 0.43, 0.655, 0.5}},
	} {
		got := mustApply(t, "contrast", c.s, img, 1, 2, 3, 0)
		for i, w := range c.want {
			if math.Abs(float64(got[i])-w) > 1e-6 {
				t.Errorf("severity %d: value %d = %v, want %v", c.s, i, got[i], w)
			}
		}
	}
}

// jpeg_compression is an image/jpeg round trip at the reference qualities
// 80, 65, 58, 50, 40: each severity equals an encode at exactly its
// quality, and no other of the five.
func TestJPEGUsesTheReferenceQualities(t *testing.T) {
	ds := shapesImages(t, 1, 32)
	img := ds.Image(0)
	rgba := goimage.NewRGBA(goimage.Rect(0, 0, 32, 32))
	for p := range 32 * 32 {
		for ch := range 3 {
			rgba.Pix[4*p+ch] = uint8(img[3*p+ch]*255 + 0.5)
		}
		rgba.Pix[4*p+3] = 255
	}
	roundTrip := func(q int) []float32 {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, rgba, &jpeg.Options{Quality: q}); err != nil {
			t.Fatal(err)
		}
		dec, err := jpeg.Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, 0, 32*32*3)
		for y := range 32 {
			for x := range 32 {
				c := color.NRGBAModel.Convert(dec.At(x, y)).(color.NRGBA)
				out = append(out, float32(c.R)/255, float32(c.G)/255, float32(c.B)/255)
			}
		}
		return out
	}
	qualities := []int{80, 65, 58, 50, 40}
	for s := 1; s <= Severities; s++ {
		got := mustApply(t, "jpeg_compression", s, img, 32, 32, 3, 0)
		for qi, q := range qualities {
			ref := roundTrip(q)
			equal := true
			for i := range got {
				equal = equal && got[i] == ref[i]
			}
			if equal != (qi == s-1) {
				t.Errorf("severity %d equals quality %d: %v", s, q, equal)
			}
		}
	}
}

func TestBadArgumentsGiveErrors(t *testing.T) {
	img := make([]float32, 4*4*3)
	for _, c := range []struct {
		name       string
		s, h, w, c int
		img        []float32
	}{
		{"fog2", 1, 4, 4, 3, img},
		{"", 1, 4, 4, 3, img},
		{"fog", 0, 4, 4, 3, img},
		{"fog", 6, 4, 4, 3, img},
		{"fog", 1, 4, 4, 2, make([]float32, 32)},
		{"fog", 1, 4, 4, 3, img[:10]},
		{"fog", 1, 0, 4, 3, nil},
		{"fog", 1, 4, 4, 3, append(make([]float32, 47), 1.5)},
		{"fog", 1, 4, 4, 3, append(make([]float32, 47), float32(math.NaN()))},
	} {
		if _, err := Apply(c.name, c.s, c.img, c.h, c.w, c.c, 1); err == nil {
			t.Errorf("Apply(%q, severity %d, %d values, %dx%dx%d): no error", c.name, c.s, len(c.img), c.h, c.w, c.c)
		}
	}
	if _, err := ApplyBatch("fog", 1, img, 2, 4, 4, 3, 1); err == nil {
		t.Error("ApplyBatch: no error for 1 image's values declared as 2")
	}
}

// numpy.arange(1, z, 0.01) has ceil((z-1)/0.01) elements, computed in
// float64; the zoom blur's factor counts must be those.
func TestZoomBlurFactorCountsMatchNumPyArange(t *testing.T) {
	for i, z := range []float64{1.06, 1.11, 1.16, 1.21, 1.26} {
		want := int(math.Ceil((z - 1) / 0.01))
		if got := [...]int{7, 12, 16, 21, 26}[i]; got != want {
			t.Errorf("severity %d: %d factors, arange gives %d", i+1, got, want)
		}
	}
	// A zoom by 1 is the identity; a zoom by 2 of a 4x4 ramp crops the
	// middle 2x2 and interpolates it as SciPy does: samples 0, 1/3, 2/3, 1
	// of the way from column 1 to column 2.
	rng := rand.New(rand.NewPCG(4, 4))
	im := newImage(6, 5, 3)
	for i := range im.pix {
		im.pix[i] = rng.Float64()
	}
	for i, v := range clippedZoom(im, 1).pix {
		if v != im.pix[i] {
			t.Fatalf("zoom by 1 changed value %d: %v -> %v", i, im.pix[i], v)
		}
	}
	ramp := &image{4, 4, 1, []float64{0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3}}
	z := clippedZoom(ramp, 2)
	for j, want := range []float64{1, 4.0 / 3, 5.0 / 3, 2} {
		if math.Abs(z.pix[j]-want) > 1e-12 {
			t.Errorf("zoom by 2 of a ramp: column %d = %v, want %v", j, z.pix[j], want)
		}
	}
}

// Pillow's BOX filter: a 4 -> 2 reduction averages pairs, a 2 -> 4
// enlargement repeats each value, and 3 -> 2 splits the middle sample by
// its centre (Pillow's box covers (-0.5, 0.5], so output 0 (centre 0.75)
// takes inputs 0 and 1, output 1 (centre 2.25) inputs 2 only).
func TestBoxResizeMatchesPillowCoefficients(t *testing.T) {
	im := &image{1, 4, 1, []float64{1, 3, 5, 9}}
	if got := resizeBox(im, 1, 2).pix; got[0] != 2 || got[1] != 7 {
		t.Errorf("4 -> 2: %v, want [2 7]", got)
	}
	up := resizeBox(&image{1, 2, 1, []float64{2, 7}}, 1, 4).pix
	if up[0] != 2 || up[1] != 2 || up[2] != 7 || up[3] != 7 {
		t.Errorf("2 -> 4: %v, want [2 2 7 7]", up)
	}
	xmin, w := boxCoeffs(3, 2)
	if xmin[0] != 0 || len(w[0]) != 2 || w[0][0] != 0.5 || w[0][1] != 0.5 || xmin[1] != 2 || len(w[1]) != 1 || w[1][0] != 1 {
		t.Errorf("3 -> 2 coefficients: starts %v, weights %v", xmin, w)
	}
}

// ImageMagick's motion kernel: 2*ceil(radius)+1 taps weighted
// exp(-i^2/(2 sigma^2)), normalised, along the angle (0 degrees: to the
// right, 90: downwards), rounded to whole pixels.
func TestMotionKernelMatchesImageMagick(t *testing.T) {
	w, dx, dy := motionKernel(6, 1, 0)
	if len(w) != 13 {
		t.Fatalf("%d taps, want 13", len(w))
	}
	var sum float64
	for i := range w {
		sum += math.Exp(-float64(i*i) / 2)
	}
	for i := range w {
		if math.Abs(w[i]-math.Exp(-float64(i*i)/2)/sum) > 1e-15 || dx[i] != i || dy[i] != 0 {
			t.Errorf("tap %d: weight %v offset (%d,%d)", i, w[i], dx[i], dy[i])
		}
	}
	_, dx, dy = motionKernel(2.5, 1, 90)
	for i := range dx {
		if dx[i] != 0 || dy[i] != i {
			t.Errorf("90 degrees, tap %d: offset (%d,%d), want (0,%d)", i, dx[i], dy[i], i)
		}
	}
	_, dx, dy = motionKernel(1, 1, 45)
	if dx[2] != 1 || dy[2] != 1 { // 2*cos 45 = 1.414 -> ceil(0.914) = 1
		t.Errorf("45 degrees, tap 2: offset (%d,%d), want (1,1)", dx[2], dy[2])
	}
}

// The defocus kernel of radius 0.3 is the single centre pixel smoothed by
// OpenCV's 3x3 Gaussian of sigma 0.4: weights g(x) g(y) with g = (e, 1, e)
// / (1 + 2e), e = exp(-1/(2*0.16)); every kernel sums to 1.
func TestDiskKernelMatchesOpenCVSmoothing(t *testing.T) {
	k := disk(0.3, 0.4)
	e := math.Exp(-1 / (2 * 0.16))
	g := []float64{e / (1 + 2*e), 1 / (1 + 2*e), e / (1 + 2*e)}
	for i := -1; i <= 1; i++ {
		for j := -1; j <= 1; j++ {
			if got, want := k[8+i][8+j], g[i+1]*g[j+1]; math.Abs(got-want) > 1e-12 {
				t.Errorf("k[%d][%d] = %v, want %v", i, j, got, want)
			}
		}
	}
	for _, r := range [][2]float64{{0.3, 0.4}, {0.4, 0.5}, {0.5, 0.6}, {1, 0.2}, {1.5, 0.1}} {
		var sum float64
		for _, row := range disk(r[0], r[1]) {
			for _, v := range row {
				sum += v
			}
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("disk(%v) sums to %v", r, sum)
		}
	}
}

// The Poisson sampler behind shot noise has the mean and variance lam on
// both of its branches (Knuth below 10, PTRS above).
func TestPoissonSamplerMoments(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, lam := range []float64{0.5, 4, 25, 500} {
		const n = 40000
		var s, ss float64
		for range n {
			k := float64(poisson(rng, lam))
			s += k
			ss += k * k
		}
		mean := s / n
		variance := ss/n - mean*mean
		// Standard error of the mean is sqrt(lam/n); allow 5 of them.
		if math.Abs(mean-lam) > 5*math.Sqrt(lam/n) || math.Abs(variance/lam-1) > 0.05 {
			t.Errorf("lam %v: mean %v, variance %v", lam, mean, variance)
		}
	}
}

// Impulse noise replaces a fraction p of the values by 0 or 1, and the
// replaced values of severity 1 are replaced at severity 5 too.
func TestImpulseNoiseFractionsAndNesting(t *testing.T) {
	img := make([]float32, 64*64*3)
	for i := range img {
		img[i] = 0.5
	}
	s1 := mustApply(t, "impulse_noise", 1, img, 64, 64, 3, 9)
	for s, p := range []float64{0.01, 0.02, 0.03, 0.05, 0.07} {
		out := mustApply(t, "impulse_noise", s+1, img, 64, 64, 3, 9)
		changed, salt := 0, 0
		for i, v := range out {
			if v != 0.5 {
				changed++
				if v == 1 {
					salt++
				}
			}
			if s1[i] != 0.5 && v != s1[i] {
				t.Fatalf("severity %d: value %d replaced at severity 1 (%v) is %v", s+1, i, s1[i], v)
			}
		}
		frac := float64(changed) / float64(len(img))
		if math.Abs(frac-p) > 4*math.Sqrt(p*(1-p)/float64(len(img))) || math.Abs(float64(salt)/float64(changed)-0.5) > 0.1 {
			t.Errorf("severity %d: %.4f of the values replaced (want %v), %d of %d salt", s+1, frac, p, salt, changed)
		}
	}
}

// Gaussian noise on a mid-grey image (no clipping) has the reference's
// standard deviations.
func TestGaussianNoiseStandardDeviations(t *testing.T) {
	img := make([]float32, 64*64*3)
	for i := range img {
		img[i] = 0.5
	}
	for s, sigma := range []float64{0.04, 0.06, 0.08, 0.09, 0.10} {
		out := mustApply(t, "gaussian_noise", s+1, img, 64, 64, 3, 1)
		var ss float64
		for _, v := range out {
			ss += (float64(v) - 0.5) * (float64(v) - 0.5)
		}
		if sd := math.Sqrt(ss / float64(len(out))); math.Abs(sd/sigma-1) > 0.03 {
			t.Errorf("severity %d: standard deviation %v, want %v", s+1, sd, sigma)
		}
	}
}

// The plasma fractal is normalised to exactly [0, 1] and varies smoothly:
// neighbouring values differ far less than random values do.
func TestPlasmaFractalIsNormalisedAndSmooth(t *testing.T) {
	p := plasmaFractal(32, 2, rand.New(rand.NewPCG(1, 1)))
	lo, hi := math.Inf(1), math.Inf(-1)
	var step float64
	for i := range 32 {
		for j := range 32 {
			v := p[i*32+j]
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			if j+1 < 32 {
				step += math.Abs(v-p[i*32+j+1]) / (32 * 31)
			}
		}
	}
	if lo != 0 || hi != 1 {
		t.Errorf("range [%v, %v], want [0, 1]", lo, hi)
	}
	// Independent uniform values differ by 1/3 on average.
	if step > 0.1 {
		t.Errorf("mean neighbour difference %v: not smooth", step)
	}
}
