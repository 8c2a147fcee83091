package localize

import (
	"fmt"
	"math"

	"github.com/artrobust/art/shared/data"
)

// Sample is one image's heat map with its ground truth and whether the
// classifier's top-1 prediction was right.
//
// The heat map should be that of the ground-truth class: that is what
// GT-known Loc scores, and Top-1 Loc and Top-1 Seg only count images whose
// prediction is the ground-truth class, where it is also the predicted
// class's map.
type Sample struct {
	Heat []float32 // H*W, from Heat
	Box  data.Box  // ground-truth box
	Mask []uint8   // ground-truth mask (H*W), or nil
	// Correct is true when the top-1 prediction is the label.
	Correct bool
}

// Metrics are the localization and segmentation scores of a set of images
// at one threshold, as fractions in [0,1].
type Metrics struct {
	N         int     `json:"n"`
	Threshold float64 `json:"threshold"`
	// GTKnownLoc is the fraction of images whose predicted box has IoU >=
	// 0.5 with the ground-truth box.
	GTKnownLoc float64 `json:"gt_known_loc"`
	// Top1Loc also needs the top-1 prediction to be right.
	Top1Loc float64 `json:"top1_loc"`
	// Top1Acc is the classification accuracy.
	Top1Acc float64 `json:"top1_acc"`
	// MeanBoxIoU is the mean IoU of predicted and ground-truth boxes.
	MeanBoxIoU float64 `json:"mean_box_iou"`
	// Top1Seg (correct class and mask IoU >= 0.5) and MeanMaskIoU are
	// measured only when every sample has a mask; otherwise they are nil.
	Top1Seg     *float64 `json:"top1_seg,omitempty"`
	MeanMaskIoU *float64 `json:"mean_mask_iou,omitempty"`
}

// Score locates every sample at threshold frac with the given box mode and
// scores the predictions; h and w are the heat maps' size.
func Score(samples []Sample, h, w int, frac float64, mode BoxMode) (Metrics, error) {
	m := Metrics{N: len(samples), Threshold: frac}
	if len(samples) == 0 {
		return m, fmt.Errorf("localize: no images to score")
	}
	masks := true
	for i, s := range samples {
		if len(s.Heat) != h*w {
			return m, fmt.Errorf("localize: image %d has a heat map of %d values, want %dx%d", i, len(s.Heat), h, w)
		}
		if s.Mask == nil {
			masks = false
		} else if len(s.Mask) != h*w {
			return m, fmt.Errorf("localize: image %d has a mask of %d values, want %dx%d", i, len(s.Mask), h, w)
		}
	}
	var loc, top1Loc, acc, seg int
	var boxIoU, maskIoU float64
	for _, s := range samples {
		box, mask := Locate(s.Heat, h, w, frac, mode)
		iou := box.IoU(s.Box)
		boxIoU += iou
		if s.Correct {
			acc++
		}
		if iou >= 0.5 {
			loc++
			if s.Correct {
				top1Loc++
			}
		}
		if masks {
			mi := MaskIoU(mask, s.Mask)
			maskIoU += mi
			if mi >= 0.5 && s.Correct {
				seg++
			}
		}
	}
	n := float64(len(samples))
	m.GTKnownLoc, m.Top1Loc, m.Top1Acc, m.MeanBoxIoU = float64(loc)/n, float64(top1Loc)/n, float64(acc)/n, boxIoU/n
	if masks {
		s, mi := float64(seg)/n, maskIoU/n
		m.Top1Seg, m.MeanMaskIoU = &s, &mi
	}
	return m, nil
}

// SweepThresholds are the thresholds of the reference protocols' sweep:
// 0, 0.05, ..., 0.95.
func SweepThresholds() []float64 {
	t := make([]float64, 20)
	for i := range t {
		t[i] = float64(i) / 20
	}
	return t
}

// SweepResult is a threshold sweep: the scores of the validation images at
// every threshold, the threshold with the best validation GT-known Loc (the
// lowest one on ties), and the test images' scores at it.
type SweepResult struct {
	Validation []Metrics `json:"validation"`
	Best       float64   `json:"best_threshold"`
	Test       Metrics   `json:"test"`
}

// Sweep scores the validation samples at every threshold, picks the one
// with the highest GT-known Loc, and scores the test samples at it, so the
// reported numbers are not tuned on the images they are measured on.
func Sweep(val, test []Sample, h, w int, thresholds []float64, mode BoxMode) (SweepResult, error) {
	var r SweepResult
	if len(thresholds) == 0 {
		return r, fmt.Errorf("localize: no thresholds to sweep")
	}
	bestLoc := math.Inf(-1)
	for _, t := range thresholds {
		m, err := Score(val, h, w, t, mode)
		if err != nil {
			return r, fmt.Errorf("validation: %w", err)
		}
		r.Validation = append(r.Validation, m)
		if m.GTKnownLoc > bestLoc {
			bestLoc, r.Best = m.GTKnownLoc, t
		}
	}
	m, err := Score(test, h, w, r.Best, mode)
	if err != nil {
		return r, err
	}
	r.Test = m
	return r, nil
}
