package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/artrobust/art/shared/checkpoint"
	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/model"
	"github.com/artrobust/art/shared/nanjson"
	"github.com/artrobust/art/shared/train"
	"github.com/gomlx/compute"
	"github.com/schollz/progressbar/v3"
)

var errInterrupted = errors.New("interrupted")

// fraction is a flag value that accepts "8/255" as well as "0.0314".
type fraction float64

func (f *fraction) String() string { return strconv.FormatFloat(float64(*f), 'g', -1, 64) }

func (f *fraction) Set(s string) error {
	num, den, ok := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return fmt.Errorf("not a number: %q", s)
	}
	if ok {
		d, err := strconv.ParseFloat(strings.TrimSpace(den), 64)
		if err != nil || d == 0 {
			return fmt.Errorf("bad denominator in %q", s)
		}
		n /= d
	}
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return fmt.Errorf("not a finite number: %q", s)
	}
	*f = fraction(n)
	return nil
}

// Get makes the flag's value visible to checkNumbers.
func (f *fraction) Get() any { return float64(*f) }

// intList is a comma-separated list of integers, e.g. "30,45".
type intList []int

func (l *intList) String() string {
	s := make([]string, len(*l))
	for i, v := range *l {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(s string) error {
	*l = nil
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || v < 0 {
			return fmt.Errorf("not a list of integers from 0: %q", s)
		}
		*l = append(*l, v)
	}
	return nil
}

// TrainOptions are the settings of a training run; flags, checkpoint
// metadata and the metrics log share these names.
type TrainOptions struct {
	Data     string  `json:"data"`
	Model    string  `json:"model"`
	Method   string  `json:"method"`
	Out      string  `json:"out"`
	Size     int     `json:"size"`
	TrainN   int     `json:"train_n"`
	TestN    int     `json:"test_n"`
	Seed     uint64  `json:"seed"`
	Epochs   int     `json:"epochs"`
	Batch    int     `json:"batch"`
	LR       float64 `json:"lr"`
	LREpochs intList `json:"lr_epochs"`
	LRFactor float64 `json:"lr_factor"`
	Warmup   int     `json:"warmup_steps"`

	Momentum    float64 `json:"momentum"`
	Nesterov    bool    `json:"nesterov"`
	WeightDecay float64 `json:"weight_decay"`

	PGDSteps int      `json:"pgd_steps"`
	PGDEps   fraction `json:"pgd_eps"`
	PGDStep  fraction `json:"pgd_step"`

	ARTSteps   int      `json:"art_steps"`
	ARTEps     fraction `json:"art_eps"`
	ARTStep    fraction `json:"art_step"`
	Lambda     float64  `json:"lambda"`
	Beta       float64  `json:"beta"`
	AttackTopK int      `json:"attack_topk"`
	Objective  string   `json:"objective"`
	AdvCE      bool     `json:"adv_ce"`

	CropPad   int     `json:"crop_pad"`
	Flip      bool    `json:"flip"`
	Jitter    float64 `json:"jitter"`
	Rotate    float64 `json:"rotate"`
	Translate float64 `json:"translate"`
	Project   float64 `json:"project"`
	Balance   bool    `json:"balance"`

	Init       string `json:"init,omitempty"`
	Resume     bool   `json:"-"`
	CkptEvery  int    `json:"ckpt_every"`
	EvalN      int    `json:"eval_n"`
	EvalPGDN   int    `json:"eval_pgd_n"`
	EvalPGD    int    `json:"eval_pgd_steps"`
	Conv       string `json:"conv"`
	ConvParts  int    `json:"conv_parts,omitempty"`
	NoProgress bool   `json:"-"`
	MaxSteps   int    `json:"max_steps,omitempty"`

	RecipeOptions // -pretrained, -recipe (recipe.go)
	ChenOptions   // -optimizer, IG-NORM's -ig-* (chen.go)

	NaNRetries  int     `json:"nan_retries,omitempty"`
	NaNLRFactor float64 `json:"nan_lr_factor,omitempty"`
	// LRScale is the product of the -nan-lr-factor reductions so far (1
	// before any); checkpoints record it so that a resumed run keeps it.
	LRScale float64 `json:"lr_scale,omitempty"`
}

func defaultTrainOptions() TrainOptions {
	c := train.DefaultConfig(train.Natural)
	return TrainOptions{
		Data: "shapes", Model: "WRN-10-1", Method: "natural", Size: 32, Seed: 1,
		Epochs: 8, Batch: 64, LR: 0.05, LRFactor: 0.1, Warmup: 50,
		Momentum: c.Momentum, Nesterov: c.Nesterov, WeightDecay: c.WeightDecay,
		PGDSteps: c.PGDSteps, PGDEps: fraction(c.PGDEps), PGDStep: fraction(c.PGDStep),
		ARTSteps: c.ARTSteps, ARTEps: fraction(c.ARTEps), ARTStep: fraction(c.ARTStep),
		Lambda: c.Lambda, Beta: c.Beta, AttackTopK: c.AttackTopK, Objective: c.Objective.String(),
		CropPad: 4, Flip: true, CkptEvery: 200, EvalN: 1000, EvalPGDN: 200, EvalPGD: 10, Conv: "auto",
		NaNLRFactor: 0.5, ChenOptions: defaultChenOptions(),
	}
}

func (o *TrainOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.Data, "data", o.Data, "dataset: shapes (built-in), mnist (fetched through the Go module proxy), fashion-mnist\n(Debian's dataset-fashion-mnist, or fashion-mnist:PATH), cifar10:PATH, svhn:PATH, gtsrb:PATH, flowers17:PATH or cub:PATH")
	fs.StringVar(&o.Model, "model", o.Model, "architecture: WRN-d-k (e.g. WRN-10-1, WRN-16-4, WRN-28-10), ResNet-18/26/34/50/101/152, VGG16-GAP or MNIST-CNN")
	fs.StringVar(&o.Method, "method", o.Method, "training method: natural, pgd, art, ig-norm or ig-sum-norm (Chen et al.)")
	fs.StringVar(&o.Out, "out", o.Out, "output directory (checkpoint, metrics log, plots)")
	fs.IntVar(&o.Size, "size", o.Size, "image side of the resized datasets: shapes, gtsrb, flowers17 and cub (CUB: 224 with -recipe)")
	fs.IntVar(&o.TrainN, "train-n", o.TrainN, "training images to generate (shapes; 0: 10000) or to use (0: all)")
	fs.IntVar(&o.TestN, "test-n", o.TestN, "test images to generate (shapes; 0: 2000) or to use (0: all)")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of initialisation, data order, augmentation and attacks")
	fs.IntVar(&o.Epochs, "epochs", o.Epochs, "passes over the training data")
	fs.IntVar(&o.Batch, "batch", o.Batch, "batch size")
	fs.Float64Var(&o.LR, "lr", o.LR, "initial learning rate")
	fs.Var(&o.LREpochs, "lr-epochs", "epochs at which the learning rate is multiplied by -lr-factor (e.g. 5,8; default: at 60% and 80% of -epochs)")
	fs.Float64Var(&o.LRFactor, "lr-factor", o.LRFactor, "learning-rate factor at each -lr-epochs milestone")
	fs.IntVar(&o.Warmup, "warmup", o.Warmup, "steps of linear learning-rate warm-up")
	fs.Float64Var(&o.Momentum, "momentum", o.Momentum, "SGD momentum")
	fs.BoolVar(&o.Nesterov, "nesterov", o.Nesterov, "Nesterov momentum")
	fs.Float64Var(&o.WeightDecay, "weight-decay", o.WeightDecay, "L2 weight decay")
	fs.IntVar(&o.PGDSteps, "pgd-steps", o.PGDSteps, "PGD training: attack steps")
	fs.Var(&o.PGDEps, "pgd-eps", "PGD training: L-inf radius (e.g. 8/255)")
	fs.Var(&o.PGDStep, "pgd-step", "PGD training: step size (e.g. 2/255)")
	fs.IntVar(&o.ARTSteps, "art-steps", o.ARTSteps, "ART: inner attack steps")
	fs.Var(&o.ARTEps, "art-eps", "ART: inner attack L-inf radius (e.g. 8/255)")
	fs.Var(&o.ARTStep, "art-step", "ART: inner attack step size (e.g. 5/255)")
	fs.Float64Var(&o.Lambda, "lambda", o.Lambda, "ART: weight of the attribution loss")
	fs.Float64Var(&o.Beta, "beta", o.Beta, "ART: softplus beta of the double-backprop passes")
	fs.IntVar(&o.AttackTopK, "attack-topk", o.AttackTopK, "ART: inner attack measures distances on the k entries of largest |grad| (0: all)")
	fs.StringVar(&o.Objective, "objective", o.Objective, "ART attribution objective: triplet-cos (the paper's, as its reference code computes it: normalised\n"+
		"image, gradients w.r.t. it, hard mining across x and x'), triplet-l2 or distance (Table 5 ablations, same anchor\n"+
		"and mining), triplet-cos-raw (the project's first formulation: raw [0,1] image, no mining; an ablation)")
	fs.BoolVar(&o.AdvCE, "adv-ce", o.AdvCE, "ART: cross-entropy on PGD examples instead of x' (Appendix C)")
	fs.IntVar(&o.CropPad, "crop-pad", o.CropPad, "augmentation: random crop padding (0: off)")
	fs.BoolVar(&o.Flip, "flip", o.Flip, "augmentation: random horizontal flips")
	fs.Float64Var(&o.Jitter, "jitter", o.Jitter, "augmentation: colour jitter strength (0: off)")
	fs.Float64Var(&o.Rotate, "rotate", o.Rotate, "augmentation: largest random rotation in degrees (0: off; the paper balances GTSRB and Flowers with rotations)")
	fs.Float64Var(&o.Translate, "translate", o.Translate, "augmentation: largest random sub-pixel translation in pixels (0: off)")
	fs.Float64Var(&o.Project, "project", o.Project, "augmentation: largest random perspective distortion as a fraction of the image side (0: off)")
	fs.BoolVar(&o.Balance, "balance", o.Balance, "oversample smaller classes to the size of the largest each epoch (with augmentation, as for GTSRB and Flowers)")
	fs.StringVar(&o.Init, "init", o.Init, "start from this checkpoint's weights (fine-tuning)")
	fs.BoolVar(&o.Resume, "resume", o.Resume, "continue the run in -out from its checkpoint")
	fs.IntVar(&o.CkptEvery, "ckpt-every", o.CkptEvery, "write a checkpoint every N steps (0: only per epoch and at the end)")
	fs.IntVar(&o.EvalN, "eval-n", o.EvalN, "test images for the per-epoch clean accuracy")
	fs.IntVar(&o.EvalPGDN, "eval-pgd-n", o.EvalPGDN, "test images for the per-epoch PGD accuracy (0: skip)")
	fs.IntVar(&o.EvalPGD, "eval-pgd-steps", o.EvalPGD, "PGD steps of the per-epoch robustness check (eps and step as -pgd-eps/-pgd-step)")
	fs.StringVar(&o.Conv, "conv", o.Conv, "convolution formulation: auto, gather, slices, native, subsample or s2d")
	fs.IntVar(&o.ConvParts, "conv-parts", model.ConvBatchParts, "image groups each gather convolution is split into (speed and memory only; 1 sums in the order\nof the code before the split, which the shipped weights were trained with)")
	fs.IntVar(&o.MaxSteps, "max-steps", o.MaxSteps, "stop after this many steps in all (0: run every epoch)")
	fs.BoolVar(&o.NoProgress, "no-progress", o.NoProgress, "no progress bar")
	o.recipeFlags(fs)
	o.chenFlags(fs)
	fs.IntVar(&o.NaNRetries, "nan-retries", o.NaNRetries, "when the loss or the weights stop being finite: reload the last good checkpoint,\nmultiply the learning rate by -nan-lr-factor and go on, up to this many times (0: stop at once)")
	fs.Float64Var(&o.NaNLRFactor, "nan-lr-factor", o.NaNLRFactor, "learning-rate factor of each -nan-retries retry, in (0, 1)")
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	o := defaultTrainOptions()
	fs := flag.NewFlagSet("art train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.flags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: art train --out DIR [flags]\n\nTrains a classifier (WRN, ResNet or VGG16-GAP) naturally, adversarially (PGD) or with ART.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if err := o.applyRecipe(fs, stdout); err != nil {
		return err
	}
	_, err := Train(o, stdout, stderr)
	return err
}

