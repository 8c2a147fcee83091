package attack

import (
	"math"
	"testing"
)

// maskedKendall zeroes, in both maps, the entries outside the first map's
// top-k set before ranking: checked against a brute-force tau-b on the
// masked copies.
func TestMaskedKendallRanksTheTopKMaskedMaps(t *testing.T) {
	a := []float32{0.9, 0.1, 0.5, 0.3, 0.8, 0.05, 0.7}
	b := []float32{0.2, 0.6, 0.1, 0.9, 0.3, 0.4, 0.8}
	const k = 3 // the top 3 of a: indices 0, 4, 6
	am := []float64{0.9, 0, 0, 0, 0.8, 0, 0.7}
	bm := []float64{0.2, 0, 0, 0, 0.3, 0, 0.8}
	var conc, disc, ta, tb float64
	for i := range am {
		for j := i + 1; j < len(am); j++ {
			da, db := am[i]-am[j], bm[i]-bm[j]
			switch {
			case da == 0 && db == 0:
			case da == 0:
				ta++
			case db == 0:
				tb++
			case da*db > 0:
				conc++
			default:
				disc++
			}
		}
	}
	want := (conc - disc) / math.Sqrt((conc+disc+ta)*(conc+disc+tb))
	if got := maskedKendall(a, b, k); math.Abs(got-want) > 1e-12 {
		t.Errorf("maskedKendall = %v, brute force %v", got, want)
	}
}
