package corrupt

import (
	"math"
	"math/rand/v2"
)

// gaussianNoise adds N(0, s^2) per value, s = 0.04, 0.06, 0.08, 0.09, 0.10.
func gaussianNoise(im *image, s int, rng *rand.Rand) *image {
	sigma := [...]float64{0.04, 0.06, 0.08, 0.09, 0.10}[s]
	out := im.clone()
	for i := range out.pix {
		out.pix[i] += rng.NormFloat64() * sigma
	}
	return out.clip()
}

// shotNoise replaces each value x by Poisson(x*c)/c, c = 500, 250, 100, 75,
// 50 photons at full scale.
func shotNoise(im *image, s int, rng *rand.Rand) *image {
	c := [...]float64{500, 250, 100, 75, 50}[s]
	out := im.clone()
	for i, v := range out.pix {
		out.pix[i] = float64(poisson(rng, v*c)) / c
	}
	return out.clip()
}

// impulseNoise is salt-and-pepper noise as scikit-image's random_noise(mode
// "s&p"): a fraction p = 0.01, 0.02, 0.03, 0.05, 0.07 of the values
// (each channel on its own) is replaced, half by 1 and half by 0. The
// replaced values of a lower severity are a subset of those of a higher one.
func impulseNoise(im *image, s int, rng *rand.Rand) *image {
	p := [...]float64{0.01, 0.02, 0.03, 0.05, 0.07}[s]
	out := im.clone()
	for i := range out.pix {
		flip, salt := rng.Float64(), rng.Float64()
		if flip < p {
			if salt < 0.5 {
				out.pix[i] = 1
			} else {
				out.pix[i] = 0
			}
		}
	}
	return out
}

// poisson draws from the Poisson distribution of mean lam: by multiplying
// uniforms below 10 (Knuth), and by Hörmann's transformed rejection with
// squeeze (PTRS, "The transformed rejection method for generating Poisson
// random variables", 1993) above, as NumPy does.
func poisson(rng *rand.Rand, lam float64) int {
	if lam <= 0 {
		return 0
	}
	if lam < 10 {
		l, k, p := math.Exp(-lam), 0, rng.Float64()
		for p > l {
			k++
			p *= rng.Float64()
		}
		return k
	}
	slam, loglam := math.Sqrt(lam), math.Log(lam)
	b := 0.931 + 2.53*slam
	a := -0.059 + 0.02483*b
	invalpha := 1.1239 + 1.1328/(b-3.4)
	vr := 0.9277 - 3.6224/(b-2)
	for {
		u := rng.Float64() - 0.5
		v := rng.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + lam + 0.43)
		if us >= 0.07 && v <= vr {
			return int(k)
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+math.Log(invalpha)-math.Log(a/(us*us)+b) <= -lam+k*loglam-lg {
			return int(k)
		}
	}
}