// EpochRecord is one line of the metrics log (metrics.jsonl).
type EpochRecord struct {
	Kind      string  `json:"kind"` // "step" or "epoch"
	Step      int     `json:"step"`
	Epoch     float64 `json:"epoch"`
	LR        float64 `json:"lr"`
	Loss      float64 `json:"loss"`
	CE        float64 `json:"ce"`
	Attr      float64 `json:"attr"`
	Acc       float64 `json:"train_acc"`
	ImagesSec float64 `json:"images_per_sec,omitempty"`
	CleanAcc  float64 `json:"clean_acc,omitempty"`
	PGDAcc    float64 `json:"pgd_acc,omitempty"`
	Elapsed   float64 `json:"elapsed_s"`
}

// TrainResult summarises a finished run.
type TrainResult struct {
	Checkpoint string
	CleanAcc   float64
	PGDAcc     float64
	Steps      int
	Seconds    float64
}

func (o *TrainOptions) validate() error {
	switch {
	case o.Out == "":
		return errors.New("-out DIR is required")
	case o.Epochs < 1:
		return fmt.Errorf("-epochs %d: need at least 1", o.Epochs)
	case o.Batch < 1:
		return fmt.Errorf("-batch %d: need at least 1", o.Batch)
	case !(o.LR > 0):
		return fmt.Errorf("-lr %g must be positive", o.LR)
	case o.Resume && o.Init != "":
		return errors.New("-resume and -init exclude each other")
	case o.NaNRetries < 0:
		return fmt.Errorf("-nan-retries %d: must not be negative", o.NaNRetries)
	case o.ConvParts < 0:
		return fmt.Errorf("-conv-parts %d: want 1 or more (0: the default, %d)", o.ConvParts, model.ConvBatchParts)
	case o.NaNRetries > 0 && !(o.NaNLRFactor > 0 && o.NaNLRFactor < 1):
		return fmt.Errorf("-nan-lr-factor %g: want a factor between 0 and 1 to reduce the learning rate", o.NaNLRFactor)
	}
	return notNegative(flagValue{"-pgd-eps", float64(o.PGDEps)}, flagValue{"-pgd-step", float64(o.PGDStep)},
		flagValue{"-art-eps", float64(o.ARTEps)}, flagValue{"-art-step", float64(o.ARTStep)},
		flagValue{"-pgd-steps", float64(o.PGDSteps)}, flagValue{"-art-steps", float64(o.ARTSteps)})
}

