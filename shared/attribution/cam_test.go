package attribution

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestUpsampleMatchesInterpolate checks the matrix form of the CAM
// upsampling against GoMLX's Interpolate(...).Bilinear(), which it replaces
// (Interpolate's Clamp has no ONNX Runtime kernel), for the sizes the models
// produce (8 -> 32, 7 -> 224, 2 -> 32, 1 -> 16) and odd ratios.
func TestUpsampleMatchesInterpolate(t *testing.T) {
	b, err := compute.New()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 9))
	for _, tc := range []struct{ h, w, H, W int }{
		{8, 8, 32, 32}, {7, 7, 224, 224}, {2, 2, 32, 32}, {1, 1, 16, 16}, {3, 5, 10, 7}, {4, 4, 4, 4}, {5, 3, 17, 23},
	} {
		t.Run(fmt.Sprintf("%dx%d_to_%dx%d", tc.h, tc.w, tc.H, tc.W), func(t *testing.T) {
			const n = 2
			m := make([]float32, n*tc.h*tc.w)
			for i := range m {
				m[i] = float32(rng.NormFloat64())
			}
			x := tensors.FromShape(shapes.Make(dtypes.Float32, n, tc.H, tc.W, 3))
			res := graph.MustExecOnceN(b, func(cam, x *graph.Node) []*graph.Node {
				want := graph.Interpolate(graph.InsertAxes(cam, 3), -1, tc.H, tc.W, -1).Bilinear().Done()
				want = graph.BroadcastToDims(want, n, tc.H, tc.W, 3)
				return []*graph.Node{upsampleToInput(cam, x), want}
			}, tensors.FromFlatDataAndDimensions(m, n, tc.h, tc.w), x)
			got, want := tensors.MustCopyFlatData[float32](res[0]), tensors.MustCopyFlatData[float32](res[1])
			if len(got) != n*tc.H*tc.W*3 {
				t.Fatalf("got %d values, want %d", len(got), n*tc.H*tc.W*3)
			}
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("value %d: %g, Interpolate gives %g", i, got[i], want[i])
				}
			}
		})
	}
}
