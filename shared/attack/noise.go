package attack

import (
	"fmt"
	"math/rand/v2"

	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/tensors"
)

// RandomSign is the random baseline of the attribution attacks: x' =
// clip(x + Eps * s, 0, 1) with s uniform in {-1, +1} per value, the
// perturbation an L-inf attack of radius Eps reaches at a vertex of the
// ball, in a random direction (Ghorbani et al., AAAI 2019, Sec. 4, compare
// their attacks with random sign perturbations of the same size). Draws
// perturbations are drawn per image from Seed; as for the attacks, the
// returned one is, among those still classified as the label, the one with
// the best Keep score, and Result.Images[i].Trace[d][0] describes draw d.
type RandomSign struct {
	Eps float64
	// Draws is the number of random perturbations per image (1).
	Draws int
	// K is the k of Stats.TopK; 0 selects DefaultTopK.
	K    int
	Keep Criterion
	Seed uint64
}

// DefaultRandomSign returns the baseline of DefaultIFIA: one draw at Eps
// 8/255, scored like the attack.
func DefaultRandomSign() RandomSign {
	return RandomSign{Eps: 8.0 / 255, Draws: 1, Keep: KeepKendall}
}

// Validate checks the settings.
func (a RandomSign) Validate() error {
	if !(a.Eps >= 0) || a.Draws < 1 || a.K < 0 {
		return fmt.Errorf("RandomSign: need eps >= 0 (%g), draws >= 1 (%d), k >= 0 (%d)", a.Eps, a.Draws, a.K)
	}
	return nil
}

// Perturb returns x plus Eps times a uniform random sign per value, clipped
// to [0,1].
func (a RandomSign) Perturb(rng *rand.Rand, x []float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		d := a.Eps
		if rng.IntN(2) == 0 {
			d = -d
		}
		out[i] = float32(min(1, max(0, float64(v)+d)))
	}
	return out
}

// Attack applies the baseline to an NHWC batch and scores it with the
// evaluation maps of m (on the ReLU model), as IFIA.Attack does.
func (a RandomSign) Attack(net *model.Net, m attribution.Method, x []float32, labels []int) (*Result, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	xt, err := net.Batch(x)
	if err != nil {
		return nil, err
	}
	n := xt.Shape().Dimensions[0]
	yt, err := targetTensor(net, labels, n)
	if err != nil {
		return nil, err
	}
	size, classes := net.Config.InputSize, net.Config.NumClasses
	hw, per := size*size, len(x)/n
	k := a.K
	if k == 0 {
		k = DefaultTopK(size, size)
	}
	if k > hw {
		return nil, fmt.Errorf("RandomSign: top-k k = %d outside [1, %d]", k, hw)
	}
	clean, cleanLogits, err := evalCall(net, m, xt, yt)
	if err != nil {
		return nil, err
	}
	res := &Result{Adv: append([]float32(nil), x...), Images: make([]ImageResult, n)}
	for i := range res.Images {
		xi := x[i*per : (i+1)*per]
		s := compare(clean[i*hw:(i+1)*hw], clean[i*hw:(i+1)*hw], nil, xi, xi, cleanLogits[i*classes:(i+1)*classes], labels[i], k, size, size)
		res.Images[i] = ImageResult{Label: labels[i], CleanCorrect: s.Correct, Kept: s, Restart: -1, Step: -1, Trace: make([][]Stats, a.Draws)}
	}
	rng := rand.New(rand.NewPCG(a.Seed, 0x5167))
	for d := range a.Draws {
		adv := a.Perturb(rng, x)
		sal, logits, err := evalCall(net, m, tensors.FromFlatDataAndDimensions(adv, xt.Shape().Dimensions...), yt)
		if err != nil {
			return nil, err
		}
		for i := range res.Images {
			img := &res.Images[i]
			xa := adv[i*per : (i+1)*per]
			s := compare(clean[i*hw:(i+1)*hw], sal[i*hw:(i+1)*hw], nil, x[i*per:(i+1)*per], xa, logits[i*classes:(i+1)*classes], labels[i], k, size, size)
			img.Trace[d] = []Stats{s}
			if img.CleanCorrect && a.Keep.better(s, img.Kept, true) {
				img.Kept, img.Restart, img.Step = s, d, 0
				copy(res.Adv[i*per:(i+1)*per], xa)
			}
		}
	}
	return res, nil
}