func (o *TrainOptions) trainConfig() (train.Config, error) {
	m, err := train.ParseMethod(o.Method)
	if err != nil {
		return train.Config{}, err
	}
	obj, err := train.ParseObjective(o.Objective)
	if err != nil {
		return train.Config{}, err
	}
	conv, err := model.ParseConvImpl(o.Conv)
	if err != nil {
		return train.Config{}, err
	}
	if o.ConvParts > 0 {
		model.ConvBatchParts = o.ConvParts
	}
	c := train.Config{
		Method: m, Momentum: o.Momentum, Nesterov: o.Nesterov, WeightDecay: o.WeightDecay,
		PGDSteps: o.PGDSteps, PGDEps: float64(o.PGDEps), PGDStep: float64(o.PGDStep),
		ARTSteps: o.ARTSteps, ARTEps: float64(o.ARTEps), ARTStep: float64(o.ARTStep),
		Lambda: o.Lambda, Beta: o.Beta, AttackTopK: o.AttackTopK, Objective: obj, AdvCE: o.AdvCE, Conv: conv,
		HeadLRFactor: o.HeadLRFactor,
	}
	if err := o.chenConfig(&c); err != nil {
		return train.Config{}, err
	}
	return c, c.Validate()
}

// milestones returns the epochs at which the learning rate drops.
func (o *TrainOptions) milestones() []int {
	if len(o.LREpochs) > 0 {
		return o.LREpochs
	}
	return []int{o.Epochs * 6 / 10, o.Epochs * 8 / 10}
}

