package checkpoint

import "math"

// IEEE 754 binary16 ("half") conversion. A half has 1 sign bit, 5 exponent
// bits (bias 15) and 10 mantissa bits: normals are 1.m × 2^(e-15) for
// e in 1..30, subnormals 0.m × 2^-14, and e = 31 encodes infinity (m = 0)
// or NaN (m ≠ 0). The largest finite half is 65504.

// halfToFloat32 widens a half to float32. Every half is exactly representable
// as a float32, so this is exact; NaN payloads are kept.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		// Subnormal mant × 2^-24: shift the leading one into the implicit
		// bit position, lowering the exponent once per shift.
		e := uint32(127 - 14)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}

// float32ToHalf narrows f to the nearest half, ties to even, as IEEE 754
// prescribes: values beyond the half range become ±Inf, values below half
// the smallest subnormal (2^-25) become ±0, and NaN stays NaN (quiet, with
// the top mantissa bits kept).
func float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7c00 | 0x200 | uint16(mant>>13)
	}
	e := exp - 127 + 15 // the exponent field the half would have
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half: the result is round(full × 2^(exp-150) / 2^-24)
		// = full >> shift, with the implicit bit made explicit. A shift
		// past 24 leaves less than half of the smallest subnormal.
		shift := uint(14 - e)
		if shift > 24 {
			return sign
		}
		full := mant | 0x800000
		return sign | uint16(roundShift(full, shift))
	}
	// A carry out of the mantissa correctly bumps the exponent, up to Inf.
	return sign | uint16(roundShift(uint32(e)<<23|mant, 13))
}

// roundShift returns x >> shift rounded to nearest, ties to even.
func roundShift(x uint32, shift uint) uint32 {
	q := x >> shift
	rem := x & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return q
}

// isHalfOverflow reports whether a finite f rounds to an infinite half,
// which would silently turn a weight into ±Inf.
func isHalfOverflow(f float32) bool {
	return !math.IsInf(float64(f), 0) && !math.IsNaN(float64(f)) && float32ToHalf(f)&0x7fff == 0x7c00
}
