package main

import (
	"fmt"
	"slices"
)

// lossWatch judges each training loss: a loss that is not finite, or that
// has exploded, marks the weights that produced it, and those it was
// computed on, as not good, so that no checkpoint is kept of them.
//
// A loss has exploded when it is over explodeFactor times the running
// median of the last lossWindow good losses, or of 1 when that is larger:
// near convergence losses are small and vary by large factors from batch to
// batch, and a short fine-tune can jump some tens of times in its first
// steps (a pretrained ResNet on six CUB images, 2.1 to 91), while a
// diverging run grows by orders of magnitude a step (2.2 to 2e10 at a
// learning rate of 1e6).
type lossWatch struct {
	recent []float64 // the last good losses, oldest first
}

const (
	explodeFactor = 100
	lossWindow    = 100
)

// check records loss and says why it is not good ("" when it is).
func (w *lossWatch) check(loss float64) string {
	if !finite(loss) {
		return fmt.Sprintf("the loss is %v", loss)
	}
	if len(w.recent) > 0 {
		med := w.median()
		if loss > explodeFactor*max(med, 1) {
			return fmt.Sprintf("the loss %.4g is over %d times its running median %.4g", loss, explodeFactor, med)
		}
	}
	if len(w.recent) == lossWindow {
		w.recent = w.recent[1:]
	}
	w.recent = append(w.recent, loss)
	return ""
}

func (w *lossWatch) median() float64 {
	s := slices.Clone(w.recent)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
