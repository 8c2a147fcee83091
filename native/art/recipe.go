package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/artrobust/art/shared/checkpoint"
	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/compute"
)

// RecipeOptions are the settings of fine-tuning from ImageNet weights and of
// the CUB-200 recipe (part of TrainOptions).
type RecipeOptions struct {
	// Pretrained is a converted torchvision state_dict (docs/pretrained.md).
	Pretrained string `json:"pretrained,omitempty"`
	// HeadLRFactor multiplies the learning rate of the last stage and the
	// classifier (train.Config.HeadLRFactor).
	HeadLRFactor float64 `json:"head_lr_factor,omitempty"`
	// Recipe is auto, cub or none; the recipe actually applied is recorded
	// in Applied.
	Recipe  string `json:"-"`
	Applied string `json:"recipe,omitempty"`

	pretrainedNote string
}

// recipe is a named set of flag defaults with their source.
type recipe struct {
	name, source string
	flags        [][2]string // flag name, value (in order, for the message)
}

// cubRecipeResNet is the ART paper's CUB-200 setting for ResNet-50 from
// ImageNet weights, as its reference code runs it
// (WSOL_CUB/scripts/run_resnet_beta.sh and train_Art.py of
// github.com/nupurkmr9/Attributional-Robustness): SGD with Nesterov
// momentum 0.9, lr 0.01 divided by 10 every 40 epochs (10 times that for
// layer4 and fc), 200 epochs, batch 12, weight decay 1e-4; the inner attack eps 2/255 with 3 steps of 1.5/255
// on the k = 15000 entries of largest gradient. The reference resizes to
// 256 and crops 224 at random; here images are resized to 224 and padded by
// 16 for random crops, a translation of the same range.
var cubRecipeResNet = recipe{
	name:   "art-cub",
	source: "the ART paper's reference code for CUB-200 (ResNet-50)",
	flags: [][2]string{
		{"size", "224"}, {"epochs", "200"}, {"batch", "12"}, {"lr", "0.01"}, {"lr-epochs", "40,80,120,160"},
		{"lr-factor", "0.1"}, {"warmup", "0"}, {"momentum", "0.9"}, {"nesterov", "true"}, {"weight-decay", "1e-4"},
		{"art-eps", "2/255"}, {"art-steps", "3"}, {"art-step", "1.5/255"}, {"attack-topk", "15000"},
		{"pgd-eps", "2/255"}, {"pgd-step", "0.5/255"}, {"crop-pad", "16"}, {"flip", "true"}, {"head-lr-factor", "10"},
	},
}

// cubRecipeVGG is ADL's CUB-200 setting for VGG16-GAP (Choe & Shim, CVPR
// 2019): lr 0.001 (10 times that for conv6 and fc), batch 32, 200 epochs,
// with the ART attack settings of the ResNet recipe (the ART paper reports
// no VGG run).
var cubRecipeVGG = recipe{
	name:   "adl-cub-vgg",
	source: "ADL's CUB-200 setting for VGG16-GAP, with the ART paper's attack settings",
	flags: [][2]string{
		{"size", "224"}, {"epochs", "200"}, {"batch", "32"}, {"lr", "0.001"}, {"lr-epochs", "40,80,120,160"},
		{"lr-factor", "0.1"}, {"warmup", "0"}, {"momentum", "0.9"}, {"nesterov", "true"}, {"weight-decay", "1e-4"},
		{"art-eps", "2/255"}, {"art-steps", "3"}, {"art-step", "1.5/255"}, {"attack-topk", "15000"},
		{"pgd-eps", "2/255"}, {"pgd-step", "0.5/255"}, {"crop-pad", "16"}, {"flip", "true"}, {"head-lr-factor", "10"},
	},
}

