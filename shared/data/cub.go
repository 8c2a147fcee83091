package data

import (
	"bufio"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CUB-200-2011 (Wah et al., "The Caltech-UCSD Birds-200-2011 Dataset",
// Caltech CNS-TR-2011-001), as extracted from CUB_200_2011.tgz, from
// https://www.vision.caltech.edu/datasets/cub_200_2011/. Its README defines
// the annotation files, one record per line, fields separated by spaces:
//
//	images.txt              <image_id> <image_name>  (path under images/)
//	image_class_labels.txt  <image_id> <class_id>
//	train_test_split.txt    <image_id> <is_training_image>  (1 train, 0 test)
//	bounding_boxes.txt      <image_id> <x> <y> <width> <height>  (pixels)
//	classes.txt             <class_id> <class_name>
const (
	cubURL     = "https://www.vision.caltech.edu/datasets/cub_200_2011/"
	cubDirName = "CUB_200_2011"
	// cubMaxLine bounds one annotation line; real lines are under 100 bytes.
	cubMaxLine = 4096
)

// The annotation files, in the order parseCUBAnnotations takes them.
const (
	cubImagesFile = "images.txt"
	cubLabelsFile = "image_class_labels.txt"
	cubSplitFile  = "train_test_split.txt"
	cubBoxesFile  = "bounding_boxes.txt"
	cubClassFile  = "classes.txt"
)

// cubImage is one image's annotations. The box is in pixels of the original
// image: columns [x, x+w) and rows [y, y+h).
type cubImage struct {
	id         int
	path       string // slash-separated, relative to images/
	class      int    // 0-based
	train      bool
	x, y, w, h float64
}

// cubAnnotations is the parsed annotation set: class names in label order
// and the images in images.txt order.
type cubAnnotations struct {
	classes []string
	images  []cubImage
}

// LoadCUB reads the "train" (5,994 images) or "test" (5,794 images) split of
// CUB-200-2011, keeping the first limit images of the split in images.txt
// order (all of them when limit <= 0; the full training split at 224x224 is
// 3.6 GB of float32).
//
// dir is the extracted CUB_200_2011 directory or its parent. Each image is
// resized to size x size with bilinear interpolation, without keeping its
// aspect ratio: a centre crop could cut off part of the bird, and the
// attribution metrics need the whole ground-truth box. Boxes are scaled by
// the same factors (x*size/width and so on) and clipped to the image.
// Labels are class_id-1, in 0..199; class names are as in classes.txt.
//
// The README does not say where the box coordinates start; they are taken as
// 0-based offsets of the box's top-left corner, as common loaders do.
func LoadCUB(dir, split string, size, limit int) (*Dataset, error) {
	if size <= 0 {
		return nil, fmt.Errorf("cub: image size %d is not positive", size)
	}
	if split != "train" && split != "test" {
		return nil, fmt.Errorf("cub: unknown split %q (want \"train\" or \"test\")", split)
	}
	root := dir
	if _, err := os.Stat(filepath.Join(dir, cubImagesFile)); err != nil {
		root = filepath.Join(dir, cubDirName)
	}
	files := []string{cubImagesFile, cubLabelsFile, cubSplitFile, cubBoxesFile, cubClassFile}
	readers := make([]io.Reader, len(files))
	for i, name := range files {
		f, err := os.Open(filepath.Join(root, name))
		if err != nil {
			return nil, fmt.Errorf("cub: %w; want %s (or %s) to hold %s and images/ (CUB_200_2011.tgz from %s)",
				err, dir, filepath.Join(dir, cubDirName), strings.Join(files, ", "), cubURL)
		}
		defer f.Close()
		readers[i] = f
	}
	ann, err := parseCUBAnnotations(readers[0], readers[1], readers[2], readers[3], readers[4])
	if err != nil {
		return nil, fmt.Errorf("cub: %s: %w", root, err)
	}

	var sel []cubImage
	for _, im := range ann.images {
		if im.train == (split == "train") {
			sel = append(sel, im)
		}
	}
	if limit > 0 && len(sel) > limit {
		sel = sel[:limit]
	}
	d := &Dataset{
		Name:    "cub/" + split,
		Classes: ann.classes,
		Height:  size, Width: size, Channels: 3,
		Images: make([]float32, 0, len(sel)*size*size*3),
		Labels: make([]int, 0, len(sel)),
		Boxes:  make([]Box, 0, len(sel)),
	}
	for _, im := range sel {
		path := filepath.Join(root, "images", filepath.FromSlash(im.path))
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("cub: image %d: %w", im.id, err)
		}
		img, err := jpeg.Decode(bufio.NewReader(f))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("cub: %s: %w", path, err)
		}
		b := img.Bounds()
		// Multiply before dividing so that exact products stay exact.
		s, w, h := float64(size), float64(b.Dx()), float64(b.Dy())
		clip := func(v float64) float64 { return min(max(v, 0), s) }
		box := Box{
			X0: clip(im.x * s / w), Y0: clip(im.y * s / h),
			X1: clip((im.x + im.w) * s / w), Y1: clip((im.y + im.h) * s / h),
		}
		if box.Area() == 0 {
			return nil, fmt.Errorf("cub: image %d: box x=%g y=%g w=%g h=%g lies outside the %dx%d image", im.id, im.x, im.y, im.w, im.h, b.Dx(), b.Dy())
		}
		d.Images = appendResizedRGB(d.Images, img, b, size, size)
		d.Labels = append(d.Labels, im.class)
		d.Boxes = append(d.Boxes, box)
	}
	return d, d.Validate()
}

