package main

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"runtime"
	"strings"
	"testing"
)

// An image file whose header claims 10000x10000 pixels is refused from the
// header: decoding it would allocate 400 MB, the refusal a few kilobytes.
func TestInputImageOf10000x10000IsRefusedFromItsHeader(t *testing.T) {
	b := pngHeaderOnly(10000, 10000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := decodeInputImage(b, 16, 3)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "10000x10000 pixels; it must be 1x1 to 8192x8192") {
		t.Errorf("error %v, want one naming 10000x10000 and the limit", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("refusing the header allocated %d bytes", got)
	}
}

// FuzzDecodeInputImage checks that no file given to art explain or art
// attack as -image makes the decoding panic, that its errors are one line,
// and that what it accepts is a size x size image with values in [0,1].
func FuzzDecodeInputImage(f *testing.F) {
	img := image.NewNRGBA(image.Rect(0, 0, 7, 5))
	for i := range img.Pix {
		img.Pix[i] = uint8(29 * i)
	}
	var p, j bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		f.Fatal(err)
	}
	if err := jpeg.Encode(&j, img, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(p.Bytes())
	f.Add(j.Bytes())
	f.Add(pngHeaderOnly(10000, 10000))
	f.Add(pngHeaderOnly(40, 30))
	f.Add([]byte("not a picture"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, ch := range []int{1, 3} {
			out, err := decodeInputImage(b, 6, ch)
			if err != nil {
				if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
					t.Fatalf("error %q is not one line", msg)
				}
				continue
			}
			if len(out) != 6*6*ch {
				t.Fatalf("%d values, want %d", len(out), 6*6*ch)
			}
			for i, v := range out {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("value %d is %v, outside [0,1]", i, v)
				}
			}
		}
	})
}
