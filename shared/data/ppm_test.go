package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"runtime"
	"strings"
	"testing"
)

// encodeP6 writes img as a binary PPM with maxval 255, for fixtures.
func encodeP6(img image.Image) []byte {
	b := img.Bounds()
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "P6\n%d %d\n255\n", b.Dx(), b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			buf.Write([]byte{c.R, c.G, c.B})
		}
	}
	return buf.Bytes()
}

func TestDecodePPMBinaryWithCommentsGivesExactPixels(t *testing.T) {
	raster := []byte{
		0, 1, 2, 10, 20, 30, 255, 254, 253,
		7, 8, 9, 100, 110, 120, 200, 0, 50,
	}
	in := append([]byte("P6 # a comment after the magic\n3 #width\n# full-line comment\n2\n255\n"), raster...)
	img, err := DecodePPM(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	rgba, ok := img.(*image.RGBA)
	if !ok {
		t.Fatalf("got %T, want *image.RGBA", img)
	}
	if got := rgba.Bounds(); got != image.Rect(0, 0, 3, 2) {
		t.Fatalf("bounds %v, want 3x2", got)
	}
	for p := range 6 {
		x, y := p%3, p/3
		want := color.RGBA{raster[3*p], raster[3*p+1], raster[3*p+2], 255}
		if got := rgba.RGBAAt(x, y); got != want {
			t.Errorf("pixel (%d,%d) = %v, want %v", x, y, got, want)
		}
	}
}

func TestDecodePPMPlainMatchesBinary(t *testing.T) {
	bin := append([]byte("P6\n2 2\n255\n"), 1, 2, 3, 40, 50, 60, 250, 251, 252, 0, 0, 9)
	plain := "P3\n# plain\n2 2\n255\n1 2 3   40 50 60\n250 251 252 # end of row\n0 0 9"
	a, err := DecodePPM(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	b, err := DecodePPM(strings.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.(*image.RGBA).Pix, b.(*image.RGBA).Pix) {
		t.Errorf("P3 pixels %v differ from P6 pixels %v", b.(*image.RGBA).Pix, a.(*image.RGBA).Pix)
	}
}

func TestDecodePPMRescalesSmallMaxvalTo255(t *testing.T) {
	img, err := DecodePPM(strings.NewReader("P3 1 1 15 15 7 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	// round(7*255/15) = round(119.0) = 119.
	if got, want := img.(*image.RGBA).RGBAAt(0, 0), (color.RGBA{255, 119, 0, 255}); got != want {
		t.Errorf("pixel %v, want %v", got, want)
	}
}

func TestDecodePPMSixteenBitIsBigEndianAndRescaled(t *testing.T) {
	in := append([]byte("P6 2 1 1000\n"), 0x01, 0xf4, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03)
	img, err := DecodePPM(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	rgba, ok := img.(*image.RGBA64)
	if !ok {
		t.Fatalf("got %T, want *image.RGBA64", img)
	}
	// 500/1000 -> round(32767.5) = 32768; 1000 -> 65535; k -> round(k*65.535).
	want := []color.RGBA64{{32768, 65535, 0, 65535}, {66, 131, 197, 65535}}
	for x, w := range want {
		if got := rgba.RGBA64At(x, 0); got != w {
			t.Errorf("pixel %d = %v, want %v", x, got, w)
		}
	}
}

func TestDecodePPMRejectsMalformedInput(t *testing.T) {
	for _, tc := range []struct {
		name, in, errHas string
	}{
		{"empty", "", "magic"},
		{"pgm magic", "P5 1 1 255\n\x00", "neither P6 nor P3"},
		{"zero width", "P6 0 1 255\n", "width is 0"},
		{"zero maxval", "P3 1 1 0\n0 0 0", "maxval is 0"},
		{"maxval too big", "P6 1 1 65536\n", "exceeds 65535"},
		{"letters in header", "P6 1x1 255\n", "unexpected"},
		{"missing maxval", "P6 1 1", "maxval"},
		{"truncated raster", "P6 2 1 255\n\x01\x02\x03", "truncated"},
		{"truncated 16-bit raster", "P6 1 1 300\n\x00\x01\x00\x01\x00", "truncated"},
		{"binary sample above maxval", "P6 1 1 100\n\x01\x65\x01", "above maxval"},
		{"plain sample above maxval", "P3 1 1 100\n1 101 1", "exceeds 100"},
		{"plain too few samples", "P3 1 1 255\n1 2", "sample 2"},
		{"plain garbage sample", "P3 1 1 255\n1 x 2", "want a decimal"},
		{"too many pixels", "P6 65535 65535 255\n", "exceeds the limit"},
	} {
		_, err := DecodePPM(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.errHas)
		}
	}
}

// A header may promise far more pixels than the input holds; the decoder must
// fail without allocating what the header promises (here 192 MB).
func TestDecodePPMLargeHeaderShortDataAllocatesLittle(t *testing.T) {
	in := []byte("P6 8000 8000 255\n" + strings.Repeat("\x01", 1000))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodePPM(bytes.NewReader(in))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("error %v, want a truncated raster", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("allocated %d bytes for a %d-byte input", got, len(in))
	}

	plain := []byte("P3 8000 8000 255\n" + strings.Repeat("1 ", 1000))
	runtime.ReadMemStats(&before)
	_, err = DecodePPM(bytes.NewReader(plain))
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("short plain raster decoded without error")
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("plain: allocated %d bytes for a %d-byte input", got, len(plain))
	}
}

func FuzzDecodePPM(f *testing.F) {
	f.Add([]byte("P6 2 1 255\n\x00\x01\x02\x03\x04\x05"))
	f.Add([]byte("P6 1 1 65535\n\xff\xff\x00\x00\x12\x34"))
	f.Add([]byte("P3\n# c\n2 1\n15\n1 2 3 4 5 6\n"))
	f.Add([]byte("P6 1 1 255#c\n\x01\x02\x03"))
	f.Add([]byte("P6 3 3 255\n\x01"))
	f.Add([]byte("P3 1 1 100\n1 101 1"))
	f.Add([]byte("P6 65535 65535 255\n"))
	f.Add([]byte("P5 1 1 255\n\x00"))
	f.Add([]byte("P3 1 1 255\n99999999999999999999 0 0"))
	f.Fuzz(func(t *testing.T, in []byte) {
		img, err := DecodePPM(bytes.NewReader(in))
		if err != nil {
			return
		}
		b := img.Bounds()
		if b.Dx() <= 0 || b.Dy() <= 0 || b.Dx()*b.Dy() > ppmMaxPixels {
			t.Fatalf("decoded image has bounds %v", b)
		}
		// Every pixel of a decoded image is opaque.
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if _, _, _, a := img.At(x, y).RGBA(); a != 0xffff {
					t.Fatalf("pixel (%d,%d) has alpha %d", x, y, a)
				}
			}
		}
	})
}
