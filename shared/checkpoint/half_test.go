package checkpoint

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// halfValue is the value of a finite half computed from its definition,
// independently of halfToFloat32.
func halfValue(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, mant := int(h>>10)&0x1f, float64(h&0x3ff)
	if exp == 0 {
		return sign * math.Ldexp(mant, -24)
	}
	return sign * math.Ldexp(1024+mant, exp-25)
}

func TestHalfToFloat32MatchesDefinitionForAllHalves(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		got := halfToFloat32(h)
		exp, mant := (h>>10)&0x1f, h&0x3ff
		switch {
		case exp == 0x1f && mant == 0:
			if !math.IsInf(float64(got), 0) || math.Signbit(float64(got)) != (h&0x8000 != 0) {
				t.Errorf("half %#04x = %v, want signed infinity", h, got)
			}
		case exp == 0x1f:
			if !math.IsNaN(float64(got)) {
				t.Errorf("half %#04x = %v, want NaN", h, got)
			}
		default:
			want := halfValue(h)
			if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
				t.Errorf("half %#04x = %v, want %v", h, got, want)
			}
		}
	}
}

func TestHalfRoundTripsAllHalves(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		got := float32ToHalf(halfToFloat32(h))
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			// NaN stays NaN of the same sign, quieted; the payload may change.
			if got&0x7c00 != 0x7c00 || got&0x3ff == 0 || got&0x8000 != h&0x8000 {
				t.Errorf("NaN %#04x came back as %#04x", h, got)
			}
			continue
		}
		if got != h {
			t.Errorf("half %#04x came back as %#04x", h, got)
		}
	}
}

func TestFloat32ToHalfKnownValues(t *testing.T) {
	for _, tc := range []struct {
		f    float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.5, 0x3800},
		{0.1, 0x2e66},
		{1.0 / 3, 0x3555},
		{math.Pi, 0x4248},
		{65504, 0x7bff},                       // largest finite half
		{65519.996, 0x7bff},                   // just below the overflow threshold
		{65520, 0x7c00},                       // tie between 65504 and 2^16: even is Inf
		{1e6, 0x7c00},                         // overflow
		{-1e6, 0xfc00},                        // negative overflow
		{0x1p-14, 0x0400},                     // smallest normal
		{0x1p-24, 0x0001},                     // smallest subnormal
		{0x1p-25, 0x0000},                     // tie between 0 and 2^-24: even is 0
		{0x1.000002p-25, 0x0001},              // just above the tie
		{0x3p-25, 0x0002},                     // tie between 1 and 2 subnormal units: even is 2
		{0x1p-26, 0x0000},                     // underflow
		{0x1p-149, 0x0000},                    // float32 subnormal
		{1 + 0x1p-11, 0x3c00},                 // tie between 1 and 1+2^-10: even is 1
		{1 + 0x3p-11, 0x3c02},                 // tie between 1+2^-10 and 1+2^-9: even is the latter
		{2047.0 / 1024 * 0x1p-15, 0x03ff + 1}, // rounds up from subnormal into the smallest normal
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
	} {
		if got := float32ToHalf(tc.f); got != tc.want {
			t.Errorf("float32ToHalf(%v) = %#04x, want %#04x", tc.f, got, tc.want)
		}
	}
	if h := float32ToHalf(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("float32ToHalf(NaN) = %#04x, not a NaN", h)
	}
	// A NaN whose payload lies only in the bits a half drops must stay NaN.
	if h := float32ToHalf(math.Float32frombits(0x7f800001)); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("float32ToHalf(signalling NaN) = %#04x, not a NaN", h)
	}
}

func TestFloat32ToHalfRoundsTiesToEvenBetweenAllNeighbours(t *testing.T) {
	// Every midpoint between neighbouring halves is exact in float32 (halves
	// have 11 significant bits); it must round to the even neighbour, and
	// the float32s either side of it to the nearer neighbour.
	for lo := uint16(0); lo < 0x7c00; lo++ {
		hi := lo + 1
		for _, sign := range []uint16{0, 0x8000} {
			a, b := float64(halfToFloat32(lo)), float64(halfToFloat32(hi))
			if hi == 0x7c00 {
				b = 65536 // the overflow threshold is computed as if the exponent went on
			}
			mid := float32((a + b) / 2)
			if float64(mid) != (a+b)/2 {
				t.Fatalf("midpoint of %#04x and %#04x not exact in float32", lo, hi)
			}
			even := lo
			if lo&1 == 1 {
				even = hi
			}
			below := math.Nextafter32(mid, 0)
			above := math.Nextafter32(mid, float32(math.Inf(1)))
			if sign != 0 {
				mid, below, above = -mid, -below, -above
			}
			for _, c := range []struct {
				f    float32
				want uint16
			}{{mid, even | sign}, {below, lo | sign}, {above, hi | sign}} {
				if got := float32ToHalf(c.f); got != c.want {
					t.Fatalf("float32ToHalf(%g) = %#04x, want %#04x", c.f, got, c.want)
				}
			}
		}
	}
}

func TestFloat32ToHalfMatchesNearestHalfSearch(t *testing.T) {
	// Brute-force reference: the nearest of all finite halves, found by
	// search, ties to the even encoding, beyond 65520 infinity.
	var halves []uint16
	for h := uint16(0); h < 0x7c00; h++ {
		halves = append(halves, h)
	}
	nearest := func(x float64) uint16 {
		ax := math.Abs(x)
		var sign uint16
		if math.Signbit(x) {
			sign = 0x8000
		}
		if ax >= 65520 {
			return sign | 0x7c00
		}
		i := sort.Search(len(halves), func(i int) bool { return halfValue(halves[i]) >= ax })
		best := halves[min(i, len(halves)-1)]
		if i > 0 {
			lo := halves[i-1]
			dl, dh := ax-halfValue(lo), halfValue(best)-ax
			if dl < dh || (dl == dh && lo&1 == 0) {
				best = lo
			}
		}
		return sign | best
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		// Random bit patterns with exponents around the half range.
		bits := rng.Uint32()&0x807fffff | uint32(127-30+rng.IntN(50))<<23
		f := math.Float32frombits(bits)
		if got, want := float32ToHalf(f), nearest(float64(f)); got != want {
			t.Fatalf("float32ToHalf(%g) = %#04x, want %#04x", f, got, want)
		}
	}
}

func TestIsHalfOverflowOnlyForFiniteValuesBeyondRange(t *testing.T) {
	for _, tc := range []struct {
		f    float32
		want bool
	}{
		{65504, false},
		{65519.996, false},
		{-65519.996, false},
		{65520, true},
		{-1e30, true},
		{float32(math.Inf(1)), false},
		{float32(math.NaN()), false},
		{0x1p-30, false},
	} {
		if got := isHalfOverflow(tc.f); got != tc.want {
			t.Errorf("isHalfOverflow(%g) = %v, want %v", tc.f, got, tc.want)
		}
	}
}
