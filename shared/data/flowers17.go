package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nfnt/resize"

	"github.com/artrobust/art/shared/matfile"
)

// Oxford Flowers-17, from https://www.robots.ox.ac.uk/~vgg/data/flowers/17/
// (Nilsback and Zisserman, "A Visual Vocabulary for Flower Classification",
// CVPR 2006):
//
//   - 17flowers.tgz extracts to jpg/image_0001.jpg ... jpg/image_1360.jpg,
//     80 images per class with the classes in the order of
//     flowers17ClassNames, so image k (1-based) has label (k-1)/80.
//   - datasplits.mat holds trn1..trn3, val1..val3 and tst1..tst3: three
//     folds of 1-based image numbers (40 train, 20 val, 20 test per class),
//     stored as double row vectors.
//   - trimaps.tgz extracts to trimaps/image_XXXX.png, ground-truth
//     segmentations for 848 of the images (listed in trimaps/imlist.mat).
//     They are palette PNGs whose palette index 38 marks the flower; the
//     other indices are background and the uncertain boundary band. This
//     follows public loaders of the dataset, which compare the PNG's
//     values with 38; the VGG page does not spell the coding out. For a
//     trimap re-saved as greyscale the flower is grey level 38, and for
//     one re-saved as RGB it is the colour (128,0,0), the dark red of the
//     trimaps as other public code reads them: both are assumptions.
const (
	flowers17URL        = "https://www.robots.ox.ac.uk/~vgg/data/flowers/17/"
	flowers17PerClass   = 80
	flowers17NumImages  = 1360
	flowers17Foreground = 38
)

// flowers17ClassNames returns the class names in label order.
func flowers17ClassNames() []string {
	return []string{
		"Daffodil", "Snowdrop", "LilyValley", "Bluebell", "Crocus", "Iris",
		"Tigerlily", "Tulip", "Fritillary", "Sunflower", "Daisy", "ColtsFoot",
		"Dandelion", "Cowslip", "Buttercup", "Windflower", "Pansy",
	}
}

// LoadFlowers17 reads split "train", "val" or "test" of fold 1, 2 or 3 of
// Oxford Flowers-17 from dir, which holds jpg/ (from 17flowers.tgz) and
// datasplits.mat. Each image is resized to size x size with bilinear
// interpolation, without cropping, so the aspect ratio is not kept but the
// whole flower is. Images come in the split's order.
func LoadFlowers17(dir, split string, fold, size int) (*Dataset, error) {
	return loadFlowers17(dir, split, fold, size, false)
}

// LoadFlowers17Masks is like LoadFlowers17 but keeps only the images of the
// split that have a trimap in dir/trimaps (from trimaps.tgz), and fills
// Masks (1 on the flower, 0 on background and on the trimap's uncertain
// band; resized with nearest-neighbour sampling) and Boxes (the tightest box
// around the mask). An image whose resized mask is all flower or all
// background is left out: it localises nothing (images 1269 and 1270 are
// known to have such trimaps).
func LoadFlowers17Masks(dir, split string, fold, size int) (*Dataset, error) {
	return loadFlowers17(dir, split, fold, size, true)
}

func loadFlowers17(dir, split string, fold, size int, masks bool) (*Dataset, error) {
	if size <= 0 {
		return nil, fmt.Errorf("flowers17: image size %d, want > 0", size)
	}
	ids, err := flowers17Split(dir, split, fold)
	if err != nil {
		return nil, err
	}
	d := &Dataset{
		Name:    fmt.Sprintf("flowers17/%s%d", split, fold),
		Classes: flowers17ClassNames(),
		Height:  size, Width: size, Channels: 3,
	}
	trimaps := filepath.Join(dir, "trimaps")
	if masks {
		d.Name += "/trimaps"
		d.Masks, d.Boxes = []uint8{}, []Box{}
		if _, err := os.Stat(trimaps); err != nil {
			return nil, fmt.Errorf("flowers17: %w: extract trimaps.tgz from %s into %s", err, flowers17URL, dir)
		}
	}
	for _, id := range ids {
		if masks {
			mask, box, ok, err := flowers17Trimap(filepath.Join(trimaps, fmt.Sprintf("image_%04d.png", id)), size)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			d.Masks = append(d.Masks, mask...)
			d.Boxes = append(d.Boxes, box)
		}
		path := filepath.Join(dir, "jpg", fmt.Sprintf("image_%04d.jpg", id))
		if d.Images, err = appendFlowers17Image(d.Images, path, size); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("flowers17: %s not found: extract 17flowers.tgz from %s into %s (jpg/image_0001.jpg ... jpg/image_1360.jpg)", path, flowers17URL, dir)
			}
			return nil, fmt.Errorf("flowers17: %s: %w", path, err)
		}
		d.Labels = append(d.Labels, (id-1)/flowers17PerClass)
	}
	return d, nil
}

// flowers17Split returns the 1-based image numbers of a split and fold from
// datasplits.mat.
func flowers17Split(dir, split string, fold int) ([]int, error) {
	prefix := map[string]string{"train": "trn", "val": "val", "test": "tst"}[split]
	if prefix == "" {
		return nil, fmt.Errorf("flowers17: unknown split %q (want \"train\", \"val\" or \"test\")", split)
	}
	if fold < 1 || fold > 3 {
		return nil, fmt.Errorf("flowers17: fold %d, want 1, 2 or 3", fold)
	}
	path := filepath.Join(dir, "datasplits.mat")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("flowers17: %s not found: download datasplits.mat and 17flowers.tgz (extracted to jpg/) from %s into %s", path, flowers17URL, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("flowers17: %w", err)
	}
	defer f.Close()
	mat, err := matfile.Read(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("flowers17: %s: %w", path, err)
	}
	return flowers17IDs(mat, path, fmt.Sprintf("%s%d", prefix, fold))
}