// lrAt is the step learning-rate schedule (with optional linear warm-up).
func (o *TrainOptions) lrAt(step, stepsPerEpoch int) float64 {
	lr := o.LR
	epoch := step / stepsPerEpoch
	for _, m := range o.milestones() {
		if m > 0 && epoch >= m {
			lr *= o.LRFactor
		}
	}
	if o.Warmup > 0 && step < o.Warmup {
		lr *= float64(step+1) / float64(o.Warmup)
	}
	return lr
}

// rngFor derives an independent random stream for (purpose, index) from the
// run's seed, so data order, augmentation and attack noise of any step can be
// reproduced after a resume without saving generator state.
func rngFor(seed uint64, purpose, index int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(purpose)<<48|uint64(index)))
}

const (
	streamOrder = iota + 1
	streamAugment
	streamNoise
	streamEval
)

// Train runs a training job and returns where its checkpoint is.
func Train(o TrainOptions, stdout, stderr io.Writer) (*TrainResult, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := checkOutputDir("-out", o.Out); err != nil {
		return nil, err
	}
	tc, err := o.trainConfig()
	if err != nil {
		return nil, err
	}
	spec, err := data.ParseSpec(o.Data)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "loading %s ...\n", spec)
	trainSet, err := spec.Load("train", data.LoadOptions{Size: o.Size, N: o.TrainN, Seed: o.Seed})
	if err != nil {
		return nil, err
	}
	testSet, err := spec.Load("test", data.LoadOptions{Size: o.Size, N: o.TestN, Seed: o.Seed})
	if err != nil {
		return nil, err
	}
	if o.TrainN > 0 && spec.Name != "shapes" && o.TrainN < trainSet.Len() {
		trainSet = trainSet.Subset(firstN(o.TrainN))
	}
	if trainSet.Height != trainSet.Width {
		return nil, fmt.Errorf("%s: images are %dx%d; the models take square images", spec, trainSet.Height, trainSet.Width)
	}
	if trainSet.Len() < o.Batch {
		return nil, fmt.Errorf("%s has %d training images, fewer than one batch of %d", spec, trainSet.Len(), o.Batch)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	backend, err := newBackend(trainingWork)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "engine: %s\n", engineName(backend))
	ckptPath := filepath.Join(o.Out, "model.ckpt")
	net, startStep, err := o.initialModel(backend, trainSet, ckptPath)
	if err != nil {
		return nil, err
	}
	if o.pretrainedNote != "" {
		fmt.Fprintln(stdout, o.pretrainedNote)
	}
	tr, err := train.NewTrainer(net, tc)
	if err != nil {
		return nil, err
	}
	o.LRScale = 1
	if o.Resume {
		ck, err := checkpoint.ReadFile(ckptPath)
		if err != nil {
			return nil, err
		}
		if err := tr.SetOptimizerState(optimizerState(ck)); err != nil {
			return nil, fmt.Errorf("resuming from %s: %w", ckptPath, err)
		}
		if s, ok := ck.Meta.Hyper["lr_scale"].(float64); ok && s > 0 {
			o.LRScale = s
		}
	}

	epochLen := trainSet.Len()
	if o.Balance {
		epochLen = len(trainSet.BalancedOrder(rngFor(o.Seed, streamOrder, 0)))
	}
	stepsPerEpoch := epochLen / o.Batch
	total := stepsPerEpoch * o.Epochs
	if o.MaxSteps > 0 {
		total = min(total, o.MaxSteps)
	}
	logPath := filepath.Join(o.Out, "metrics.jsonl")
	var logFile *os.File
	var logEnc nanjsonEncoder
	// openLog starts the metrics log at step: the records of later steps
	// (from an earlier run, or before a retry) are dropped first.
	openLog := func(step int) error {
		if logFile != nil {
			logFile.Close()
		}
		if err := trimMetricsLog(logPath, step); err != nil {
			return fmt.Errorf("the metrics log: %w", err)
		}
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		logFile, logEnc = f, nanjsonEncoder{f}
		return nil
	}
	if err := openLog(startStep); err != nil {
		return nil, err
	}
	defer func() { logFile.Close() }()

	var interrupted atomic.Bool
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; ok {
			interrupted.Store(true)
		}
	}()

	// snapshot takes a checkpoint of the current state in memory.
	snapshot := func(step int, metrics map[string]float64) (*checkpoint.Checkpoint, error) {
		opt, err := tr.OptimizerState()
		if err != nil {
			return nil, err
		}
		extra := make(map[string][]float32, len(opt))
		for k, v := range opt {
			extra[optimizerPrefix+k] = v
		}
		meta := o.meta(trainSet, step, stepsPerEpoch, metrics)
		ck, err := net.Checkpoint(meta, extra)
		if err != nil {
			return nil, err
		}
		// The loss is checked before each update, so weights can still
		// overflow in the last one: never replace a good checkpoint with them.
		if name := firstNonFinite(ck); name != "" {
			return nil, &divergedError{fmt.Sprintf("step %d: %s is no longer finite (lr %g)", step, name, o.lrAt(step-1, stepsPerEpoch)*o.LRScale)}
		}
		return ck, nil
	}
	lastGood := -1 // the step of the checkpoint on disk, all of whose checks passed
	if o.Resume {
		lastGood = startStep
	}
	write := func(ck *checkpoint.Checkpoint) error {
		if err := checkpoint.WriteFile(ckptPath, ck); err != nil {
			return err
		}
		lastGood = int(ck.Meta.Training.Step)
		return nil
	}
	save := func(step int, metrics map[string]float64) error {
		ck, err := snapshot(step, metrics)
		if err != nil {
			return err
		}
		return write(ck)
	}
	// A checkpoint is good when its weights are finite and neither the loss
	// that produced them nor the loss computed on them is non-finite or has
	// exploded (lossWatch). The second is known one step later, so a
	// checkpoint is held in memory as pending until then; only the last one
	// of a run, or of an interrupted run, is written on the first test.
	var watch lossWatch
	var pending *checkpoint.Checkpoint
	// retry handles a diverged step: with retries left it rebuilds the
	// model and optimizer from the last good checkpoint, reduces the
	// learning rate and returns the step to go on from; otherwise it
	// returns the error that stops training.
	retries := 0
	retry := func(d *divergedError) (int, error) {
		_, statErr := os.Stat(ckptPath)
		if statErr != nil {
			return 0, fmt.Errorf("%s; training stopped, no checkpoint was written yet", d.what)
		}
		if retries >= o.NaNRetries {
			after := ""
			if retries > 0 {
				after = fmt.Sprintf(" after %d %s with the learning rate scaled by %g", retries, plural(retries, "retry", "retries"), o.LRScale)
			}
			at := ""
			if lastGood >= 0 {
				at = fmt.Sprintf(" (step %d)", lastGood)
			}
			return 0, fmt.Errorf("%s; training stopped%s, the last good checkpoint %s%s is kept", d.what, after, ckptPath, at)
		}
		ck, err := checkpoint.ReadFile(ckptPath)
		if err != nil {
			return 0, fmt.Errorf("%s; reloading the last good checkpoint: %w", d.what, err)
		}
		if net, err = model.LoadNet(backend, ck); err != nil {
			return 0, fmt.Errorf("%s; reloading %s: %w", d.what, ckptPath, err)
		}
		if tr, err = train.NewTrainer(net, tc); err != nil {
			return 0, err
		}
		if err := tr.SetOptimizerState(optimizerState(ck)); err != nil {
			return 0, fmt.Errorf("%s; reloading %s: %w", d.what, ckptPath, err)
		}
		retries++
		o.LRScale *= o.NaNLRFactor
		pending = nil
		from := int(ck.Meta.Training.Step)
		if err := openLog(from); err != nil {
			return 0, err
		}
		fmt.Fprintf(stdout, "\n%s; retry %d of %d from the checkpoint at step %d with the learning rate scaled by %g\n",
			d.what, retries, o.NaNRetries, from, o.LRScale)
		return from, nil
	}
	if o.NaNRetries > 0 {
		// A retry needs a good checkpoint to go back to, also in the first steps.
		if _, err := os.Stat(ckptPath); err != nil || !o.Resume {
			if err := save(startStep, map[string]float64{}); err != nil {
				return nil, fmt.Errorf("writing the starting checkpoint: %w", err)
			}
		}
	}

	per := trainSet.ImageSize()
	x := make([]float32, o.Batch*per)
	y := make([]int32, o.Batch)
	aug := data.Augment{Pad: o.CropPad, Flip: o.Flip, Jitter: o.Jitter, Rotate: o.Rotate, Translate: o.Translate, Project: o.Project}
	fmt.Fprintf(stdout, "training %s (%d parameters) on %s: %s, %d images, %d steps of %d (%d epochs) from step %d\n",
		net.Config.Name(), net.Config.NumParams(), spec, tc.Method, epochLen, total, o.Batch, o.Epochs, startStep)
	bar := newBar(total, startStep, o.NoProgress, stderr)
	clearMemoryLimit()
	limited := false
	start := time.Now()
	var last train.Metrics
	var order []int
	window := time.Now()
	windowSteps := 0
	res := &TrainResult{Checkpoint: ckptPath}
	for step := startStep; step < total; step++ {
		epoch := step / stepsPerEpoch
		if order == nil || step%stepsPerEpoch == 0 || step == startStep {
			if o.Balance {
				order = trainSet.BalancedOrder(rngFor(o.Seed, streamOrder, epoch))
			} else {
				order = rngFor(o.Seed, streamOrder, epoch).Perm(trainSet.Len())
			}
		}
		b := step % stepsPerEpoch
		augRNG := rngFor(o.Seed, streamAugment, step)
		for j, idx := range order[b*o.Batch : (b+1)*o.Batch] {
			aug.Apply(augRNG, x[j*per:(j+1)*per], trainSet.Image(idx), trainSet.Height, trainSet.Width, trainSet.Channels)
			y[j] = int32(trainSet.Labels[idx])
		}
		lr := o.lrAt(step, stepsPerEpoch) * o.LRScale
		noise := tr.Noise(rngFor(o.Seed, streamNoise, step), len(x), per)
		m, err := tr.Step(x, y, lr, noise)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", step, err)
		}
		if !limited {
			limited = true
			noteMemoryLimit(stdout, limitMemoryAfterWarmUp())
			defer clearMemoryLimit()
		}
		// m.Loss was computed on the weights of the pending checkpoint and
		// produced the next ones.
		bad := watch.check(m.Loss)
		dropped := pending != nil && bad != ""
		if pending != nil {
			if bad == "" {
				if err := write(pending); err != nil {
					return nil, fmt.Errorf("writing the checkpoint: %w", err)
				}
			} else {
				fmt.Fprintf(stdout, "\nstep %d: %s; the checkpoint of step %d is not kept\n", step+1, bad, pending.Meta.Training.Step)
			}
			pending = nil
		}
		if !finite(m.Loss) {
			from, err := retry(&divergedError{fmt.Sprintf("step %d: the loss is %v (lr %g)", step+1, m.Loss, lr)})
			if err != nil {
				return nil, err
			}
			step, order = from-1, nil
			continue
		}
		last = m
		windowSteps++
		ips := float64(windowSteps*o.Batch) / time.Since(window).Seconds()
		if windowSteps >= 20 {
			window, windowSteps = time.Now(), 0
		}
		bar.Describe(fmt.Sprintf("ep %d loss %.3f ce %.3f attr %.3f acc %.2f %.0f img/s", epoch+1, m.Loss, m.CE, m.Attr, m.Acc, ips))
		_ = bar.Add(1)
		done := step + 1
		rec := EpochRecord{Kind: "step", Step: done, Epoch: float64(done) / float64(stepsPerEpoch), LR: lr,
			Loss: m.Loss, CE: m.CE, Attr: m.Attr, Acc: m.Acc, ImagesSec: ips, Elapsed: time.Since(start).Seconds()}
		endOfEpoch := done%stepsPerEpoch == 0 || done == total
		if endOfEpoch {
			rec.Kind = "epoch"
			rec.CleanAcc, rec.PGDAcc, err = o.quickEval(net, testSet, done)
			if err != nil {
				return nil, err
			}
			res.CleanAcc, res.PGDAcc = rec.CleanAcc, rec.PGDAcc
			fmt.Fprintf(stdout, "\nepoch %d/%d: loss %.4f, train acc %.3f, clean acc %.3f, PGD-%d acc %.3f (%s)\n",
				(done+stepsPerEpoch-1)/stepsPerEpoch, o.Epochs, m.Loss, m.Acc, rec.CleanAcc, o.EvalPGD, rec.PGDAcc, time.Since(start).Round(time.Second))
		}
		if err := logEnc.Encode(rec); err != nil {
			return nil, err
		}
		if endOfEpoch || (o.CkptEvery > 0 && done%o.CkptEvery == 0) || interrupted.Load() {
			last := done == total || interrupted.Load()
			var err error
			switch {
			case bad != "" && last:
				// Never end a run on weights that are not good.
				err = &divergedError{fmt.Sprintf("step %d: %s (lr %g)", done, bad, lr)}
			case bad != "":
				if !dropped { // else said above
					fmt.Fprintf(stdout, "\nstep %d: %s; no checkpoint is kept of it\n", done, bad)
				}
			default:
				var ck *checkpoint.Checkpoint
				if ck, err = snapshot(done, map[string]float64{"clean_acc": res.CleanAcc, "pgd_acc": res.PGDAcc}); err == nil {
					if last {
						err = write(ck)
					} else {
						pending = ck
					}
				}
			}
			if err != nil {
				var d *divergedError
				if !errors.As(err, &d) {
					return nil, fmt.Errorf("writing the checkpoint: %w", err)
				}
				if interrupted.Load() {
					_ = bar.Exit()
					fmt.Fprintf(stdout, "\ninterrupted at step %d: %s; the last good checkpoint %s is kept\n", done, d.what, ckptPath)
					return nil, errInterrupted
				}
				from, err := retry(d)
				if err != nil {
					return nil, err
				}
				step, order = from-1, nil
				continue
			}
		}
		if interrupted.Load() {
			_ = bar.Exit()
			fmt.Fprintf(stdout, "\ninterrupted at step %d; checkpoint saved to %s (continue with -resume)\n", done, ckptPath)
			return nil, errInterrupted
		}
		res.Steps = done
	}
	_ = bar.Finish()
	res.Seconds = time.Since(start).Seconds()
	if err := writeCurves(logPath, filepath.Join(o.Out, "curves.png")); err != nil {
		fmt.Fprintf(stderr, "warning: plotting the training curves: %v\n", err)
	}
	fmt.Fprintf(stdout, "done: %d steps in %s; last batch loss %.4f; clean acc %.3f, PGD acc %.3f; checkpoint %s\n",
		res.Steps, time.Duration(res.Seconds*float64(time.Second)).Round(time.Second), last.Loss, res.CleanAcc, res.PGDAcc, ckptPath)
	return res, nil
}

