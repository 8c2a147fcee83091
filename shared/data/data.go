// Package data holds image classification datasets in one in-memory layout
// shared by every loader: the built-in procedural "shapes" dataset and the
// parsers for the paper's datasets (CIFAR-10, SVHN, GTSRB, Flowers-17,
// CUB-200-2011).
//
// Images are stored NHWC (image, row, column, channel), float32 in [0,1],
// which is the layout the models take. Ground-truth boxes and masks, where a
// dataset has them, are in the pixel coordinates of the stored images.
package data

import (
	"fmt"
)

// Box is an axis-aligned bounding box in pixel coordinates of a stored image:
// columns [X0, X1) and rows [Y0, Y1). X1 and Y1 are exclusive, so the box's
// width is X1-X0.
type Box struct {
	X0, Y0, X1, Y1 float64
}

// Area is the box's area in pixels (0 for an empty or inverted box).
func (b Box) Area() float64 {
	w, h := b.X1-b.X0, b.Y1-b.Y0
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

// IoU is the intersection over union of two boxes (0 when both are empty).
func (b Box) IoU(o Box) float64 {
	ix := Box{max(b.X0, o.X0), max(b.Y0, o.Y0), min(b.X1, o.X1), min(b.Y1, o.Y1)}
	inter := ix.Area()
	union := b.Area() + o.Area() - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// Dataset is a labelled set of equally sized images.
type Dataset struct {
	// Name identifies the dataset and split, e.g. "shapes/train" or "cifar10/test".
	Name string
	// Classes names the classes; labels index into it.
	Classes []string
	// Height, Width and Channels give every image's shape.
	Height, Width, Channels int
	// Images holds N*Height*Width*Channels values, NHWC, in [0,1].
	Images []float32
	// Labels holds N class indices.
	Labels []int
	// Boxes holds one ground-truth box per image, or is nil.
	Boxes []Box
	// Masks holds N*Height*Width values (1 = object, 0 = background), or is nil.
	Masks []uint8
}

// Len is the number of images.
func (d *Dataset) Len() int { return len(d.Labels) }

// ImageSize is the number of values in one image (H*W*C).
func (d *Dataset) ImageSize() int { return d.Height * d.Width * d.Channels }

// Image returns image i as a slice of the dataset's storage (not a copy).
func (d *Dataset) Image(i int) []float32 {
	n := d.ImageSize()
	return d.Images[i*n : (i+1)*n]
}

// Mask returns the segmentation mask of image i (H*W values), or nil.
func (d *Dataset) Mask(i int) []uint8 {
	if d.Masks == nil {
		return nil
	}
	n := d.Height * d.Width
	return d.Masks[i*n : (i+1)*n]
}

// Validate checks that the slices agree with the declared shape, so a loader
// bug surfaces as an error instead of an index panic later on.
func (d *Dataset) Validate() error {
	n := len(d.Labels)
	if d.Height <= 0 || d.Width <= 0 || d.Channels <= 0 {
		return fmt.Errorf("data %q: invalid image shape %dx%dx%d", d.Name, d.Height, d.Width, d.Channels)
	}
	if len(d.Images) != n*d.ImageSize() {
		return fmt.Errorf("data %q: %d image values for %d images of %dx%dx%d", d.Name, len(d.Images), n, d.Height, d.Width, d.Channels)
	}
	if d.Boxes != nil && len(d.Boxes) != n {
		return fmt.Errorf("data %q: %d boxes for %d images", d.Name, len(d.Boxes), n)
	}
	if d.Masks != nil && len(d.Masks) != n*d.Height*d.Width {
		return fmt.Errorf("data %q: %d mask values for %d images of %dx%d", d.Name, len(d.Masks), n, d.Height, d.Width)
	}
	for i, l := range d.Labels {
		if l < 0 || l >= len(d.Classes) {
			return fmt.Errorf("data %q: image %d has label %d, outside the %d classes", d.Name, i, l, len(d.Classes))
		}
	}
	return nil
}

// Subset returns a new dataset holding copies of the given images, in order.
func (d *Dataset) Subset(indices []int) *Dataset {
	s := &Dataset{
		Name: d.Name, Classes: d.Classes,
		Height: d.Height, Width: d.Width, Channels: d.Channels,
		Images: make([]float32, 0, len(indices)*d.ImageSize()),
		Labels: make([]int, 0, len(indices)),
	}
	if d.Boxes != nil {
		s.Boxes = make([]Box, 0, len(indices))
	}
	if d.Masks != nil {
		s.Masks = make([]uint8, 0, len(indices)*d.Height*d.Width)
	}
	for _, i := range indices {
		s.Images = append(s.Images, d.Image(i)...)
		s.Labels = append(s.Labels, d.Labels[i])
		if d.Boxes != nil {
			s.Boxes = append(s.Boxes, d.Boxes[i])
		}
		if d.Masks != nil {
			s.Masks = append(s.Masks, d.Mask(i)...)
		}
	}
	return s
}

// Batch copies the given images into x (NHWC) and their labels into y,
// allocating them when nil or too short. It returns the filled slices.
func (d *Dataset) Batch(indices []int, x []float32, y []int32) ([]float32, []int32) {
	n := d.ImageSize()
	if cap(x) < len(indices)*n {
		x = make([]float32, len(indices)*n)
	}
	x = x[:len(indices)*n]
	if cap(y) < len(indices) {
		y = make([]int32, len(indices))
	}
	y = y[:len(indices)]
	for j, i := range indices {
		copy(x[j*n:(j+1)*n], d.Image(i))
		y[j] = int32(d.Labels[i])
	}
	return x, y
}
