// Package protocol defines the messages between the demonstrator's user
// interface (wasm/app, on the page's main thread) and its compute engine
// (wasm/worker, GoMLX in a Web Worker). Messages travel as JSON strings
// through postMessage, so both sides share these types and nothing else.
//
// It imports no GoMLX code, so the user interface stays small.
package protocol

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// Operations a Request can ask for.
const (
	// OpInit loads the models (checkpoints listed in the site's weights
	// index, or freshly initialised ones) and answers KindReady.
	OpInit = "init"
	// OpPredict answers KindResult with Probs.
	OpPredict = "predict"
	// OpAttribute answers KindResult with Map.
	OpAttribute = "attribute"
	// OpAttack runs the attribution attack on every model in Models, one
	// step of each in turn, answering KindStep per step and KindResult at
	// the end (also after a stop).
	OpAttack = "attack"
	// OpStop asks the running request with ID Target to stop after its
	// current step. It has no answer of its own.
	OpStop = "stop"
)

// Kinds of Response.
const (
	KindReady    = "ready"
	KindProgress = "progress"
	KindStep     = "step"
	KindResult   = "result"
	KindError    = "error"
)

// Request is a message from the interface to the engine.
type Request struct {
	ID int    `json:"id"`
	Op string `json:"op"`
	// Backend asks OpInit for a GoMLX backend configuration ("go",
	// "onnx:wasm"); empty lets the engine choose.
	Backend string `json:"backend,omitempty"`
	// Model names the model of OpPredict and OpAttribute.
	Model string `json:"model,omitempty"`
	// Models names the models OpAttack attacks, side by side.
	Models []string `json:"models,omitempty"`
	// Image is one HWC image in [0,1] of the models' input size.
	Image []float32 `json:"image,omitempty"`
	// Target is the class whose attribution OpAttribute computes (-1: the
	// predicted class), or the request OpStop stops.
	Target int     `json:"target"`
	Method *Method `json:"method,omitempty"`
	Attack *Attack `json:"attack,omitempty"`
}

// Response is a message from the engine to the interface. ID is that of the
// request it answers (0 for messages nobody asked for).
type Response struct {
	ID    int    `json:"id"`
	Kind  string `json:"kind"`
	Error string `json:"error,omitempty"`
	// Progress is a line saying what the engine is doing (KindProgress).
	Progress string `json:"progress,omitempty"`

	// KindReady.
	Engine string `json:"engine,omitempty"`
	Models []Card `json:"models,omitempty"`

	// OpPredict: class probabilities of Model.
	Probs []float32 `json:"probs,omitempty"`
	// OpAttribute: the raw map, laid out like the image (HWC).
	Map []float32 `json:"map,omitempty"`

	// OpAttack: one step (KindStep) or the summary of each model (KindResult).
	Step    *Step     `json:"step,omitempty"`
	Summary []Summary `json:"summary,omitempty"`

	// Millis is how long the request took in the engine, in milliseconds.
	Millis float64 `json:"millis,omitempty"`
}

// Card is a model card: what a model is, from its checkpoint's metadata.
type Card struct {
	// ID names the model in requests (the checkpoint's file name, or
	// "untrained-<seed>").
	ID string `json:"id"`
	// Title is what the interface shows, e.g. "WRN-10-1 · art · shapes".
	Title string `json:"title"`
	// Untrained is true for a freshly initialised model (no checkpoint).
	Untrained bool     `json:"untrained,omitempty"`
	Arch      string   `json:"arch"`
	Params    int      `json:"params"`
	InputSize int      `json:"input_size"`
	Channels  int      `json:"channels"`
	Classes   []string `json:"classes"`
	// The remaining fields come from the checkpoint's metadata.
	Method     string             `json:"method,omitempty"`
	Dataset    string             `json:"dataset,omitempty"`
	Activation string             `json:"activation,omitempty"`
	Hyper      map[string]any     `json:"hyper,omitempty"`
	Metrics    map[string]float64 `json:"metrics,omitempty"`
	Created    string             `json:"created,omitempty"`
	Notes      string             `json:"notes,omitempty"`
	Bytes      int                `json:"bytes,omitempty"`
}

// Method names an attribution method and its settings.
type Method struct {
	// Name is one of MethodNames.
	Name string `json:"name"`
	// Steps is the number of Integrated Gradients path points.
	Steps int `json:"steps,omitempty"`
	// Samples and Sigma are SmoothGrad's noise samples and noise level (in
	// pixel units, inputs in [0,1]).
	Samples int     `json:"samples,omitempty"`
	Sigma   float64 `json:"sigma,omitempty"`
}

// Attribution methods the demonstrator offers.
const (
	Gradient           = "gradient"
	IntegratedGradient = "ig"
	SmoothGrad         = "smoothgrad"
	GradCAM            = "gradcam"
)

// MethodNames lists the methods in the order the interface offers them.
var MethodNames = []string{Gradient, IntegratedGradient, SmoothGrad, GradCAM}

// MethodLabel is a method's name for people.
func MethodLabel(name string) string {
	switch name {
	case Gradient:
		return "Gradient"
	case IntegratedGradient:
		return "Integrated Gradients"
	case SmoothGrad:
		return "SmoothGrad"
	case GradCAM:
		return "Grad-CAM"
	}
	return name
}