func (o *TrainOptions) recipeFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Pretrained, "pretrained", o.Pretrained, "start from ImageNet weights: a torchvision state_dict converted by docs/convert_torchvision.py\n(ResNet and VGG16-GAP models; the classifier is reinitialised when the class count differs; see docs/pretrained.md)")
	fs.IntVar(&o.Size, "image-size", o.Size, "same as -size")
	fs.Float64Var(&o.HeadLRFactor, "head-lr-factor", 1, "learning-rate factor of the last stage and the classifier (ResNet: layer4 and fc;\nVGG16-GAP: conv6 and fc; WRN: group 3 and the head); the paper's CUB code uses 10")
	fs.StringVar(&o.Recipe, "recipe", "auto", "defaults for the flags not given: cub (the paper's CUB-200 recipe: for ResNet from its reference code\n"+
		"-size 224 -epochs 200 -batch 12 -lr 0.01 -lr-epochs 40,80,120,160 -weight-decay 1e-4 -art-eps 2/255 -art-steps 3\n"+
		"-art-step 1.5/255 -attack-topk 15000 -crop-pad 16 -head-lr-factor 10; for VGG16-GAP ADL's -batch 32 -lr 0.001),\n"+
		"mnist and fashion-mnist (Madry et al.'s and Chen et al.'s: -model MNIST-CNN -optimizer adam -lr 1e-4 -batch 50, 25,000 steps\n"+
		"natural or 100,000 robust, PGD and IG-NORM attacks of 0.01 within eps 0.3 / 0.1, IG-NORM's m = 50 and lambda 1, IG-SUM-NORM's 0.1),\n"+
		"auto (the dataset's recipe for -data cub:PATH, mnist and fashion-mnist) or none")
}

// applyRecipe sets the recipe's values for every flag the command line did
// not set, and says which it set.
func (o *TrainOptions) applyRecipe(fs *flag.FlagSet, stdout io.Writer) error {
	name := o.Recipe
	switch o.Recipe {
	case "none", "":
		return nil
	case "cub", "mnist", "fashion-mnist":
	case "auto":
		name = ""
		if spec, err := data.ParseSpec(o.Data); err == nil && (spec.Name == "cub" || spec.Name == "mnist" || spec.Name == "fashion-mnist") {
			name = spec.Name
		}
	default:
		return fmt.Errorf("-recipe %q: want auto, cub, mnist, fashion-mnist or none", o.Recipe)
	}
	var r recipe
	switch name {
	case "":
		return nil
	case "cub":
		r = cubRecipeResNet
		if c, err := model.ParseArch(o.Model, 2, 224, 3); err == nil && c.Family == model.FamilyVGGGAP {
			r = cubRecipeVGG
		}
	default:
		r = chenRecipe(name, o.Method)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	given["size"] = given["size"] || given["image-size"]
	var set []string
	for _, kv := range r.flags {
		if given[kv[0]] {
			continue
		}
		if err := fs.Set(kv[0], kv[1]); err != nil {
			return fmt.Errorf("recipe %s: -%s %s: %w", r.name, kv[0], kv[1], err)
		}
		set = append(set, "-"+kv[0]+" "+kv[1])
	}
	o.Applied = r.name
	fmt.Fprintf(stdout, "recipe %s (%s): %s\n", r.name, r.source, strings.Join(set, " "))
	return nil
}

// pretrainedModel builds the -model network for ds with weights imported
// from the converted torchvision checkpoint at o.Pretrained and the input
// normalisation those weights expect.
func (o *TrainOptions) pretrainedModel(backend compute.Backend, ds *data.Dataset) (*model.Net, error) {
	if o.Init != "" {
		return nil, errors.New("-pretrained and -init exclude each other")
	}
	cfg, err := model.ParseArch(o.Model, len(ds.Classes), ds.Height, ds.Channels)
	if err != nil {
		return nil, err
	}
	ck, err := checkpoint.ReadFile(o.Pretrained)
	if err != nil {
		return nil, err
	}
	cfg.Mean, cfg.Std = slices.Clone(model.ImageNetMean), slices.Clone(model.ImageNetStd)
	if n := ck.Meta.Normalization; len(n.Mean) == ds.Channels && len(n.Std) == ds.Channels {
		cfg.Mean, cfg.Std = n.Mean, n.Std
	} else if ds.Channels != 3 {
		return nil, fmt.Errorf("%s: ImageNet weights take 3 channels; %s has %d", o.Pretrained, ds.Name, ds.Channels)
	}
	vals, rep, err := model.ImportTorchvision(cfg, ck, o.Seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Pretrained, err)
	}
	o.pretrainedNote = fmt.Sprintf("pretrained: %d tensors from %s", len(rep.Loaded), o.Pretrained)
	if len(rep.Ignored) > 0 {
		more := ""
		if len(rep.Ignored) > 3 {
			more = ", ..."
		}
		o.pretrainedNote += fmt.Sprintf(", %d ignored (%s%s)", len(rep.Ignored), strings.Join(rep.Ignored[:min(3, len(rep.Ignored))], ", "), more)
	}
	if rep.Reason != "" {
		o.pretrainedNote += "; " + rep.Reason
	}
	return model.NewNet(backend, cfg, vals)
}
