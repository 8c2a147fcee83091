package render

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/artrobust/art/shared/data"
)

// unit clamps a map value to [0, 1], non-finite values giving 0.
func unit(v float32) float64 { return max(0, min(1, finite(v))) }

// ToRGBA converts an HWC float image with values in [0, 1] (the datasets'
// layout) to an opaque RGBA image. c is 1 (gray) or 3 (RGB). Values are
// clamped to [0, 1] and rounded to the nearest byte; non-finite ones give 0.
func ToRGBA(img []float32, h, w, c int) (*image.RGBA, error) {
	if err := checkImage("ToRGBA", img, h, w, c); err != nil {
		return nil, err
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for p := range h * w {
		px := img[p*c : (p+1)*c]
		o := out.Pix[4*p : 4*p+4]
		if c == 1 {
			g := toByte(unit(px[0]))
			o[0], o[1], o[2] = g, g, g
		} else {
			o[0], o[1], o[2] = toByte(unit(px[0])), toByte(unit(px[1])), toByte(unit(px[2]))
		}
		o[3] = 255
	}
	return out, nil
}

// Heatmap colours an H*W map with values in [0, 1] (see PercentileClip)
// through cmap. Values outside are clamped; non-finite ones count as 0.
func Heatmap(heat []float32, h, w int, cmap Colormap) (*image.RGBA, error) {
	if h <= 0 || w <= 0 || len(heat) != h*w {
		return nil, fmt.Errorf("render.Heatmap: %d values for a %dx%d map", len(heat), h, w)
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for p, v := range heat {
		c := cmap.At(unit(v))
		o := out.Pix[4*p : 4*p+4]
		o[0], o[1], o[2], o[3] = c.R, c.G, c.B, 255
	}
	return out, nil
}

// Overlay blends the heatmap of heat (H*W, values in [0, 1]) over the HWC
// image img (values in [0, 1], c = 1 or 3):
//
//	pixel = (1 - alpha) image + alpha cmap(heat),
//
// rounded to the nearest byte. alpha = 0 gives ToRGBA(img), alpha = 1 gives
// Heatmap(heat). It returns an error for mismatched sizes or alpha outside
// [0, 1].
func Overlay(img []float32, h, w, c int, heat []float32, cmap Colormap, alpha float64) (*image.RGBA, error) {
	if err := checkImage("Overlay", img, h, w, c); err != nil {
		return nil, err
	}
	if len(heat) != h*w {
		return nil, fmt.Errorf("render.Overlay: %d heat values for a %dx%d image", len(heat), h, w)
	}
	if !(0 <= alpha && alpha <= 1) {
		return nil, fmt.Errorf("render.Overlay: alpha = %v outside [0, 1]", alpha)
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for p := range h * w {
		hc := cmap.At(unit(heat[p]))
		heatRGB := [3]uint8{hc.R, hc.G, hc.B}
		o := out.Pix[4*p : 4*p+4]
		for k := range 3 {
			x := unit(img[p*c+min(k, c-1)]) * 255
			o[k] = uint8(math.Round((1-alpha)*x + alpha*float64(heatRGB[k])))
		}
		o[3] = 255
	}
	return out, nil
}

func checkImage(fn string, img []float32, h, w, c int) error {
	if c != 1 && c != 3 {
		return fmt.Errorf("render.%s: %d channels, want 1 or 3", fn, c)
	}
	if h <= 0 || w <= 0 || len(img) != h*w*c {
		return fmt.Errorf("render.%s: %d values for a %dx%dx%d image", fn, len(img), h, w, c)
	}
	return nil
}

// DrawBox draws the outline of box on img in colour col: the pixels of
// columns [X0, X1) and rows [Y0, Y1) (data.Box's exclusive upper bounds,
// rounded to the nearest pixel) that lie within thickness pixels of the
// box's edge, so the outline stays inside the box. Coordinates are relative
// to img.Bounds().Min; the part outside img is not drawn. A thickness below 1
// counts as 1; an empty box, or one with a NaN coordinate, draws nothing.
//
// Boxes are in the coordinates of the stored images: scale one by the same
// factor before drawing it on an Upscale'd image.
func DrawBox(img *image.RGBA, box data.Box, col color.Color, thickness int) {
	if math.IsNaN(box.X0) || math.IsNaN(box.Y0) || math.IsNaN(box.X1) || math.IsNaN(box.Y1) {
		return
	}
	t := max(thickness, 1)
	x0, y0, x1, y1 := pixel(box.X0), pixel(box.Y0), pixel(box.X1), pixel(box.Y1)
	c := color.RGBAModel.Convert(col).(color.RGBA)
	r := img.Bounds()
	for y := max(y0, 0); y < min(y1, r.Dy()); y++ {
		for x := max(x0, 0); x < min(x1, r.Dx()); x++ {
			if x < x0+t || x >= x1-t || y < y0+t || y >= y1-t {
				img.SetRGBA(r.Min.X+x, r.Min.Y+y, c)
			}
		}
	}
}

// pixel rounds a coordinate to the nearest pixel, clamped far outside any
// image so that the conversion to int cannot overflow.
func pixel(v float64) int { return int(math.Round(max(-1<<30, min(1<<30, v)))) }

// Upscale enlarges img by an integer factor with nearest-neighbour sampling,
// so each pixel becomes a factor x factor block (32x32 inputs are too small
// to see in a report). The result's bounds start at (0, 0).
func Upscale(img image.Image, factor int) (*image.RGBA, error) {
	if factor < 1 {
		return nil, fmt.Errorf("render.Upscale: factor %d < 1", factor)
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()*factor, b.Dy()*factor))
	for y := range b.Dy() {
		row := out.Pix[y*factor*out.Stride : (y*factor+1)*out.Stride]
		for x := range b.Dx() {
			var c color.RGBA
			if src, ok := img.(*image.RGBA); ok {
				c = src.RGBAAt(b.Min.X+x, b.Min.Y+y) // no interface boxing
			} else {
				c = color.RGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
			}
			for i := range factor {
				o := row[4*(x*factor+i) : 4*(x*factor+i)+4]
				o[0], o[1], o[2], o[3] = c.R, c.G, c.B, c.A
			}
		}
		for i := 1; i < factor; i++ {
			copy(out.Pix[(y*factor+i)*out.Stride:], row)
		}
	}
	return out, nil
}

// Grid tiles images into a contact sheet, row by row with cols images per
// row and gap pixels of bg between neighbouring cells (none around the
// edge). Every cell has the size of the largest image; smaller images are
// centred in theirs. An image with empty bounds leaves its cell blank. It
// returns an error if there are no images or cols < 1, or gap < 0.
func Grid[I image.Image](imgs []I, cols, gap int, bg color.Color) (*image.RGBA, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("render.Grid: no images")
	}
	if cols < 1 || gap < 0 {
		return nil, fmt.Errorf("render.Grid: cols = %d, gap = %d; need cols >= 1, gap >= 0", cols, gap)
	}
	cw, ch := 0, 0
	for _, im := range imgs {
		cw, ch = max(cw, im.Bounds().Dx()), max(ch, im.Bounds().Dy())
	}
	cols = min(cols, len(imgs))
	rows := (len(imgs) + cols - 1) / cols
	out := image.NewRGBA(image.Rect(0, 0, cols*cw+(cols-1)*gap, rows*ch+(rows-1)*gap))
	draw.Draw(out, out.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	for i, im := range imgs {
		b := im.Bounds()
		x := (i%cols)*(cw+gap) + (cw-b.Dx())/2
		y := (i/cols)*(ch+gap) + (ch-b.Dy())/2
		draw.Draw(out, image.Rect(x, y, x+b.Dx(), y+b.Dy()), im, b.Min, draw.Src)
	}
	return out, nil
}
