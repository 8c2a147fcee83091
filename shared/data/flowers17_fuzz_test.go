package data

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/artrobust/art/shared/matfile"
)

// FuzzFlowers17 checks the three conversions of Flowers-17 files, on any
// content: the split numbers of datasplits.mat, a JPEG image and a trimap
// PNG. None panics; the split numbers accepted are image numbers of the
// dataset; an accepted image is size x size x 3 in [0,1]; an accepted mask
// is 0/1, neither empty nor full, and its box is the tightest around it.
func FuzzFlowers17(f *testing.F) {
	var mat bytes.Buffer
	v, err := matfile.NewArray("trn1", []int{1, 3}, []float64{1, 81, 1360})
	if err != nil {
		f.Fatal(err)
	}
	w, _ := matfile.NewArray("tst2", []int{1, 1}, []float64{1361})
	if err := matfile.Write(&mat, v, w); err != nil {
		f.Fatal(err)
	}
	photo := image.NewRGBA(image.Rect(0, 0, 9, 7))
	for i := range photo.Pix {
		photo.Pix[i] = uint8(13 * i)
	}
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, photo, nil); err != nil {
		f.Fatal(err)
	}
	tri := image.NewPaletted(image.Rect(0, 0, 8, 6), make(color.Palette, 40))
	for i := range tri.Palette {
		tri.Palette[i] = color.Gray{uint8(i)}
	}
	for y := 1; y < 4; y++ {
		for x := 2; x < 6; x++ {
			tri.SetColorIndex(x, y, flowers17Foreground)
		}
	}
	var trimap bytes.Buffer
	if err := png.Encode(&trimap, tri); err != nil {
		f.Fatal(err)
	}
	f.Add(mat.Bytes(), jpg.Bytes(), trimap.Bytes())
	f.Add(mat.Bytes()[:len(mat.Bytes())-3], jpg.Bytes()[:40], trimap.Bytes()[:50])
	f.Add([]byte("MATLAB 5.0"), []byte("\xff\xd8\xff\xc0"), []byte("\x89PNG\r\n\x1a\n"))
	const size = 5
	f.Fuzz(func(t *testing.T, matBytes, jpgBytes, trimapBytes []byte) {
		if m, err := matfile.Read(bytes.NewReader(matBytes)); err == nil {
			for _, name := range []string{"trn1", "val2", "tst2"} {
				ids, err := flowers17IDs(m, "datasplits.mat", name)
				if err != nil {
					continue
				}
				for _, id := range ids {
					if id < 1 || id > flowers17NumImages {
						t.Fatalf("%s: accepted image number %d", name, id)
					}
				}
			}
		}
		if px, err := appendFlowers17JPEG(nil, jpgBytes, size); err == nil {
			if len(px) != size*size*3 {
				t.Fatalf("image of %d values, want %d", len(px), size*size*3)
			}
			for i, p := range px {
				if !(p >= 0 && p <= 1) {
					t.Fatalf("pixel value %d is %v", i, p)
				}
			}
		}
		mask, box, ok, err := flowers17TrimapMask(trimapBytes, size)
		if err != nil || !ok {
			return
		}
		if len(mask) != size*size {
			t.Fatalf("mask of %d values, want %d", len(mask), size*size)
		}
		count := 0
		tight := Box{X0: size, Y0: size}
		for y := range size {
			for x := range size {
				switch mask[y*size+x] {
				case 0:
				case 1:
					count++
					tight.X0, tight.Y0 = min(tight.X0, float64(x)), min(tight.Y0, float64(y))
					tight.X1, tight.Y1 = max(tight.X1, float64(x+1)), max(tight.Y1, float64(y+1))
				default:
					t.Fatalf("mask value %d", mask[y*size+x])
				}
			}
		}
		if count == 0 || count == size*size {
			t.Fatalf("accepted a mask with %d of %d flower pixels", count, size*size)
		}
		if box != tight {
			t.Fatalf("box %+v, the tightest is %+v", box, tight)
		}
	})
}

// A Flowers-17 JPEG or trimap whose header claims 10000x10000 pixels is
// refused before its pixels are allocated.
func TestFlowers17RefusesHugeImageHeaders(t *testing.T) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	jpg := b.Bytes()
	i := bytes.Index(jpg, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	jpg[i+5], jpg[i+6], jpg[i+7], jpg[i+8] = 0x27, 0x10, 0x27, 0x10 // 10000 x 10000
	if _, err := appendFlowers17JPEG(nil, jpg, 8); err == nil || err.Error() != "the image is 10000x10000 pixels; want 1x1 to 8192x8192" {
		t.Errorf("JPEG: error %v", err)
	}
	b.Reset()
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	pngb := b.Bytes()
	// The IHDR chunk's type starts 12 bytes in, its width and height 16;
	// its CRC (over type and data) follows the 13 data bytes.
	copy(pngb[16:24], []byte{0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10})
	binary.BigEndian.PutUint32(pngb[29:33], crc32.ChecksumIEEE(pngb[12:29]))
	if _, _, _, err := flowers17TrimapMask(pngb, 8); err == nil || err.Error() != "the image is 10000x10000 pixels; want 1x1 to 8192x8192" {
		t.Errorf("trimap: error %v", err)
	}
}