// optimizerPrefix is the root of the optimiser's state in checkpoints, which
// Trainer.OptimizerState keys without it ("/momentum/...", "/adam/...").
const optimizerPrefix = "/optimizer"

func optimizerState(ck *checkpoint.Checkpoint) map[string][]float32 {
	out := make(map[string][]float32)
	for _, t := range ck.Tensors {
		if name, ok := strings.CutPrefix(t.Name, optimizerPrefix); ok {
			if v, err := t.Float32s(); err == nil {
				out[name] = v
			}
		}
	}
	return out
}

// divergedError says what stopped being finite in a training step.
type divergedError struct{ what string }

func (e *divergedError) Error() string { return e.what }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// firstNonFinite names the first tensor of ck holding a NaN or infinity.
func firstNonFinite(ck *checkpoint.Checkpoint) string {
	for _, t := range ck.Tensors {
		v, err := t.Float32s()
		if err != nil {
			continue
		}
		for _, x := range v {
			if !finite(float64(x)) {
				return t.Name
			}
		}
	}
	return ""
}

func firstN(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// initialModel creates the model: from the run's checkpoint (-resume), from
// another checkpoint's weights (-init), or freshly initialised from the seed
// with the training set's channel statistics as input normalisation.
func (o *TrainOptions) initialModel(backend compute.Backend, ds *data.Dataset, ckptPath string) (*model.Net, int, error) {
	if o.Pretrained != "" && !o.Resume {
		net, err := o.pretrainedModel(backend, ds)
		return net, 0, err
	}
	var path string
	switch {
	case o.Resume:
		path = ckptPath
	case o.Init != "":
		path = o.Init
	}
	if path != "" {
		ck, err := checkpoint.ReadFile(path)
		if err != nil {
			return nil, 0, err
		}
		net, err := model.LoadNet(backend, ck)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", path, err)
		}
		if net.Config.Name() != o.Model && o.Model != "" {
			return nil, 0, fmt.Errorf("%s holds a %s, but -model is %s", path, net.Config.Name(), o.Model)
		}
		if net.Config.NumClasses != len(ds.Classes) || net.Config.InputSize != ds.Height || net.Config.Channels != ds.Channels {
			return nil, 0, fmt.Errorf("%s was trained for %d classes of %dx%dx%d images; %s has %d classes of %dx%dx%d",
				path, net.Config.NumClasses, net.Config.InputSize, net.Config.InputSize, net.Config.Channels,
				ds.Name, len(ds.Classes), ds.Height, ds.Width, ds.Channels)
		}
		step := 0
		if o.Resume {
			step = int(ck.Meta.Training.Step)
		}
		return net, step, nil
	}
	cfg, err := model.ParseArch(o.Model, len(ds.Classes), ds.Height, ds.Channels)
	if err != nil {
		return nil, 0, err
	}
	if cfg.Family != model.FamilyMNISTCNN { // it takes pixels as they are, as its reference
		cfg.Mean, cfg.Std = ds.ChannelStats()
	}
	net, err := model.NewNet(backend, cfg, cfg.InitValues(o.Seed))
	return net, 0, err
}

