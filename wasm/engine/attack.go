package engine

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/metric"
	"github.com/artrobust/art/shared/model"
	"github.com/artrobust/art/wasm/protocol"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// AttackRun is the top-k attribution attack of Ghorbani et al. (AAAI 2019,
// Sec. 3) on one image and one model, one step at a time, as the ART paper
// (Singh et al., ECCV 2020, Sec. 5.1) evaluates attributional robustness:
//
//	x_{t+1} = clip_{[0,1]}( clip_{x0 ± eps}( x_t - step · sign(∇_x Σ_{i∈K} S(x_t)_i) ) )
//
// where S is the saliency map (|map| averaged over channels, normalised to
// sum H·W) of the predicted class, computed with softplus (the attack
// differentiates through an input gradient), and K the top-k pixels of the
// original map. Every iterate is evaluated as the model is used: ReLU map,
// top-k intersection and Kendall's tau against the original map, and the
// prediction, which must stay the original one for the iterate to count.
//
// The step is shared/attack's IFIA.StepGraph, the attack the native
// evaluation runs; AttackRun drives it one step at a time (with the
// evaluation fused into the step's graph) so that the page can show every
// iterate, alternate between models and stop between steps.
type AttackRun struct {
	m      *Model
	cfg    protocol.Attack
	eval   attribution.Method // ReLU map of the iterates
	attack attribution.Method // softplus map the step differentiates
	x0, xt []float32
	mask   []float32 // 1 on the original top-k pixels, H*W
	map0   []float32 // original saliency, H*W
	pred0  int

	step    int
	best    protocol.Step
	elapsed time.Duration
}

// NewAttack evaluates the original image (step 0) and prepares the attack.
func (m *Model) NewAttack(img []float32, cfg protocol.Attack) (*AttackRun, protocol.Step, error) {
	c := m.Net.Config
	if err := m.checkImage(img); err != nil {
		return nil, protocol.Step{}, err
	}
	if err := cfg.Validate(c.InputSize * c.InputSize); err != nil {
		return nil, protocol.Step{}, err
	}
	eval, err := AttributionMethod(cfg.Method, model.ReLU)
	if err != nil {
		return nil, protocol.Step{}, err
	}
	atk, err := attack.WithActivation(eval, model.Softplus(cfg.Beta))
	if err != nil {
		return nil, protocol.Step{}, err
	}
	r := &AttackRun{m: m, cfg: cfg, eval: eval, attack: atk, x0: img, xt: img, pred0: -1}
	start := time.Now()
	s, err := r.evaluate()
	if err != nil {
		return nil, protocol.Step{}, err
	}
	r.pred0, r.map0 = s.Pred, s.Map
	r.mask = make([]float32, len(s.Map))
	for i, in := range metric.TopKMask(s.Map, cfg.K) {
		if in {
			r.mask[i] = 1
		}
	}
	s.Kept, s.TopK, s.Kendall = true, 1, 1
	r.elapsed = time.Since(start)
	s.Millis = millis(r.elapsed)
	r.best = s
	return r, s, nil
}

// Done reports whether every step has run.
func (r *AttackRun) Done() bool { return r.step >= r.cfg.Steps }

// Next runs one attack step and evaluates the new iterate.
func (r *AttackRun) Next() (protocol.Step, error) {
	if r.Done() {
		return protocol.Step{}, fmt.Errorf("attack already ran its %d steps", r.cfg.Steps)
	}
	start := time.Now()
	net := r.m.Net
	c := net.Config
	x0, err := net.Batch(r.x0)
	if err != nil {
		return protocol.Step{}, err
	}
	xt, err := net.Batch(r.xt)
	if err != nil {
		return protocol.Step{}, err
	}
	key := fmt.Sprintf("demo/%s/attack=%s/eval=%s", r.ifia(), r.attack, r.eval)
	out, err := net.Call(key, func() (*gmodel.Exec, error) {
		return gmodel.NewExec(net.Backend, net.Store, func(scope *gmodel.Scope, x0, xt, target, mask *graph.Node) (*graph.Node, *graph.Node, *graph.Node) {
			next := r.ifia().StepGraph(net, r.attack, x0, xt, target, mask)
			sal, logits := evalGraph(net, r.eval, attack.Detach(next), target)
			return next, sal, logits
		})
	}, x0, xt, r.targetTensor(), tensors.FromFlatDataAndDimensions(r.mask, 1, c.InputSize, c.InputSize))
	if err != nil {
		return protocol.Step{}, err
	}
	if r.xt, err = tensors.CopyFlatData[float32](out[0]); err != nil {
		return protocol.Step{}, err
	}
	r.step++
	s, err := r.stepFrom(out[1], out[2])
	if err != nil {
		return protocol.Step{}, err
	}
	s.Kept = s.Pred == r.pred0
	k := min(r.cfg.K, len(s.Map))
	ti, err := metric.TopKIntersection(r.map0, s.Map, k)
	if err != nil {
		return protocol.Step{}, err
	}
	tau, err := metric.KendallTau(r.map0, s.Map)
	if err != nil {
		return protocol.Step{}, err
	}
	s.TopK, s.Kendall = protocol.Num(ti), protocol.Num(tau)
	d := time.Since(start)
	r.elapsed += d
	s.Millis = millis(d)
	// The kept iterate: lowest tau among those that keep the prediction
	// (an undefined tau never wins).
	if s.Kept && tau < float64(r.best.Kendall) {
		r.best = s
	}
	return s, nil
}

