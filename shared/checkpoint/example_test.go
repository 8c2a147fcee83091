package checkpoint_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/artrobust/art/shared/checkpoint"
)

func Example() {
	c := &checkpoint.Checkpoint{
		Meta: checkpoint.Meta{
			Arch:       checkpoint.Arch{Name: "WRN-10-1", Depth: 10, Width: 1, NumClasses: 3, InputSize: 32, Channels: 3},
			ClassNames: []string{"circle", "square", "triangle"},
			Method:     "art",
			Metrics:    map[string]float64{"clean_accuracy": 0.91},
		},
		Tensors: []*checkpoint.Tensor{
			checkpoint.NewFloat32("/head/fc/bias", []int{3}, []float32{0.1, -0.2, 0.3}),
		},
	}
	// Browser checkpoints store their weights as float16.
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, c, checkpoint.WithFloat16()); err != nil {
		log.Fatal(err)
	}

	got, err := checkpoint.ReadBytes(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	bias, _ := got.Tensor("/head/fc/bias")
	values, err := bias.Float32s()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Meta.Arch.Name, got.Meta.ClassNames, got.Meta.Metrics["clean_accuracy"])
	fmt.Println(bias.DType, bias.Shape, values)
	fmt.Println(got.Check(map[string][]int{"/head/fc/bias": {3}, "/head/fc/weights": {64, 3}}))
	// Output:
	// WRN-10-1 [circle square triangle] 0.91
	// float16 [3] [0.099975586 -0.19995117 0.30004883]
	// checkpoint does not match the architecture: missing 1 tensor: /head/fc/weights
}