// meta is the checkpoint metadata of the run at a step.
func (o *TrainOptions) meta(ds *data.Dataset, step, stepsPerEpoch int, metrics map[string]float64) checkpoint.Meta {
	hyper := map[string]any{}
	b, err := nanjson.Marshal(o)
	if err == nil {
		err = json.Unmarshal(b, &hyper)
	}
	if err != nil {
		// Never drop the hyper-parameters silently: say so in them.
		hyper = map[string]any{"error": "encoding the flags: " + err.Error()}
	}
	act := "relu"
	if o.Method == "art" {
		act = fmt.Sprintf("relu (softplus beta %g in double-backprop passes)", o.Beta)
	}
	if (o.Method == "ig-norm" || o.Method == "ig-sum-norm") && o.IGBeta > 0 {
		act = fmt.Sprintf("relu (softplus beta %g in the IG passes)", o.IGBeta)
	}
	return checkpoint.Meta{
		Activation: act, ClassNames: ds.Classes, Dataset: o.Data, Method: o.Method, Hyper: hyper,
		Metrics:  metrics,
		Training: checkpoint.Training{Step: int64(step), Epoch: step / stepsPerEpoch, Seed: int64(o.Seed)},
		Created:  time.Now().UTC(),
	}
}

func newBar(total, start int, off bool, w io.Writer) *progressbar.ProgressBar {
	return newBarAt(total, start, off, w, "training")
}

// newBarAt is newBar with another description, set before the first render
// so that no line with the wrong one is printed.
func newBarAt(total, start int, off bool, w io.Writer, desc string) *progressbar.ProgressBar {
	if off {
		w = io.Discard
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w), progressbar.OptionSetWidth(24), progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetDescription(desc))
	_ = bar.Set(start)
	return bar
}
