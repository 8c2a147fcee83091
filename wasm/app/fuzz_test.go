package main

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"runtime"
	"strings"
	"testing"
)

// pngChunk encodes one PNG chunk with its CRC.
func pngChunk(kind string, body []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(len(body)))
	b.WriteString(kind)
	b.Write(body)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(kind), body...)))
	return b.Bytes()
}

// bigPNG is a well-formed PNG whose header claims w x h RGBA pixels but whose
// data holds a single row: decoding it naively would allocate w*h*4 bytes
// before noticing the missing rows.
func bigPNG(w, h int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	b.Write(pngChunk("IHDR", ihdr))
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(make([]byte, 1+4*w)) // one row: filter byte and pixels
	_ = zw.Close()
	b.Write(pngChunk("IDAT", z.Bytes()))
	b.Write(pngChunk("IEND", nil))
	return b.Bytes()
}

// bigJPEG is a small JPEG whose frame header is patched to claim w x h.
func bigJPEG(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	out := b.Bytes()
	i := bytes.Index(out, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0 marker in the encoded JPEG")
	}
	binary.BigEndian.PutUint16(out[i+5:], uint16(h))
	binary.BigEndian.PutUint16(out[i+7:], uint16(w))
	return out
}

// A 10000x10000 picture is refused from its header, before any pixel is
// decoded: the whole call allocates a few kilobytes, not the 400 MB the
// pixels would take.
func TestUploadOf10000x10000IsRefusedFromItsHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
	}{{"PNG", bigPNG(10000, 10000)}, {"JPEG", bigJPEG(t, 10000, 10000)}} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := decodeUpload(tc.b, 32, 3)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), "10000×10000 pixels; the limit is 4096×4096") {
			t.Errorf("%s: error %v, want one naming 10000×10000 and the limit", tc.name, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
			t.Errorf("%s: refusing the header allocated %d bytes", tc.name, got)
		}
	}
	// The same header with a size within the limit gets past the check and
	// is refused as damaged (its rows are missing).
	if _, err := decodeUpload(bigPNG(300, 200), 32, 3); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("a 300×200 PNG with one row: error %v, want damaged", err)
	}
}

// FuzzDecodeUpload checks that no uploaded file makes decodeUpload panic,
// that its errors are one line (they are shown in the page), and that what
// it accepts is a size x size image with values in [0,1].
func FuzzDecodeUpload(f *testing.F) {
	small := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for i := range small.Pix {
		small.Pix[i] = uint8(37 * i)
	}
	var p bytes.Buffer
	if err := png.Encode(&p, small); err != nil {
		f.Fatal(err)
	}
	f.Add(p.Bytes())
	var j bytes.Buffer
	photo := image.NewRGBA(image.Rect(0, 0, 12, 9))
	for i := range photo.Pix {
		photo.Pix[i] = uint8(11 * i)
	}
	if err := jpeg.Encode(&j, photo, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(j.Bytes())
	f.Add(bigPNG(10000, 10000))
	f.Add(bigPNG(3, 2))
	f.Add(bigJPEG(f, 10000, 10000))
	f.Add([]byte("GIF89a\x01\x00\x01\x00"))
	f.Add([]byte("not a picture"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, ch := range []int{1, 3} {
			out, err := decodeUpload(b, 8, ch)
			if err != nil {
				if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
					t.Fatalf("error %q is not one line", msg)
				}
				continue
			}
			if len(out) != 8*8*ch {
				t.Fatalf("%d values, want %d", len(out), 8*8*ch)
			}
			for i, v := range out {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("value %d is %v, outside [0,1]", i, v)
				}
			}
		}
	})
}
