package data

import (
	"math"
	"strings"
	"testing"
)

func TestParseSpecAcceptsEveryDatasetAndRejectsUnknownOnes(t *testing.T) {
	for in, want := range map[string]Spec{
		"":                 {Name: "shapes"},
		"shapes":           {Name: "shapes"},
		"cifar10:/d/c":     {Name: "cifar10", Path: "/d/c"},
		"SVHN:x":           {Name: "svhn", Path: "x"},
		"gtsrb:g":          {Name: "gtsrb", Path: "g"},
		"flowers17:f":      {Name: "flowers17", Path: "f"},
		"cub:/a:b":         {Name: "cub", Path: "/a:b"},
		"mnist":            {Name: "mnist"},
		"MNIST:/m":         {Name: "mnist", Path: "/m"},
		"fashion-mnist":    {Name: "fashion-mnist"},
		"fashion-mnist:/f": {Name: "fashion-mnist", Path: "/f"},
	} {
		got, err := ParseSpec(in)
		if err != nil || got != want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"imagenet:/x": "unknown dataset",
		"cifar10":     "needs a directory",
		"shapes:/x":   "takes no path",
	} {
		if _, err := ParseSpec(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseSpec(%q) error %v, want one containing %q", in, err, msg)
		}
	}
}

func TestLoadOfAMissingDirectoryNamesWhatIsExpected(t *testing.T) {
	s, err := ParseSpec("cifar10:" + t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Load("train", LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "data_batch_1.bin") {
		t.Errorf("loading an empty CIFAR-10 directory: %v, want an error naming data_batch_1.bin", err)
	}
}

func TestChannelStatsMatchDirectComputation(t *testing.T) {
	d := &Dataset{Channels: 2, Height: 1, Width: 2, Images: []float32{0, 1, 1, 1, 0.5, 0}, Labels: []int{0, 0, 0}[:1]}
	mean, std := d.ChannelStats()
	// Channel 0: 0, 1, 0.5 -> mean 0.5, population std sqrt(1/6).
	if math.Abs(float64(mean[0])-0.5) > 1e-6 || math.Abs(float64(std[0])-math.Sqrt(1.0/6)) > 1e-6 {
		t.Errorf("channel 0: mean %g std %g", mean[0], std[0])
	}
	// Channel 1: 1, 1, 0 -> mean 2/3, std sqrt(2/9).
	if math.Abs(float64(mean[1])-2.0/3) > 1e-6 || math.Abs(float64(std[1])-math.Sqrt(2.0/9)) > 1e-6 {
		t.Errorf("channel 1: mean %g std %g", mean[1], std[1])
	}
}
