package train

import (
	"math"
	"sort"
	"testing"

	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// refExemplarLoss transcribes loss_art.py of the reference implementation
// (nupurkmr9/Attributional-Robustness, cifar/) in float64: x [2N][D] are the
// normalised anchors of [x; x'], g1 and g2 the gradients of the true and
// hardest wrong logit with respect to them. cosine_dist builds the [2N,2N]
// distance matrices, hard_example_mining takes, for anchor i, the largest
// positive and smallest negative distance over the rows j of the same image
// (a_ = [0..N-1, 0..N-1]), and SoftMarginLoss(dist_an - dist_ap, 1) is the
// mean of log(1 + exp(-(dist_an - dist_ap))).
func refExemplarLoss(x, g1, g2 [][]float64, mine bool) float64 {
	m := len(x)
	n := m / 2
	norm := func(v []float64) float64 {
		s := 0.0
		for _, a := range v {
			s += a * a
		}
		return math.Sqrt(s) + 1e-8
	}
	dot := func(u, v []float64) float64 {
		s := 0.0
		for i := range u {
			s += u[i] * v[i]
		}
		return s
	}
	loss := 0.0
	for i := range m {
		ap, an := math.Inf(-1), math.Inf(1)
		for j := range m {
			if i%n != j%n || (!mine && i != j) { // is_pos: same image index
				continue
			}
			dp := 1 - dot(x[i], g1[j])/norm(x[i])/norm(g1[j])
			dn := 1 - dot(x[i], g2[j])/norm(x[i])/norm(g2[j])
			ap, an = math.Max(ap, dp), math.Min(an, dn)
		}
		loss += math.Log1p(math.Exp(-(an - ap)))
	}
	return loss / float64(m)
}

// lossFixture evaluates, for a batch and its attacked copy, the project's
// ART term (mean over the 2N anchors), its gradient with respect to one
// weight variable, and the raw pieces the reference formula needs: the
// logits of [x; x'] and the input gradients of the true-class logit and of
// the given wrong classes, with respect to the raw input.
type lossFixture struct {
	net       *model.Net
	path      string
	x, xadv   *tensors.Tensor
	y, labels *tensors.Tensor
	n, d      int
}

func (f *lossFixture) run(t *testing.T, neg []int32) (loss float64, grad []float32, logits []float32, gy, gn []float32) {
	t.Helper()
	soft := model.Pass{Act: model.Softplus(model.DefaultBeta), Train: true}
	negT := tensors.FromFlatDataAndDimensions(neg, len(neg))
	out, err := f.net.Call("loss-fixture", func() (*gmodel.Exec, error) {
		return gmodel.NewExec(f.net.Backend, f.net.Store, func(scope *gmodel.Scope, x, xadv, y, y2, neg *graph.Node) []*graph.Node {
			l := graph.ReduceAllMean(AttributionLoss(f.net, x, xadv, y, soft, TripletCosine))
			w := f.net.Store.GetVariable(f.path).NodeValue(x.Graph())
			gw := graph.Gradient(l, w)[0]
			// The reference's pieces, built here without the package's helpers.
			both := graph.Concatenate([]*graph.Node{x, xadv}, 0)
			lg := f.net.Logits(both, soft)
			classes := lg.Shape().Dimensions[1]
			pick := func(c *graph.Node) *graph.Node {
				return graph.ReduceAllSum(graph.Mul(lg, graph.OneHot(c, classes, lg.DType())))
			}
			gy := graph.Gradient(pick(y2), both)[0]
			gn := graph.Gradient(pick(neg), both)[0]
			return []*graph.Node{l, gw, lg, gy, gn}
		})
	}, f.x, f.xadv, f.y, f.labels, negT)
	if err != nil {
		t.Fatal(err)
	}
	v := make([][]float32, len(out))
	for i, o := range out {
		if v[i], err = tensors.CopyFlatData[float32](o); err != nil {
			t.Fatal(err)
		}
	}
	return float64(v[0][0]), v[1], v[2], v[3], v[4]
}

// reference computes the transcribed loss from the fixture's raw pieces:
// the anchors are (x - mean)/std and the gradients with respect to them are
// the raw input gradients times std (chain rule), both done here per channel.
func (f *lossFixture) reference(xs []float32, gy, gn []float32, mine bool) float64 {
	c := f.net.Config
	ch := c.Channels
	rows := func(v []float32, anchor bool) [][]float64 {
		out := make([][]float64, 2*f.n)
		for i := range out {
			out[i] = make([]float64, f.d)
			for j := range f.d {
				a, k := float64(v[i*f.d+j]), j%ch
				if anchor {
					out[i][j] = (a - float64(c.Mean[k])) / float64(c.Std[k])
				} else {
					out[i][j] = a * float64(c.Std[k])
				}
			}
		}
		return out
	}
	return refExemplarLoss(rows(xs, true), rows(gy, false), rows(gn, false), mine)
}

// hardest returns, per row of logits [M, classes], the highest-scoring class
// other than the label.
func hardest(logits []float32, labels []int32, classes int) []int32 {
	out := make([]int32, len(labels))
	for i, l := range labels {
		best := math.Inf(-1)
		for c := range classes {
			if v := float64(logits[i*classes+c]); int32(c) != l && v > best {
				best, out[i] = v, int32(c)
			}
		}
	}
	return out
}

// TestAttributionLossMatchesReferenceTranscription checks the default ART
// term against loss_art.py transcribed in float64 (normalised anchor,
// gradients with respect to the normalised input, hard mining across each
// pair (x_i, x'_i)), and its weight gradient against central finite
// differences of that transcription.
func TestAttributionLossMatchesReferenceTranscription(t *testing.T) {
	const n = 3
	net := testNet(t, 21)
	x, y := batch(22, n)
	xadv, _ := batch(23, n)
	for i := range xadv { // a perturbation of x within 8/255, as the attack makes
		xadv[i] = float32(math.Min(1, math.Max(0, float64(x[i])+(float64(xadv[i])-0.5)*16/255)))
	}
	d := size * size * 3
	y2 := append(append([]int32(nil), y...), y...)
	f := &lossFixture{
		net: net, path: "/group3/block0/conv2/weights", n: n, d: d,
		x:      tensors.FromFlatDataAndDimensions(x, n, size, size, 3),
		xadv:   tensors.FromFlatDataAndDimensions(xadv, n, size, size, 3),
		y:      tensors.FromFlatDataAndDimensions(y, n),
		labels: tensors.FromFlatDataAndDimensions(y2, 2*n),
	}
	xs := append(append([]float32(nil), x...), xadv...)
	classes := net.Config.NumClasses

	// First call finds the hardest negatives from the logits, second uses them.
	_, _, logits, _, _ := f.run(t, make([]int32, 2*n))
	neg := hardest(logits, y2, classes)
	got, grad, _, gy, gn := f.run(t, neg)
	want := f.reference(xs, gy, gn, true)
	if math.Abs(got-want) > 1e-5 {
		t.Fatalf("attribution loss %.7f, reference transcription %.7f", got, want)
	}
	// The pair mining must matter on this batch, or the check above would
	// not tell a mined loss from one that scores each row on its own.
	unmined := f.reference(xs, gy, gn, false)
	if math.Abs(unmined-want) < 1e-4 {
		t.Fatalf("mined %.7f and unmined %.7f losses agree: the batch does not exercise the mining", want, unmined)
	}
	t.Logf("loss %.6f (reference %.6f, unmined %.6f)", got, want, unmined)

	// Weight gradient against central differences of the transcription on
	// the entries of largest gradient.
	v := net.Store.GetVariable(f.path)
	shape := v.Shape().Dimensions
	w0, err := tensors.CopyFlatData[float32](v.MustValue())
	if err != nil {
		t.Fatal(err)
	}
	order := make([]int, len(grad))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return math.Abs(float64(grad[order[a]])) > math.Abs(float64(grad[order[b]])) })
	const h = 5e-4
	for _, k := range order[:4] {
		at := func(delta float64) float64 {
			w := append([]float32(nil), w0...)
			w[k] += float32(delta)
			v.MustSetValue(tensors.FromFlatDataAndDimensions(w, shape...))
			_, _, lg, gy, gn := f.run(t, neg)
			if hn := hardest(lg, y2, classes); !equalInt32(hn, neg) {
				t.Skipf("the hardest negative changed under a perturbation of %g; pick another seed", delta)
			}
			return f.reference(xs, gy, gn, true)
		}
		fd := (at(h) - at(-h)) / (2 * h)
		v.MustSetValue(tensors.FromFlatDataAndDimensions(w0, shape...))
		if diff := math.Abs(fd - float64(grad[k])); diff > 0.01*math.Abs(fd)+1e-4 {
			t.Errorf("%s[%d]: gradient %.6g, finite difference of the reference %.6g", f.path, k, grad[k], fd)
		} else {
			t.Logf("%s[%d]: gradient %.6g, finite difference %.6g", f.path, k, grad[k], fd)
		}
	}
}

func equalInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
