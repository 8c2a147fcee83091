package checkpoint

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestCheckAcceptsMatchingTensors(t *testing.T) {
	c := &Checkpoint{Tensors: []*Tensor{
		NewFloat32("/stem/conv/weights", []int{3, 3, 3, 16}, make([]float32, 432)),
		NewFloat32("/head/fc/bias", []int{10}, make([]float32, 10)),
		NewInt64("/train/step", nil, []int64{1}),
	}}
	err := c.Check(map[string][]int{
		"/stem/conv/weights": {3, 3, 3, 16},
		"/head/fc/bias":      {10},
		"/train/step":        nil, // a scalar
	})
	if err != nil {
		t.Errorf("Check = %v, want nil", err)
	}
}

func TestCheckListsMissingUnexpectedAndWrongShape(t *testing.T) {
	c := &Checkpoint{Tensors: []*Tensor{
		NewFloat32("/stem/conv/weights", []int{3, 3, 3, 16}, make([]float32, 432)),
		NewFloat32("/head/fc/weights", []int{64, 10}, make([]float32, 640)),
		NewFloat32("/optimizer/momentum", []int{1}, make([]float32, 1)),
	}}
	err := c.Check(map[string][]int{
		"/stem/conv/weights": {3, 3, 3, 16},
		"/head/fc/weights":   {64, 17},
		"/head/fc/bias":      {17},
		"/head/bn/scale":     {64},
	})
	const want = "checkpoint does not match the architecture: missing 2 tensors: /head/bn/scale, /head/fc/bias; " +
		"unexpected 1 tensor: /optimizer/momentum; wrong shape of 1 tensor: /head/fc/weights is [64 10], want [64 17]"
	if err == nil || err.Error() != want {
		t.Fatalf("Check = %v\nwant %s", err, want)
	}
	var m *MismatchError
	if !errors.As(err, &m) {
		t.Fatalf("Check returned %T, want *MismatchError", err)
	}
	if !slices.Equal(m.Missing, []string{"/head/bn/scale", "/head/fc/bias"}) ||
		!slices.Equal(m.Unexpected, []string{"/optimizer/momentum"}) ||
		len(m.WrongShape) != 1 || m.WrongShape[0].Name != "/head/fc/weights" ||
		!slices.Equal(m.WrongShape[0].Want, []int{64, 17}) || !slices.Equal(m.WrongShape[0].Got, []int{64, 10}) {
		t.Errorf("MismatchError = %+v", m)
	}
}

func TestCheckListsOnlyTheFirstFewOfEachKind(t *testing.T) {
	c := &Checkpoint{}
	expected := map[string][]int{}
	for i := range 12 {
		expected[fmt.Sprintf("/w%02d", i)] = []int{1}
	}
	err := c.Check(expected)
	const want = "checkpoint does not match the architecture: missing 12 tensors: /w00, /w01, /w02, /w03, /w04 and 7 more"
	if err == nil || err.Error() != want {
		t.Errorf("Check = %v\nwant %s", err, want)
	}
}
