package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/metric"
)

// AttackOptions are the settings of "art attack". Eps, Step, Steps, K,
// Restarts, Beta and Keep are the attacks' fields of the same names (PGD
// uses Eps, Step and Steps).
type AttackOptions struct {
	Ckpt        string   `json:"ckpt"`
	Image       string   `json:"image"`
	Attack      string   `json:"attack"`
	TargetImage string   `json:"target_image,omitempty"`
	Method      string   `json:"method"`
	IGSteps     int      `json:"ig_steps"`
	Samples     int      `json:"samples"`
	Sigma       float64  `json:"sigma"`
	Eps         fraction `json:"eps"`
	Step        fraction `json:"step"`
	Steps       int      `json:"steps"`
	K           int      `json:"k"`
	Restarts    int      `json:"restarts"`
	Beta        float64  `json:"beta"`
	Keep        string   `json:"keep"`
	Seed        uint64   `json:"seed"`
	Out         string   `json:"-"`
}

func runAttack(args []string, stdout, stderr io.Writer) error {
	d := attack.DefaultIFIA()
	o := AttackOptions{Attack: "ifia", Method: "ig", IGSteps: 100, Samples: 50, Sigma: 0.15,
		Eps: fraction(d.Eps), Step: fraction(d.Step), Steps: d.Steps, Restarts: d.Restarts, Beta: d.Beta, Seed: 1, Out: "attack"}
	fs := flag.NewFlagSet("art attack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Ckpt, "ckpt", o.Ckpt, "checkpoint")
	fs.StringVar(&o.Image, "image", o.Image, "PNG or JPEG file (resized to the model's input), or shapes:INDEX (mnist:INDEX, fashion-mnist:INDEX)")
	fs.StringVar(&o.Attack, "attack", o.Attack, "ifia (top-k), masscenter, targeted (Dombrowski et al.; needs -target-image) or pgd")
	fs.StringVar(&o.TargetImage, "target-image", o.TargetImage, "targeted: the image whose map is the target")
	fs.StringVar(&o.Method, "method", o.Method, "attribution method: grad, ixg, ig, smoothgrad, gradshap or gradcam")
	fs.IntVar(&o.IGSteps, "ig-steps", o.IGSteps, "Integrated Gradients steps")
	fs.IntVar(&o.Samples, "samples", o.Samples, "SmoothGrad / GradientSHAP samples")
	fs.Float64Var(&o.Sigma, "sigma", o.Sigma, "SmoothGrad / GradientSHAP noise std")
	fs.Var(&o.Eps, "eps", "L-inf radius (default 8/255)")
	fs.Var(&o.Step, "step", "step size (default 1/255)")
	fs.IntVar(&o.Steps, "steps", o.Steps, "steps")
	fs.IntVar(&o.K, "k", o.K, "top-k pixels (0: 100 at 32x32, scaled with the pixels)")
	fs.IntVar(&o.Restarts, "restarts", o.Restarts, "runs (the first from the clean image)")
	fs.Float64Var(&o.Beta, "beta", o.Beta, "softplus beta of the attack's maps")
	fs.StringVar(&o.Keep, "keep", o.Keep, "iterate kept: kendall, topk, spearman, center or target-mse (empty: the attack's default)")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed")
	fs.StringVar(&o.Out, "out", o.Out, "output directory")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	_, err := Attack(o, stdout)
	return err
}

// TraceStep is one iterate of an attribution attack (attack.Stats).
type TraceStep struct {
	Restart     int  `json:"restart"`
	Step        int  `json:"step"`
	TopK        num  `json:"topk"`
	Kendall     num  `json:"kendall"`
	Spearman    num  `json:"spearman"`
	CenterShift num  `json:"center_shift"`
	TargetMSE   num  `json:"target_mse"`
	Linf        num  `json:"linf"`
	Pred        int  `json:"pred"`
	Correct     bool `json:"correct"`
}

// AttackResult is attack.json.
type AttackResult struct {
	Settings    AttackOptions `json:"settings"`
	AttackDesc  string        `json:"attack_description"`
	MethodDesc  string        `json:"method_description"`
	Label       int           `json:"label"`
	LabelSource string        `json:"label_source"`
	K           int           `json:"k"`
	Before      Prediction    `json:"prediction_before"`
	After       Prediction    `json:"prediction_after"`
	TopK        num           `json:"topk"`
	Kendall     num           `json:"kendall"`
	Spearman    num           `json:"spearman"`
	CenterShift num           `json:"center_shift"`
	Linf        num           `json:"linf"`
	KeptRestart int           `json:"kept_restart"`
	KeptStep    int           `json:"kept_step"`
	Trace       []TraceStep   `json:"trace,omitempty"`
	Files       []string      `json:"files"`
}

// Attack attacks one image and writes the attacked image, the maps before
// and after and attack.json.
func Attack(o AttackOptions, stdout io.Writer) (*AttackResult, error) {
	if o.Ckpt == "" || o.Image == "" {
		return nil, errors.New("-ckpt and -image are required")
	}
	if err := checkOutputDir("-out", o.Out); err != nil {
		return nil, err
	}
	if err := notNegative(flagValue{"-eps", float64(o.Eps)}, flagValue{"-step", float64(o.Step)},
		flagValue{"-steps", float64(o.Steps)}, flagValue{"-restarts", float64(o.Restarts)}); err != nil {
		return nil, err
	}
	m, err := explainMethod(o.Method, o.IGSteps, o.Samples, o.Sigma, o.Seed)
	if err != nil {
		return nil, err
	}
	net, meta, err := loadCheckpoint(o.Ckpt)
	if err != nil {
		return nil, err
	}
	h, c := net.Config.InputSize, net.Config.Channels
	if err := checkTopK(o.K, h, h); err != nil {
		return nil, err
	}
	x, label, err := loadInput(o.Image, h, c, o.Seed)
	if err != nil {
		return nil, err
	}
	before, err := predict(net, x, meta.ClassNames)
	if err != nil {
		return nil, err
	}
	res := &AttackResult{Settings: o, MethodDesc: m.String(), Label: label, LabelSource: "dataset", Before: before,
		K: o.K, KeptRestart: -1, KeptStep: -1}
	if label < 0 {
		res.Label, res.LabelSource = before.Class, "prediction"
	}
	if res.K == 0 {
		res.K = attack.DefaultTopK(h, h)
	}
	y := []int{res.Label}
	var adv []float32
	var ar *attack.Result
	switch o.Attack {
	case "ifia", "masscenter":
		a := attack.DefaultIFIA()
		if o.Attack == "masscenter" {
			a = attack.DefaultCenterAttack()
		}
		a.Eps, a.Step, a.Steps, a.K, a.Restarts, a.Beta, a.Seed = float64(o.Eps), float64(o.Step), o.Steps, o.K, o.Restarts, o.Beta, o.Seed
		if o.Keep != "" {
			if a.Keep, err = attack.ParseCriterion(o.Keep); err != nil {
				return nil, err
			}
		}
		if err := a.Validate(); err != nil {
			return nil, err
		}
		res.AttackDesc = a.String()
		ar, err = a.Attack(net, m, x, y)
	case "targeted":
		if o.TargetImage == "" {
			return nil, errors.New("-attack targeted needs -target-image")
		}
		xt, lt, err := loadInput(o.TargetImage, h, c, o.Seed)
		if err != nil {
			return nil, err
		}
		if lt < 0 {
			pt, err := predict(net, xt, nil)
			if err != nil {
				return nil, err
			}
			lt = pt.Class
		}
		target, _, err := attack.SaliencyMaps(net, m, xt, []int{lt})
		if err != nil {
			return nil, err
		}
		a := attack.DefaultManipulation()
		a.Eps, a.Step, a.Steps, a.K, a.Restarts, a.Beta, a.Seed = float64(o.Eps), float64(o.Step), o.Steps, o.K, o.Restarts, o.Beta, o.Seed
		if o.Keep != "" {
			if a.Keep, err = attack.ParseCriterion(o.Keep); err != nil {
				return nil, err
			}
		}
		if err := a.Validate(); err != nil {
			return nil, err
		}
		res.AttackDesc = a.String()
		ar, err = a.Attack(net, m, x, y, target)
		if err != nil {
			return nil, err
		}
	case "pgd":
		p := attack.PGD{Eps: float64(o.Eps), Step: float64(o.Step), Steps: o.Steps, RandomStart: true}
		if err := p.Validate(); err != nil {
			return nil, err
		}
		res.AttackDesc = p.String()
		adv, err = p.Attack(net, x, y, o.Seed)
	default:
		return nil, fmt.Errorf("unknown -attack %q (want ifia, masscenter, targeted or pgd)", o.Attack)
	}
	if err != nil {
		return nil, err
	}
	if ar != nil {
		adv = ar.Adv
		im := ar.Images[0]
		res.KeptRestart, res.KeptStep = im.Restart, im.Step
		for r, steps := range im.Trace {
			for s, st := range steps {
				res.Trace = append(res.Trace, TraceStep{Restart: r, Step: s, TopK: num(st.TopK), Kendall: num(st.Kendall),
					Spearman: num(st.Spearman), CenterShift: num(st.CenterShift), TargetMSE: num(st.TargetMSE), Linf: num(st.Linf),
					Pred: st.Pred, Correct: st.Correct})
			}
		}
	}
	if res.After, err = predict(net, adv, meta.ClassNames); err != nil {
		return nil, err
	}
	// The evaluation maps of both images, for the label, and their measures.
	both := append(append([]float32{}, x...), adv...)
	sal, _, err := attack.SaliencyMaps(net, m, both, []int{res.Label, res.Label})
	if err != nil {
		return nil, err
	}
	s0, s1 := sal[:h*h], sal[h*h:]
	tk, err := metric.TopKIntersection(s0, s1, res.K)
	if err != nil {
		return nil, err
	}
	kd, err := metric.KendallTau(s0, s1)
	if err != nil {
		return nil, err
	}
	sp, err := metric.SpearmanRho(s0, s1)
	if err != nil {
		return nil, err
	}
	cs, err := metric.CenterShift(s0, s1, h, h)
	if err != nil {
		return nil, err
	}
	res.TopK, res.Kendall, res.Spearman, res.CenterShift = num(tk), num(kd), num(sp), num(cs)
	linf := 0.0
	for i := range x {
		linf = max(linf, float64(abs32(adv[i]-x[i])))
	}
	res.Linf = num(linf)
	maps, err := attribution.Attribute(net, m, both, []int{res.Label, res.Label})
	if err != nil {
		return nil, err
	}
	per := h * h * c
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	res.Files = []string{"image.png", "image.npy", "adv.png", "adv.npy", "map_before.png", "map_before.npy", "map_after.png", "map_after.npy"}
	for _, w := range []func() error{
		func() error { return writeImagePNG(filepath.Join(o.Out, "image.png"), x, h, h, c) },
		func() error { return writeNPY(filepath.Join(o.Out, "image.npy"), x, h, h, c) },
		func() error { return writeImagePNG(filepath.Join(o.Out, "adv.png"), adv, h, h, c) },
		func() error { return writeNPY(filepath.Join(o.Out, "adv.npy"), adv, h, h, c) },
		func() error { return writeMapPNG(filepath.Join(o.Out, "map_before.png"), x, maps[:per], h, h, c) },
		func() error { return writeNPY(filepath.Join(o.Out, "map_before.npy"), maps[:per], h, h, c) },
		func() error { return writeMapPNG(filepath.Join(o.Out, "map_after.png"), adv, maps[per:], h, h, c) },
		func() error { return writeNPY(filepath.Join(o.Out, "map_after.npy"), maps[per:], h, h, c) },
		func() error { return writeJSON(filepath.Join(o.Out, "attack.json"), res) },
	} {
		if err := w(); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(stdout, "%s: prediction %d -> %d; top-%d intersection %.3f, Kendall %.3f, Spearman %.3f, L-inf %.4f; results in %s\n",
		res.AttackDesc, res.Before.Class, res.After.Class, res.K, tk, kd, sp, linf, o.Out)
	return res, nil
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