// String names the method with the settings that change its result.
func (m Method) String() string {
	switch m.Name {
	case IntegratedGradient:
		return fmt.Sprintf("IG-%d", m.Steps)
	case SmoothGrad:
		return fmt.Sprintf("SmoothGrad-%d (σ=%g)", m.Samples, m.Sigma)
	}
	return MethodLabel(m.Name)
}

// Validate checks the settings, with limits that keep a browser tab alive.
func (m Method) Validate() error {
	switch m.Name {
	case Gradient, GradCAM:
		return nil
	case IntegratedGradient:
		if m.Steps < 1 || m.Steps > 256 {
			return fmt.Errorf("integrated gradients: %d steps, want 1 to 256", m.Steps)
		}
		return nil
	case SmoothGrad:
		if m.Samples < 1 || m.Samples > 256 {
			return fmt.Errorf("smoothgrad: %d samples, want 1 to 256", m.Samples)
		}
		if !(m.Sigma >= 0 && m.Sigma <= 1) {
			return fmt.Errorf("smoothgrad: sigma %g, want 0 to 1", m.Sigma)
		}
		return nil
	}
	return fmt.Errorf("unknown attribution method %q (want one of %s)", m.Name, strings.Join(MethodNames, ", "))
}

// Attack configures the top-k attribution attack of Ghorbani et al.
// (AAAI 2019, "IFIA"), as the ART paper evaluates it: L-inf steps that push
// the attribution mass off the original top-K pixels while the predicted
// class must not change.
type Attack struct {
	Method Method `json:"method"`
	// Eps and StepSize are in units of 1/255 of the pixel range.
	Eps      float64 `json:"eps"`
	StepSize float64 `json:"step_size"`
	Steps    int     `json:"steps"`
	// K is the number of top pixels attacked and compared.
	K int `json:"k"`
	// Beta is the softplus beta of the passes the attack differentiates
	// through (ReLU has no second derivative).
	Beta float64 `json:"beta"`
}

// Validate checks the settings.
func (a Attack) Validate(pixels int) error {
	if err := a.Method.Validate(); err != nil {
		return err
	}
	switch {
	case !(a.Eps > 0 && a.Eps <= 255):
		return fmt.Errorf("attack: eps %g/255, want (0, 255]", a.Eps)
	case !(a.StepSize > 0 && a.StepSize <= 255):
		return fmt.Errorf("attack: step size %g/255, want (0, 255]", a.StepSize)
	case a.Steps < 1 || a.Steps > 500:
		return fmt.Errorf("attack: %d steps, want 1 to 500", a.Steps)
	case a.K < 1 || (pixels > 0 && a.K > pixels):
		return fmt.Errorf("attack: k = %d, want 1 to %d pixels", a.K, pixels)
	case !(a.Beta > 0):
		return fmt.Errorf("attack: softplus beta %g, want > 0", a.Beta)
	}
	return nil
}

// Step is one iterate of the attack on one model. Step 0 is the original
// image.
type Step struct {
	Model string `json:"model"`
	Step  int    `json:"step"`
	// Image is the iterate (HWC, [0,1]); Map its saliency map (H*W, |map|
	// averaged over channels, summing to H*W).
	Image []float32 `json:"image"`
	Map   []float32 `json:"map"`
	// Pred is the predicted class at the iterate and Prob its probability;
	// Kept says the prediction equals the original one.
	Pred int     `json:"pred"`
	Prob float64 `json:"prob"`
	Kept bool    `json:"kept"`
	// TopK and Kendall compare the iterate's map with the original's: the
	// fraction of shared top-K pixels and Kendall's tau-b.
	TopK    Num     `json:"topk"`
	Kendall Num     `json:"kendall"`
	Millis  float64 `json:"millis"`
}

// Summary is the outcome of an attack on one model: the iterate with the
// lowest Kendall tau among those that kept the prediction (Ghorbani et al.).
type Summary struct {
	Model     string  `json:"model"`
	BestStep  int     `json:"best_step"`
	TopK      Num     `json:"topk"`
	Kendall   Num     `json:"kendall"`
	StepsRun  int     `json:"steps_run"`
	Stopped   bool    `json:"stopped,omitempty"`
	MillisRun float64 `json:"millis_run"`
}

// Num is a float64 that JSON-encodes NaN as null (Kendall's tau of a
// constant map is undefined) and decodes null as NaN.
type Num float64

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Num(f)
	return nil
}

// Defined reports whether n is a number (not NaN).
func (n Num) Defined() bool { return !math.IsNaN(float64(n)) }

// DefaultAttack is the attack the demonstrator starts with, sized so that
// it finishes in seconds on WRN-10-1 in a browser: Integrated Gradients
// with few path points, and fewer, larger steps than the paper's.
func DefaultAttack() Attack {
	return Attack{Method: Method{Name: IntegratedGradient, Steps: 8}, Eps: 8, StepSize: 2, Steps: 12, K: 100, Beta: DefaultBeta}
}

// PaperAttack is the ART paper's evaluation of attributional robustness
// on 32x32 images: IFIA on Integrated Gradients with 100 path points, 50
// steps of 1/255 inside eps = 8/255, k = 100.
func PaperAttack() Attack {
	return Attack{Method: Method{Name: IntegratedGradient, Steps: 100}, Eps: 8, StepSize: 1, Steps: 50, K: 100, Beta: DefaultBeta}
}

// DefaultBeta is the softplus beta of the attack's differentiated passes
// (the paper's training uses 50).
const DefaultBeta = 50