// Summary is the outcome so far.
func (r *AttackRun) Summary() protocol.Summary {
	return protocol.Summary{Model: r.m.Card.ID, BestStep: r.best.Step, TopK: r.best.TopK,
		Kendall: r.best.Kendall, StepsRun: r.step, MillisRun: millis(r.elapsed)}
}

// Best is the kept iterate so far (step 0 if none).
func (r *AttackRun) Best() protocol.Step { return r.best }

// ifia is the shared attack's configuration: its StepGraph is the step.
func (r *AttackRun) ifia() attack.IFIA {
	return attack.IFIA{Objective: attack.TopKObjective, Eps: r.cfg.Eps / 255, Step: r.cfg.StepSize / 255,
		Steps: r.cfg.Steps, K: r.cfg.K, Restarts: 1, Beta: r.cfg.Beta, Keep: attack.KeepKendall}
}

func (r *AttackRun) targetTensor() *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions([]int32{int32(max(r.pred0, 0))}, 1)
}

// evaluate computes the prediction and the evaluation map of the current
// iterate; before the first call the target is the predicted class.
func (r *AttackRun) evaluate() (protocol.Step, error) {
	net := r.m.Net
	if r.pred0 < 0 {
		probs, err := r.m.Predict(r.xt)
		if err != nil {
			return protocol.Step{}, err
		}
		r.pred0 = Argmax(probs)
	}
	xt, err := net.Batch(r.xt)
	if err != nil {
		return protocol.Step{}, err
	}
	out, err := net.Call("demo/ifia-eval/"+r.eval.String(), func() (*gmodel.Exec, error) {
		return gmodel.NewExec(net.Backend, net.Store, func(scope *gmodel.Scope, x, target *graph.Node) (*graph.Node, *graph.Node) {
			return evalGraph(net, r.eval, x, target)
		})
	}, xt, r.targetTensor())
	if err != nil {
		return protocol.Step{}, err
	}
	return r.stepFrom(out[0], out[1])
}

// stepFrom builds the Step of the current iterate from its saliency map and
// logits.
func (r *AttackRun) stepFrom(salT, logitsT *tensors.Tensor) (protocol.Step, error) {
	sal, err := tensors.CopyFlatData[float32](salT)
	if err != nil {
		return protocol.Step{}, err
	}
	logits, err := tensors.CopyFlatData[float32](logitsT)
	if err != nil {
		return protocol.Step{}, err
	}
	probs := Softmax(logits)
	pred := Argmax(probs)
	return protocol.Step{Model: r.m.Card.ID, Step: r.step, Image: r.xt, Map: sal,
		Pred: pred, Prob: float64(probs[pred])}, nil
}

// evalGraph is the evaluation view of an iterate: the saliency map of the
// ReLU model's map (attribution.Saliency) and the ReLU logits, as
// attack.SaliencyMaps computes them, but inside the step's graph.
func evalGraph(net *model.Net, m attribution.Method, x, target *graph.Node) (sal, logits *graph.Node) {
	sal = attribution.Saliency(m.Map(net, x, target))
	logits = net.Logits(x, model.Pass{Act: model.ReLU})
	return graph.StopGradient(sal), graph.StopGradient(logits)
}

// Attack runs the attack on every model side by side, one step of each in
// turn, calling emit with every step (step 0 first). It stops early, with
// Stopped set in the summaries, when ctx is done; emit runs between steps,
// so it is where a caller lets stop requests in.
func (e *Engine) Attack(ctx context.Context, ids []string, img []float32, cfg protocol.Attack, emit func(protocol.Step)) ([]protocol.Summary, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("attack: no model named")
	}
	runs := make([]*AttackRun, len(ids))
	for i, id := range ids {
		m, err := e.Model(id)
		if err != nil {
			return nil, err
		}
		r, s0, err := m.NewAttack(img, cfg)
		if err != nil {
			return nil, err
		}
		runs[i] = r
		emit(s0)
	}
	stopped := false
	for step := 0; step < cfg.Steps && !stopped; step++ {
		for _, r := range runs {
			if ctx.Err() != nil {
				stopped = true
				break
			}
			s, err := r.Next()
			if err != nil {
				return nil, err
			}
			emit(s)
		}
	}
	out := make([]protocol.Summary, len(runs))
	for i, r := range runs {
		out[i] = r.Summary()
		out[i].Stopped = stopped
	}
	return out, nil
}

func millis(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }
