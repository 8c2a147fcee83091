package data

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAugmentCropShiftsTheImageAndPadsWithZeros(t *testing.T) {
	const h, w, c = 5, 6, 1
	src := make([]float32, h*w*c)
	for i := range src {
		src[i] = float32(i + 1)
	}
	dst := make([]float32, len(src))
	seen := map[[2]int]bool{}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 200 {
		Augment{Pad: 2}.Apply(rng, dst, src, h, w, c)
		// Recover the shift from where pixel value 1 (source (0,0)) landed,
		// or from the first non-zero pixel.
		found := false
		for y := range h {
			for x := range w {
				v := dst[y*w+x]
				if v == 0 {
					continue
				}
				sy, sx := int(v-1)/w, int(v-1)%w
				dy, dx := sy-y, sx-x
				if dy < -2 || dy > 2 || dx < -2 || dx > 2 {
					t.Fatalf("pixel (%d,%d) comes from (%d,%d): shift beyond the padding", y, x, sy, sx)
				}
				// Every pixel must agree with the same shift.
				for yy := range h {
					for xx := range w {
						want := float32(0)
						if yy+dy >= 0 && yy+dy < h && xx+dx >= 0 && xx+dx < w {
							want = src[(yy+dy)*w+xx+dx]
						}
						if dst[yy*w+xx] != want {
							t.Fatalf("shift (%d,%d): pixel (%d,%d) = %g, want %g", dy, dx, yy, xx, dst[yy*w+xx], want)
						}
					}
				}
				seen[[2]int{dy, dx}] = true
				found = true
				break
			}
			if found {
				break
			}
		}
	}
	if len(seen) != 25 {
		t.Errorf("saw %d of the 25 possible shifts in 200 crops", len(seen))
	}
}

func TestAugmentFlipMirrorsRows(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5, 6} // 2x3, one channel
	dst := make([]float32, 6)
	flipped, plain := 0, 0
	rng := rand.New(rand.NewPCG(2, 2))
	for range 100 {
		Augment{Flip: true}.Apply(rng, dst, src, 2, 3, 1)
		switch {
		case dst[0] == 3 && dst[1] == 2 && dst[2] == 1 && dst[3] == 6 && dst[5] == 4:
			flipped++
		case dst[0] == 1 && dst[2] == 3 && dst[5] == 6:
			plain++
		default:
			t.Fatalf("flip produced %v", dst)
		}
	}
	if flipped < 30 || plain < 30 {
		t.Errorf("%d flipped and %d plain of 100: want about half each", flipped, plain)
	}
}

func TestJitterKeepsPixelsInRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	src := make([]float32, 8*8*3)
	for i := range src {
		src[i] = rng.Float32()
	}
	dst := make([]float32, len(src))
	changed := false
	for range 20 {
		Augment{Jitter: 0.4}.Apply(rng, dst, src, 8, 8, 3)
		for i, v := range dst {
			if v < 0 || v > 1 {
				t.Fatalf("jittered pixel %d = %g", i, v)
			}
			if v != src[i] {
				changed = true
			}
		}
	}
	if !changed {
		t.Error("jitter never changed a pixel")
	}
}

func TestHomographyMapsCornersExactly(t *testing.T) {
	from := [4][2]float64{{0, 0}, {9, 0}, {9, 9}, {0, 9}}
	to := [4][2]float64{{1, 2}, {8, 0.5}, {10, 9}, {-1, 8}}
	hm, ok := homography(from, to)
	if !ok {
		t.Fatal("no homography")
	}
	for i, p := range from {
		den := hm[6]*p[0] + hm[7]*p[1] + 1
		u := (hm[0]*p[0] + hm[1]*p[1] + hm[2]) / den
		v := (hm[3]*p[0] + hm[4]*p[1] + hm[5]) / den
		if math.Abs(u-to[i][0]) > 1e-9 || math.Abs(v-to[i][1]) > 1e-9 {
			t.Errorf("corner %d maps to (%g,%g), want %v", i, u, v, to[i])
		}
	}
}

func TestWarpWithoutDistortionIsTheIdentity(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	src := make([]float32, 7*7*3)
	for i := range src {
		src[i] = rng.Float32()
	}
	dst := make([]float32, len(src))
	// A tiny rotation range makes the warp nearly the identity.
	Augment{Rotate: 1e-9}.Apply(rng, dst, src, 7, 7, 3)
	for i := range src {
		if math.Abs(float64(dst[i]-src[i])) > 1e-5 {
			t.Fatalf("value %d: %g, want %g", i, dst[i], src[i])
		}
	}
}

func TestWarpRotatesAndShiftsExactly(t *testing.T) {
	src := make([]float32, 5*5)
	for i := range src {
		src[i] = float32(i)
	}
	dst := make([]float32, len(src))
	warpImage(dst, src, 5, 5, 1, math.Pi, 0, 0, [4][2]float64{})
	for i := range src {
		if math.Abs(float64(dst[i]-src[len(src)-1-i])) > 1e-4 {
			t.Fatalf("180 degrees: pixel %d = %g, want %g", i, dst[i], src[len(src)-1-i])
		}
	}
	warpImage(dst, src, 5, 5, 1, 0, 1, 0, [4][2]float64{})
	for y := range 5 {
		for x := range 5 {
			want := float32(0)
			if x > 0 {
				want = src[y*5+x-1]
			}
			if math.Abs(float64(dst[y*5+x]-want)) > 1e-4 {
				t.Fatalf("shift right by 1: pixel (%d,%d) = %g, want %g", y, x, dst[y*5+x], want)
			}
		}
	}
	// Half a pixel: bilinear average of neighbours.
	warpImage(dst, src, 5, 5, 1, 0, 0.5, 0, [4][2]float64{})
	if want := (src[7] + src[8]) / 2; math.Abs(float64(dst[8]-want)) > 1e-4 {
		t.Errorf("half-pixel shift: %g, want %g", dst[8], want)
	}
}

func TestBalancedOrderRepeatsSmallClasses(t *testing.T) {
	d := &Dataset{Classes: []string{"a", "b", "c"}, Labels: []int{0, 0, 0, 0, 1, 2, 2}}
	order := d.BalancedOrder(rand.New(rand.NewPCG(1, 2)))
	count := make([]int, 3)
	for _, i := range order {
		count[d.Labels[i]]++
	}
	if count[0] != 4 || count[1] != 4 || count[2] != 4 {
		t.Errorf("class counts %v, want 4 each", count)
	}
}