// parseCUBAnnotations parses the five annotation files
// and checks that they agree: every image id of images.txt appears exactly
// once in each per-image file and no other id does, class ids are 1..K with
// K the number of classes, and every label is one of them. Errors name the
// file and line.
func parseCUBAnnotations(images, labels, split, boxes, classes io.Reader) (*cubAnnotations, error) {
	ann := &cubAnnotations{}

	// classes.txt: ids must be exactly 1..K so that label = id-1.
	classRows, err := readCUBTable(classes, cubClassFile, 2)
	if err != nil {
		return nil, err
	}
	ann.classes = make([]string, len(classRows))
	for _, row := range classRows {
		id, err := cubID(row, cubClassFile, "class id")
		if err != nil {
			return nil, err
		}
		if id > len(classRows) {
			return nil, fmt.Errorf("%s:%d: class id %d, want ids 1..%d (one per line)", cubClassFile, row.line, id, len(classRows))
		}
		if ann.classes[id-1] != "" {
			return nil, fmt.Errorf("%s:%d: class id %d repeated", cubClassFile, row.line, id)
		}
		ann.classes[id-1] = row.fields[1]
	}

	imageRows, err := readCUBTable(images, cubImagesFile, 2)
	if err != nil {
		return nil, err
	}
	index := make(map[int]int, len(imageRows)) // image id -> position in ann.images
	ann.images = make([]cubImage, len(imageRows))
	for i, row := range imageRows {
		id, err := cubID(row, cubImagesFile, "image id")
		if err != nil {
			return nil, err
		}
		if _, dup := index[id]; dup {
			return nil, fmt.Errorf("%s:%d: image id %d repeated", cubImagesFile, row.line, id)
		}
		path := row.fields[1]
		if !filepath.IsLocal(filepath.FromSlash(path)) || strings.Contains(path, `\`) {
			return nil, fmt.Errorf("%s:%d: image name %q is not a relative path inside images/", cubImagesFile, row.line, path)
		}
		index[id] = i
		ann.images[i] = cubImage{id: id, path: path}
	}

	perImage := []struct {
		r      io.Reader
		file   string
		fields int
		set    func(im *cubImage, row cubRow) error
	}{
		{labels, cubLabelsFile, 2, func(im *cubImage, row cubRow) error {
			c, err := strconv.Atoi(row.fields[1])
			if err != nil || c < 1 || c > len(ann.classes) {
				return fmt.Errorf("class id %q is not in 1..%d", row.fields[1], len(ann.classes))
			}
			im.class = c - 1
			return nil
		}},
		{split, cubSplitFile, 2, func(im *cubImage, row cubRow) error {
			switch row.fields[1] {
			case "1":
				im.train = true
			case "0":
				im.train = false
			default:
				return fmt.Errorf("is_training_image %q is neither 1 nor 0", row.fields[1])
			}
			return nil
		}},
		{boxes, cubBoxesFile, 5, func(im *cubImage, row cubRow) error {
			var v [4]float64
			for i, s := range row.fields[1:] {
				f, err := strconv.ParseFloat(s, 64)
				if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
					return fmt.Errorf("box value %q is not a finite number", s)
				}
				v[i] = f
			}
			if v[0] < 0 || v[1] < 0 || v[2] <= 0 || v[3] <= 0 {
				return fmt.Errorf("box x=%g y=%g width=%g height=%g: want x, y >= 0 and width, height > 0", v[0], v[1], v[2], v[3])
			}
			im.x, im.y, im.w, im.h = v[0], v[1], v[2], v[3]
			return nil
		}},
	}
	for _, p := range perImage {
		rows, err := readCUBTable(p.r, p.file, p.fields)
		if err != nil {
			return nil, err
		}
		seen := make([]bool, len(ann.images))
		for _, row := range rows {
			id, err := cubID(row, p.file, "image id")
			if err != nil {
				return nil, err
			}
			i, ok := index[id]
			if !ok {
				return nil, fmt.Errorf("%s:%d: image id %d is not in %s", p.file, row.line, id, cubImagesFile)
			}
			if seen[i] {
				return nil, fmt.Errorf("%s:%d: image id %d repeated", p.file, row.line, id)
			}
			seen[i] = true
			if err := p.set(&ann.images[i], row); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", p.file, row.line, err)
			}
		}
		if len(rows) != len(ann.images) {
			for i, ok := range seen {
				if !ok {
					return nil, fmt.Errorf("%s: no line for image id %d", p.file, ann.images[i].id)
				}
			}
		}
	}
	return ann, nil
}

// cubRow is one non-blank line of an annotation file, split on spaces.
type cubRow struct {
	line   int
	fields []string
}

// readCUBTable splits every non-blank line of r into exactly n
// space-separated fields.
func readCUBTable(r io.Reader, file string, n int) ([]cubRow, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), cubMaxLine)
	var rows []cubRow
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != n {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d", file, line, len(fields), n)
		}
		rows = append(rows, cubRow{line: line, fields: fields})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", file, line+1, cubMaxLine)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return rows, nil
}

// cubID parses the positive integer id in a row's first field.
func cubID(row cubRow, file, what string) (int, error) {
	id, err := strconv.Atoi(row.fields[0])
	if err != nil || id < 1 {
		return 0, fmt.Errorf("%s:%d: %s %q is not a positive integer", file, row.line, what, row.fields[0])
	}
	return id, nil
}
