package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // uploads
	"image/png"

	"github.com/artrobust/art/shared/render"
	"github.com/nfnt/resize"
)

// Upload limits: a larger file or picture is refused with a message rather
// than decoded (a browser tab has little memory, and decoding blocks the page).
const (
	maxUploadBytes  = 20 << 20
	maxUploadPixels = 4096
)

// pngURL encodes img as a data: URL.
func pngURL(img image.Image) string {
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())
}

// imageURL shows an HWC image in [0,1].
func imageURL(img []float32, size, ch int) string {
	rgba, err := render.ToRGBA(img, size, size, ch)
	if err != nil {
		return ""
	}
	return pngURL(rgba)
}

// view holds how maps are shown.
type view struct {
	Sign     render.SignMode
	Colormap string
	Opacity  float64 // of the heatmap over the image, in [0,1]
}

func (v view) colormap() render.Colormap {
	c, err := render.ColormapByName(v.Colormap)
	if err != nil {
		return render.DefaultColormap(v.Sign)
	}
	return c
}

// mapURL shows a raw attribution map (HWC, like img) over img.
func mapURL(img, raw []float32, size, ch int, v view) string {
	sal, err := render.Saliency(raw, size, size, ch, v.Sign)
	if err != nil {
		return ""
	}
	return saliencyURL(img, sal, size, ch, v)
}

// saliencyURL shows an H*W saliency map over img, clipped at its 99th
// percentile so that a few extreme pixels do not wash out the rest.
func saliencyURL(img, sal []float32, size, ch int, v view) string {
	var heat []float32
	var err error
	if v.Sign == render.Signed {
		heat, err = render.SymmetricClip(sal, 99)
	} else {
		heat, err = render.PercentileClip(sal, 0, 99)
	}
	if err != nil {
		return ""
	}
	out, err := render.Overlay(img, size, size, ch, heat, v.colormap(), v.Opacity)
	if err != nil {
		return ""
	}
	return pngURL(out)
}

// perturbationURL shows adv - x amplified so that ±eps spans the whole
// range: mid-gray is no change.
func perturbationURL(adv, x []float32, eps float64, size, ch int) string {
	if len(adv) != len(x) || eps <= 0 {
		return ""
	}
	d := make([]float32, len(x))
	for i := range x {
		d[i] = float32(0.5 + float64(adv[i]-x[i])/(2*eps))
	}
	return imageURL(d, size, ch)
}

// decodeUpload decodes a PNG or JPEG file, crops its centre square and
// resizes it to size x size, returning an HWC image in [0,1] with ch
// channels (1 or 3).
func decodeUpload(b []byte, size, ch int) ([]float32, error) {
	if len(b) == 0 {
		return nil, errors.New("the file is empty")
	}
	if len(b) > maxUploadBytes {
		return nil, fmt.Errorf("the file has %.1f MB; the limit is %d MB", float64(len(b))/(1<<20), maxUploadBytes>>20)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, errors.New("not a PNG or JPEG image")
	}
	if format != "png" && format != "jpeg" {
		return nil, fmt.Errorf("%s images are not supported; use PNG or JPEG", format)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxUploadPixels || cfg.Height > maxUploadPixels {
		return nil, fmt.Errorf("the image is %d×%d pixels; the limit is %d×%d", cfg.Width, cfg.Height, maxUploadPixels, maxUploadPixels)
	}
	src, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("the %s image is damaged: %v", format, err)
	}
	bounds := src.Bounds()
	side := min(bounds.Dx(), bounds.Dy())
	x0, y0 := bounds.Min.X+(bounds.Dx()-side)/2, bounds.Min.Y+(bounds.Dy()-side)/2
	square := image.NewRGBA(image.Rect(0, 0, side, side))
	draw.Draw(square, square.Bounds(), src, image.Pt(x0, y0), draw.Src)
	small := resize.Resize(uint(size), uint(size), square, resize.Bilinear)
	out := make([]float32, size*size*ch)
	for y := range size {
		for x := range size {
			r, g, bl, _ := small.At(small.Bounds().Min.X+x, small.Bounds().Min.Y+y).RGBA()
			p := out[(y*size+x)*ch:]
			if ch == 1 {
				p[0] = float32(0.299*float64(r)+0.587*float64(g)+0.114*float64(bl)) / 65535
				continue
			}
			p[0], p[1], p[2] = float32(r)/65535, float32(g)/65535, float32(bl)/65535
		}
	}
	return out, nil
}
