package main

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/data"
)

// parseTrainFlags parses an art train command line and applies -recipe.
func parseTrainFlags(t *testing.T, args ...string) (TrainOptions, string, error) {
	t.Helper()
	o := defaultTrainOptions()
	fs := flag.NewFlagSet("art train", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err := o.applyRecipe(fs, &out)
	return o, out.String(), err
}

func TestCUBRecipeFillsOnlyFlagsNotGiven(t *testing.T) {
	o, msg, err := parseTrainFlags(t, "-data", "cub:/nowhere", "-model", "ResNet-50", "-lr", "0.02", "-image-size", "64")
	if err != nil {
		t.Fatal(err)
	}
	if o.Applied != "art-cub" || o.Batch != 12 || o.Epochs != 200 || o.WeightDecay != 1e-4 || !o.Nesterov ||
		o.AttackTopK != 15000 || float64(o.ARTEps) != 2.0/255 || float64(o.ARTStep) != 1.5/255 || o.ARTSteps != 3 ||
		o.LRFactor != 0.1 || o.LREpochs.String() != "40,80,120,160" || o.Warmup != 0 || o.CropPad != 16 || o.HeadLRFactor != 10 {
		t.Errorf("recipe values not applied: %+v", o)
	}
	if o.LR != 0.02 || o.Size != 64 {
		t.Errorf("given flags overridden: lr %g, size %d", o.LR, o.Size)
	}
	if !strings.Contains(msg, "recipe art-cub") || strings.Contains(msg, "-lr 0.01") || strings.Contains(msg, "-size") {
		t.Errorf("message %q", msg)
	}
}

func TestCUBRecipeForVGGTakesADLsBatchAndRate(t *testing.T) {
	o, _, err := parseTrainFlags(t, "-data", "cub:/nowhere", "-model", "VGG16-GAP")
	if err != nil {
		t.Fatal(err)
	}
	if o.Applied != "adl-cub-vgg" || o.Batch != 32 || o.LR != 0.001 || o.Size != 224 {
		t.Errorf("VGG16-GAP recipe: %s, batch %d, lr %g, size %d", o.Applied, o.Batch, o.LR, o.Size)
	}
}

func TestRecipeOnlyWhereAsked(t *testing.T) {
	def := defaultTrainOptions()
	for _, args := range [][]string{
		{"-model", "ResNet-50"},                      // not CUB data
		{"-data", "cub:/nowhere", "-recipe", "none"}, // turned off
		{"-data", "flowers17:/nowhere", "-model", "VGG16-GAP"},
	} {
		o, msg, err := parseTrainFlags(t, args...)
		if err != nil || o.Applied != "" || msg != "" || o.Batch != def.Batch || o.LR != def.LR || o.HeadLRFactor != 1 {
			t.Errorf("%v: recipe %q (%q), batch %d, lr %g, err %v", args, o.Applied, msg, o.Batch, o.LR, err)
		}
	}
	o, _, err := parseTrainFlags(t, "-recipe", "cub")
	if err != nil || o.Applied != "art-cub" || o.Batch != 12 {
		t.Errorf("-recipe cub on shapes: %q, batch %d, %v", o.Applied, o.Batch, err)
	}
	if _, _, err := parseTrainFlags(t, "-recipe", "paper"); err == nil || !strings.Contains(err.Error(), "-recipe \"paper\"") {
		t.Errorf("-recipe paper: %v", err)
	}
}

func TestPretrainedRefusesInitAndWRN(t *testing.T) {
	ds, err := data.Shapes(data.ShapesConfig{N: 4, Size: 32, Seed: 1, Split: "train"})
	if err != nil {
		t.Fatal(err)
	}
	o := defaultTrainOptions()
	o.Pretrained, o.Init, o.Model = "x.ckpt", "y.ckpt", "ResNet-18"
	if _, err := o.pretrainedModel(nil, ds); err == nil || !strings.Contains(err.Error(), "-pretrained and -init") {
		t.Errorf("-pretrained with -init: %v", err)
	}
	o.Init, o.Model, o.Pretrained = "", "WRN-10-1", writeTorchResNet18(t)
	if _, err := o.pretrainedModel(nil, ds); err == nil || !strings.Contains(err.Error(), "torchvision weights exist only") {
		t.Errorf("-pretrained for a WRN: %v", err)
	}
}
