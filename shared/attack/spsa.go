package attack

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/artrobust/art/shared/model"
)

// SPSA is the gradient-free L-inf attack of Uesato et al. ("Adversarial
// risk and the dangers of evaluating against weak attacks", ICML 2018,
// Sec. 3.1 and Alg. 1): it minimises the margin loss
//
//	L(x') = z_y(x') - max_{j != y} z_j(x')
//
// using only the ReLU model's logits. Each iteration estimates the gradient
// by simultaneous perturbation (Spall 1992) from Samples/2 antithetic pairs
// of Rademacher directions v_j in {-1,+1}^d,
//
//	g = (2/Samples) sum_j [L(x' + Delta v_j) - L(x' - Delta v_j)] / (2 Delta) * v_j,
//
// takes an Adam step (Kingma & Ba 2015; beta1 0.9, beta2 0.999, epsilon
// 1e-8) of learning rate LR on x', and projects onto the Eps-ball and
// [0,1]. An image stops moving once it is misclassified (EarlyStop), as in
// the paper. It is a check against gradient masking: an attack that needs no
// gradient should not do much better than PGD on a model that does not mask
// gradients.
//
// Each iteration evaluates N*Samples images in one forward pass, so keep
// batches small. The zero value is not the default: start from DefaultSPSA.
type SPSA struct {
	// Eps is the L-inf radius (8/255).
	Eps float64
	// Iterations is the number of Adam steps (100).
	Iterations int
	// Samples is the number of model evaluations per image and iteration,
	// Samples/2 antithetic pairs (128).
	Samples int
	// LR is Adam's learning rate (0.01) and Delta the perturbation size of
	// the finite differences (0.01).
	LR, Delta float64
	// EarlyStop freezes an image once the model misclassifies it (true).
	EarlyStop bool
	Seed      uint64
}

// DefaultSPSA returns the settings of Uesato et al. scaled to a subset
// evaluation on 32x32 images: Eps 8/255, 100 iterations of 128 samples,
// Adam learning rate 0.01, Delta 0.01, early stop.
func DefaultSPSA() SPSA {
	return SPSA{Eps: 8.0 / 255, Iterations: 100, Samples: 128, LR: 0.01, Delta: 0.01, EarlyStop: true}
}

func (a SPSA) String() string {
	return fmt.Sprintf("spsa/eps=%g/n=%d/samples=%d/lr=%g/delta=%g", a.Eps, a.Iterations, a.Samples, a.LR, a.Delta)
}

// Validate checks the settings.
func (a SPSA) Validate() error {
	if !(a.Eps >= 0) || a.Iterations < 0 || a.Samples < 2 || a.Samples%2 != 0 || !(a.LR > 0) || !(a.Delta > 0) {
		return fmt.Errorf("SPSA: need eps >= 0 (%g), iterations >= 0 (%d), an even number of samples >= 2 (%d), lr > 0 (%g), delta > 0 (%g)",
			a.Eps, a.Iterations, a.Samples, a.LR, a.Delta)
	}
	return nil
}

// marginLoss is z_y - max_{j != y} z_j of one row of logits.
func marginLoss(logits []float32, y int) float64 {
	other := math.Inf(-1)
	for j, v := range logits {
		if j != y {
			other = max(other, float64(v))
		}
	}
	return float64(logits[y]) - other
}

// Attack runs SPSA on an NHWC batch with the clean labels and returns the
// adversarial images.
func (a SPSA) Attack(net *model.Net, x []float32, labels []int) ([]float32, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	xt, err := net.Batch(x)
	if err != nil {
		return nil, err
	}
	n := xt.Shape().Dimensions[0]
	if _, err := targetTensor(net, labels, n); err != nil {
		return nil, err
	}
	per, classes, pairs := len(x)/n, net.Config.NumClasses, a.Samples/2
	rng := rand.New(rand.NewPCG(a.Seed, 0x5b5a))
	adv := append([]float32(nil), x...)
	m, v := make([]float64, len(x)), make([]float64, len(x))
	done := make([]bool, n)
	const beta1, beta2, adamEps = 0.9, 0.999, 1e-8

	check := func() (bool, error) {
		logits, err := net.Predict(adv, model.ReLU)
		if err != nil {
			return false, err
		}
		all := true
		for i, p := range model.Argmax(logits, classes) {
			if a.EarlyStop && p != labels[i] {
				done[i] = true
			}
			all = all && done[i]
		}
		return all, nil
	}
	if all, err := check(); err != nil || all {
		return adv, err
	}
	batch := make([]float32, n*a.Samples*per)
	dirs := make([]int8, n*pairs*per)
	grad := make([]float64, per)
	for t := 1; t <= a.Iterations; t++ {
		// Rows of batch: image i, pair j, sign s at ((i*pairs+j)*2+s)*per.
		for i := range n {
			for j := range pairs {
				d := dirs[(i*pairs+j)*per : (i*pairs+j+1)*per]
				plus := batch[((i*pairs+j)*2)*per : ((i*pairs+j)*2+1)*per]
				minus := batch[((i*pairs+j)*2+1)*per : ((i*pairs+j)*2+2)*per]
				for q := range per {
					s := int8(1)
					if rng.IntN(2) == 0 {
						s = -1
					}
					d[q] = s
					xv := float64(adv[i*per+q])
					plus[q] = float32(xv + a.Delta*float64(s))
					minus[q] = float32(xv - a.Delta*float64(s))
				}
			}
		}
		logits, err := net.Predict(batch, model.ReLU)
		if err != nil {
			return nil, err
		}
		for i := range n {
			if done[i] {
				continue
			}
			clear(grad)
			for j := range pairs {
				r := (i*pairs + j) * 2
				diff := marginLoss(logits[r*classes:(r+1)*classes], labels[i]) - marginLoss(logits[(r+1)*classes:(r+2)*classes], labels[i])
				coef := diff / (2 * a.Delta) / float64(pairs)
				for q, s := range dirs[(i*pairs+j)*per : (i*pairs+j+1)*per] {
					grad[q] += coef * float64(s)
				}
			}
			c1, c2 := 1-math.Pow(beta1, float64(t)), 1-math.Pow(beta2, float64(t))
			for q, g := range grad {
				k := i*per + q
				m[k] = beta1*m[k] + (1-beta1)*g
				v[k] = beta2*v[k] + (1-beta2)*g*g
				step := a.LR * (m[k] / c1) / (math.Sqrt(v[k]/c2) + adamEps)
				nv := float64(adv[k]) - step
				nv = min(float64(x[k])+a.Eps, max(float64(x[k])-a.Eps, nv))
				adv[k] = float32(min(1, max(0, nv)))
			}
		}
		if all, err := check(); err != nil || all {
			return adv, err
		}
	}
	return adv, nil
}