// flowers17IDs reads split variable name (e.g. "trn1") of datasplits.mat:
// 1-based image numbers, each checked to be an image of the dataset.
func flowers17IDs(mat *matfile.File, path, name string) ([]int, error) {
	v := mat.Var(name)
	if v == nil {
		return nil, fmt.Errorf("flowers17: %s has no variable %s", path, name)
	}
	ids, err := v.Ints()
	if err != nil {
		return nil, fmt.Errorf("flowers17: %s: %w", path, err)
	}
	for _, id := range ids {
		if id < 1 || id > flowers17NumImages {
			return nil, fmt.Errorf("flowers17: %s: %s holds image number %d, want 1..%d", path, name, id, flowers17NumImages)
		}
	}
	return ids, nil
}

// flowers17MaxSide bounds the width and height of a Flowers-17 JPEG or
// trimap (the real ones are about 500 pixels across): a larger header is
// refused before its pixels are allocated.
const flowers17MaxSide = 8192

// checkImageHeader reads an image's width and height from its header
// (with decodeConfig, e.g. jpeg.DecodeConfig) and refuses an empty image
// or one larger than flowers17MaxSide on a side.
func checkImageHeader(b []byte, decodeConfig func(io.Reader) (image.Config, error)) error {
	cfg, err := decodeConfig(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > flowers17MaxSide || cfg.Height > flowers17MaxSide {
		return fmt.Errorf("the image is %dx%d pixels; want 1x1 to %dx%d", cfg.Width, cfg.Height, flowers17MaxSide, flowers17MaxSide)
	}
	return nil
}

// appendFlowers17Image decodes a JPEG, resizes it to size x size and appends
// its pixels (HWC, in [0,1]) to dst.
func appendFlowers17Image(dst []float32, path string, size int) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return dst, err
	}
	return appendFlowers17JPEG(dst, b, size)
}

// appendFlowers17JPEG decodes a JPEG's bytes, resizes it to size x size and
// appends its pixels (HWC, in [0,1]) to dst.
func appendFlowers17JPEG(dst []float32, b []byte, size int) ([]float32, error) {
	if err := checkImageHeader(b, jpeg.DecodeConfig); err != nil {
		return dst, err
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return dst, err
	}
	small := resize.Resize(uint(size), uint(size), img, resize.Bilinear)
	// draw converts any decoded colour model (YCbCr, grey, CMYK) to RGBA.
	rgba := image.NewRGBA(image.Rect(0, 0, size, size))
	draw.Draw(rgba, rgba.Rect, small, small.Bounds().Min, draw.Src)
	for i, p := range rgba.Pix {
		if i%4 != 3 {
			dst = append(dst, float32(p)/255)
		}
	}
	return dst, nil
}

// flowers17Trimap reads a trimap, resizes its flower mask to size x size by
// nearest-neighbour sampling and returns it with its tight box. ok is false
// when the file does not exist or the mask is all flower or all background.
func flowers17Trimap(path string, size int) (mask []uint8, box Box, ok bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Box{}, false, nil
	}
	if err != nil {
		return nil, Box{}, false, fmt.Errorf("flowers17: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, Box{}, false, fmt.Errorf("flowers17: %w", err)
	}
	mask, box, ok, err = flowers17TrimapMask(raw, size)
	if err != nil {
		return nil, Box{}, false, fmt.Errorf("flowers17: %s: %w", path, err)
	}
	return mask, box, ok, nil
}

// flowers17TrimapMask decodes a trimap PNG's bytes and resizes its flower
// mask to size x size by nearest-neighbour sampling, with its tight box; ok
// is false when the mask is all flower or all background.
func flowers17TrimapMask(raw []byte, size int) (mask []uint8, box Box, ok bool, err error) {
	if err := checkImageHeader(raw, png.DecodeConfig); err != nil {
		return nil, Box{}, false, err
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, Box{}, false, err
	}
	b := img.Bounds()
	if b.Empty() {
		return nil, Box{}, false, errors.New("empty image")
	}
	var flower func(x, y int) bool
	switch m := img.(type) {
	case *image.Paletted:
		flower = func(x, y int) bool { return m.ColorIndexAt(x, y) == flowers17Foreground }
	case *image.Gray:
		flower = func(x, y int) bool { return m.GrayAt(x, y).Y == flowers17Foreground }
	default:
		flower = func(x, y int) bool {
			r, g, bl, _ := m.At(x, y).RGBA()
			return r>>8 == 128 && g>>8 == 0 && bl>>8 == 0
		}
	}
	mask = make([]uint8, size*size)
	box = Box{X0: float64(size), Y0: float64(size)}
	count := 0
	for y := range size {
		// The centre of output pixel y falls on source row (y+0.5)*H/size.
		sy := b.Min.Y + (2*y+1)*b.Dy()/(2*size)
		for x := range size {
			sx := b.Min.X + (2*x+1)*b.Dx()/(2*size)
			if !flower(sx, sy) {
				continue
			}
			mask[y*size+x] = 1
			count++
			box.X0, box.Y0 = min(box.X0, float64(x)), min(box.Y0, float64(y))
			box.X1, box.Y1 = max(box.X1, float64(x+1)), max(box.Y1, float64(y+1))
		}
	}
	if count == 0 || count == size*size {
		return nil, Box{}, false, nil
	}
	return mask, box, true, nil
}
