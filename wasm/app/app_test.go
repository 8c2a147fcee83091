package main

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artrobust/art/wasm/protocol"
)

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestUploadCropsTheCentreAndResizes(t *testing.T) {
	// 96x32: a red left third, a green middle (the centre square), a blue
	// right third. The model sees only the green square.
	img := image.NewRGBA(image.Rect(0, 0, 96, 32))
	for y := range 32 {
		for x := range 96 {
			c := color.RGBA{255, 0, 0, 255}
			if x >= 32 && x < 64 {
				c = color.RGBA{0, 255, 0, 255}
			} else if x >= 64 {
				c = color.RGBA{0, 0, 255, 255}
			}
			img.Set(x, y, c)
		}
	}
	out, err := decodeUpload(encodePNG(t, img), 16, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 16*16*3 {
		t.Fatalf("%d values, want %d", len(out), 16*16*3)
	}
	for p := range 16 * 16 {
		if out[3*p] > 0.01 || out[3*p+1] < 0.99 || out[3*p+2] > 0.01 {
			t.Fatalf("pixel %d = %v, want pure green", p, out[3*p:3*p+3])
		}
	}
	gray, err := decodeUpload(encodePNG(t, img), 8, 1)
	if err != nil || len(gray) != 64 || math.Abs(float64(gray[0])-0.587) > 0.01 {
		t.Errorf("grayscale upload: %v values, first %v, err %v; want 64 values of 0.587", len(gray), gray[:1], err)
	}
}

func TestUploadAcceptsJPEG(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 40, 40))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	out, err := decodeUpload(b.Bytes(), 32, 3)
	if err != nil {
		t.Fatal(err)
	}
	if v := out[100]; math.Abs(float64(v)-200.0/255) > 0.02 {
		t.Errorf("pixel value %v, want about %v", v, 200.0/255)
	}
}

func TestUploadRefusesWhatItCannotUse(t *testing.T) {
	huge := encodePNG(t, image.NewGray(image.Rect(0, 0, maxUploadPixels+1, 1)))
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"text", []byte("hello, not a picture"), "not a PNG or JPEG"},
		{"too wide", huge, "the limit is 4096×4096"},
		{"too big", make([]byte, maxUploadBytes+1), "the limit is 20 MB"},
		{"truncated PNG", encodePNG(t, image.NewGray(image.Rect(0, 0, 50, 50)))[:60], "damaged"},
	} {
		_, err := decodeUpload(tc.b, 32, 3)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

func decodeDataPNG(t *testing.T, url string) image.Image {
	t.Helper()
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(url, prefix) {
		t.Fatalf("not a PNG data URL: %.40q", url)
	}
	b, err := base64.StdEncoding.DecodeString(url[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestPerturbationMapsPlusMinusEpsToTheFullRange(t *testing.T) {
	x := []float32{0.5, 0.5, 0.5, 0.5}
	adv := []float32{0.5 + 8.0/255, 0.5 - 8.0/255, 0.5, 0.5 + 4.0/255}
	img := decodeDataPNG(t, perturbationURL(adv, x, 8.0/255, 2, 1))
	want := []uint8{255, 0, 128, 191}
	for i, w := range want {
		g := color.GrayModel.Convert(img.At(i%2, i/2)).(color.Gray).Y
		if int(g)-int(w) > 1 || int(w)-int(g) > 1 {
			t.Errorf("pixel %d = %d, want %d", i, g, w)
		}
	}
}

func TestOverlayOpacityZeroShowsTheImage(t *testing.T) {
	img := []float32{0.2, 0.4, 0.6, 0.8}
	raw := []float32{1, 0, 0, 3}
	v := view{Colormap: "viridis", Opacity: 0}
	got := decodeDataPNG(t, mapURL(img, raw, 2, 1, v))
	for i, x := range img {
		r, _, _, _ := got.At(i%2, i/2).RGBA()
		if math.Abs(float64(r>>8)-float64(x)*255) > 1 {
			t.Errorf("pixel %d = %d, want the image's %v", i, r>>8, x*255)
		}
	}
	v.Opacity = 1
	full := decodeDataPNG(t, mapURL(img, raw, 2, 1, v))
	if a, b := full.At(1, 1), full.At(1, 0); a == b {
		t.Error("at opacity 1 the strongest and a zero pixel look the same")
	}
}

func TestChartDrawsOneLinePerSeriesWithGapsAtNaN(t *testing.T) {
	svg := chartSVG([]series{
		{Label: "A: top-k", Color: "#111", Y: []float64{1, 0.5, math.NaN(), 0.25}},
		{Label: "A: Kendall <τ>", Color: "#111", Dashed: true, Y: []float64{1, -0.3}},
	}, 3)
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(svg, "data:image/svg+xml;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if n := strings.Count(s, "<path "); n != 2 {
		t.Errorf("%d paths, want 2", n)
	}
	// The NaN splits the first line into two pieces: two M commands.
	first := s[strings.Index(s, `<path d="`):]
	first = first[:strings.Index(first, `"`+" fill")]
	if strings.Count(first, "M") != 2 {
		t.Errorf("first path %q, want a gap at the NaN", first)
	}
	if !strings.Contains(s, "&lt;τ&gt;") || !strings.Contains(s, ">-0.25<") {
		t.Errorf("labels not escaped or the axis does not reach below zero:\n%s", s)
	}
}

func TestPaperCostScalesWithPathPoints(t *testing.T) {
	c := &Root{Attack: protocol.DefaultAttack()}
	if s := c.PaperCost(); !strings.Contains(s, "run the default first") {
		t.Errorf("without a measurement: %q", s)
	}
	col := &column{Steps: []protocol.Step{{Millis: 999}, {Millis: 400}, {Millis: 400}}}
	c.Cols = []*column{col}
	// 400 ms per step at IG-8 is 50 ms per path point: IG-100 x 50 steps = 250 s.
	if s := c.PaperCost(); !strings.Contains(s, "about 250 s") {
		t.Errorf("estimate %q, want about 250 s", s)
	}
}

// root_gen.go must be what vugugen makes of root.vugu (./build.sh web
// regenerates it; a stale copy would break host builds or hide changes).
func TestGeneratedCodeIsUpToDate(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	for _, f := range []string{"root.vugu", "root.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gen := exec.Command(goBin, "tool", "vugugen", "-skip-go-mod", "-skip-main", dir)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("vugugen: %v\n%s", err, out)
	}
	fmtCmd := exec.Command(filepath.Join(filepath.Dir(goBin), "gofmt"), "-w", filepath.Join(dir, "root_gen.go"))
	if out, err := fmtCmd.CombinedOutput(); err != nil {
		t.Fatalf("gofmt: %v\n%s", err, out)
	}
	want, err := os.ReadFile(filepath.Join(dir, "root_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("root_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("root_gen.go is stale: run ./build.sh web (or go tool vugugen -skip-go-mod -skip-main ./wasm/app && gofmt -w wasm/app/root_gen.go)")
	}
}
