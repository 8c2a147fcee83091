package site

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
)

// favicon writes favicon.ico, which browsers ask for on every page
// (without it each visit logs a 404): a 32x32 PNG in an ICO container, the
// project's accent colour with a lighter diagonal, drawn here so that the
// site needs no binary source file.
func (b *builder) favicon() error {
	const n = 32
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			c := color.NRGBA{0x1f, 0x6f, 0xeb, 0xff}
			if d := x - (n - 1 - y); d >= -3 && d <= 3 {
				c = color.NRGBA{0xff, 0xff, 0xff, 0xff}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, img); err != nil {
		return err
	}
	var ico bytes.Buffer
	// ICONDIR (reserved, type 1 = icon, 1 image), then one ICONDIRENTRY:
	// width, height, colours, reserved, planes, bits per pixel, size, offset.
	binary.Write(&ico, binary.LittleEndian, []uint16{0, 1, 1})
	ico.Write([]byte{n, n, 0, 0})
	binary.Write(&ico, binary.LittleEndian, []uint16{1, 32})
	binary.Write(&ico, binary.LittleEndian, []uint32{uint32(pngBuf.Len()), 6 + 16})
	ico.Write(pngBuf.Bytes())
	return os.WriteFile(filepath.Join(b.dist, "favicon.ico"), ico.Bytes(), 0o644)
}
