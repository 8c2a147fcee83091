package main

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/checkpoint"
)

// pngHeaderOnly is a well-formed PNG whose header claims w x h RGBA pixels
// but whose data holds one row: a decoder that trusts the header allocates
// w*h*4 bytes before it notices the missing rows.
func pngHeaderOnly(w, h int) []byte {
	chunk := func(b *bytes.Buffer, kind string, body []byte) {
		_ = binary.Write(b, binary.BigEndian, uint32(len(body)))
		b.WriteString(kind)
		b.Write(body)
		_ = binary.Write(b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(kind), body...)))
	}
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 6
	chunk(&b, "IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(make([]byte, 1+4*min(w, 1<<16)))
	_ = zw.Close()
	chunk(&b, "IDAT", z.Bytes())
	chunk(&b, "IEND", nil)
	return b.Bytes()
}

// badFiles writes the hostile inputs of the command-line tests into dir.
type badFiles struct {
	ckpt, damaged, wrongArch, text, empty, huge, zeroWide, noRows, good, dir string
	// valid checksums, hostile contents
	hugeInput, deepArch, nanWeights string
}

func writeBadFiles(t *testing.T) badFiles {
	t.Helper()
	dir := t.TempDir()
	f := badFiles{ckpt: tinyCheckpoint(t), dir: dir}
	put := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	raw, err := os.ReadFile(f.ckpt)
	if err != nil {
		t.Fatal(err)
	}
	damaged := append([]byte{}, raw...)
	damaged[len(damaged)/2] ^= 0x10
	f.damaged = put("damaged.ckpt", damaged)
	ck, err := checkpoint.ReadFile(f.ckpt)
	if err != nil {
		t.Fatal(err)
	}
	// The metadata says WRN-16-1, the tensors are those of a WRN-10-1.
	ck.Meta.Arch.Name, ck.Meta.Arch.Depth = "WRN-16-1", 16
	f.wrongArch = filepath.Join(dir, "wrongarch.ckpt")
	if err := checkpoint.WriteFile(f.wrongArch, ck); err != nil {
		t.Fatal(err)
	}
	variant := func(name string, edit func(*checkpoint.Checkpoint)) string {
		c, err := checkpoint.ReadFile(f.ckpt)
		if err != nil {
			t.Fatal(err)
		}
		edit(c)
		p := filepath.Join(dir, name)
		if err := checkpoint.WriteFile(p, c); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.hugeInput = variant("hugeinput.ckpt", func(c *checkpoint.Checkpoint) { c.Meta.Arch.InputSize = 100000 })
	f.deepArch = variant("deep.ckpt", func(c *checkpoint.Checkpoint) { c.Meta.Arch.Name, c.Meta.Arch.Depth = "WRN-6000000004-1", 6000000004 })
	f.nanWeights = variant("nan.ckpt", func(c *checkpoint.Checkpoint) {
		w, _ := c.Tensor("/head/fc/weights")
		v, _ := w.Float32s()
		v = append([]float32(nil), v...)
		v[5] = float32(math.NaN())
		for i, tn := range c.Tensors {
			if tn.Name == w.Name {
				c.Tensors[i] = checkpoint.NewFloat32(w.Name, w.Shape, v)
			}
		}
	})
	f.text = put("notes.png", []byte("this is text, not a picture\n"))
	f.empty = put("empty.png", nil)
	f.huge = put("huge.png", pngHeaderOnly(10000, 10000))
	f.zeroWide = put("zero.png", pngHeaderOnly(0, 7))
	f.noRows = put("norows.png", pngHeaderOnly(40, 30))
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 20, 20))); err != nil {
		t.Fatal(err)
	}
	f.good = put("good.png", b.Bytes())
	return f
}

// Every bad command line of the list, for each command, ends the
// process with exit status 1 and exactly one line on stderr, "art: ...",
// naming the culprit.
func TestBadCommandLinesGiveOneLineErrors(t *testing.T) {
	f := writeBadFiles(t)
	missing := filepath.Join(f.dir, "nowhere")
	out := filepath.Join(f.dir, "out")
	tiny := []string{"-size", "16", "-train-n", "64", "-test-n", "32", "-batch", "32", "-epochs", "1", "-eval-pgd-n", "0", "-no-progress"}
	train := func(extra ...string) []string {
		return append(append([]string{"train", "-out", filepath.Join(f.dir, "run")}, tiny...), extra...)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		// art train
		{train("-data", "imagenet:/x"), `unknown dataset "imagenet"`},
		{train("-data", "cifar10:"+missing), missing},
		{train("-data", "gtsrb:"+missing), missing},
		{train("-art-eps", "-8/255"), "-art-eps"},
		{train("-pgd-step", "-0.1"), "-pgd-step"},
		{train("-init", f.ckpt, "-model", "WRN-16-1"), "-model is WRN-16-1"},
		{train("-init", f.wrongArch), "does not match the architecture"},
		{train("-init", f.damaged), "damaged.ckpt"},
		{train("-init", missing), missing},
		{train("-model", "WRN-11-1"), "6n+4"},
		{train("-resume"), "model.ckpt"},
		{train("-nan-retries", "-1"), "-nan-retries"},
		{train("-conv-parts", "-1"), "-conv-parts"},
		{train("-nan-retries", "2", "-nan-lr-factor", "1.5"), "-nan-lr-factor"},
		// art eval
		{[]string{"eval", "-ckpt", f.ckpt, "-data", "imagenet:/x"}, `unknown dataset "imagenet"`},
		{[]string{"eval", "-ckpt", f.ckpt, "-data", "svhn:" + missing}, missing},
		{[]string{"eval", "-ckpt", missing}, missing},
		{[]string{"eval", "-ckpt", f.wrongArch}, "does not match the architecture"},
		{[]string{"eval", "-ckpt", f.damaged}, "damaged.ckpt"},
		{[]string{"eval", "-ckpt", f.ckpt, "-pgd-eps", "-1/255"}, "-pgd-eps"},
		{[]string{"eval", "-ckpt", f.ckpt, "-eps", "-1/255"}, "-eps"},
		{[]string{"eval", "-ckpt", f.ckpt, "-k", "257"}, "-k 257"},
		{[]string{"eval", "-ckpt", f.ckpt, "-attribution", "lime"}, "lime"},
		{[]string{"eval", "-ckpt", f.ckpt, "-keep", "nothing"}, "nothing"},
		{[]string{"eval", "-ckpt", f.ckpt, "-steps", "-1"}, "-steps"},
		{[]string{"eval", "-ckpt", f.ckpt, "-pgd-norm", "l3"}, "l3"},
		{[]string{"eval"}, "-ckpt"},
		// art explain
		{[]string{"explain", "-image", "shapes:0"}, "-ckpt"},
		{[]string{"explain", "-ckpt", f.ckpt}, "-image"},
		{[]string{"explain", "-ckpt", f.ckpt, "-image", "shapes:0", "-method", "lime"}, `"lime"`},
		{[]string{"explain", "-ckpt", missing, "-image", "shapes:0"}, missing},
		{[]string{"explain", "-ckpt", f.damaged, "-image", "shapes:0"}, "damaged.ckpt"},
		{[]string{"explain", "-ckpt", f.wrongArch, "-image", "shapes:0"}, "does not match the architecture"},
		{[]string{"explain", "-ckpt", f.ckpt, "-image", missing}, missing},
		{[]string{"explain", "-ckpt", f.ckpt, "-image", f.dir}, "is a directory"},
		{[]string{"explain", "-ckpt", f.ckpt, "-image", f.text}, "notes.png: not a PNG or JPEG"},
		{[]string{"explain", "-ckpt", f.ckpt, "-image", f.empty}, "empty.png: the file is empty"},
		{[]string{"explain", "-ckpt", f.ckpt, "-image", f.huge}, "10000x10000 pixels"},
		{[]string{"explain", "-ckpt", f.ckpt, "-image", f.zeroWide}, "zero.png"},
		{[]string{"explain", "-ckpt", f.ckpt, "-image", f.noRows}, "norows.png: the png image is damaged"},
		{[]string{"explain", "-ckpt", f.ckpt, "-image", "shapes:x"}, "shapes:INDEX"},
		{[]string{"explain", "-ckpt", f.ckpt, "-image", "shapes:0", "-target", "10"}, "-target 10"},
		{[]string{"explain", "-ckpt", f.ckpt, "-image", "shapes:0", "-ig-steps", "0"}, "-ig-steps"},
		// art attack
		{[]string{"attack", "-image", "shapes:0"}, "-ckpt"},
		{[]string{"attack", "-ckpt", f.ckpt, "-image", "shapes:0", "-attack", "magic"}, `"magic"`},
		{[]string{"attack", "-ckpt", f.ckpt, "-image", "shapes:0", "-method", "lime"}, `"lime"`},
		{[]string{"attack", "-ckpt", f.ckpt, "-image", "shapes:0", "-eps", "-1/255"}, "-eps"},
		{[]string{"attack", "-ckpt", f.ckpt, "-image", "shapes:0", "-attack", "pgd", "-eps", "-1/255"}, "-eps"},
		{[]string{"attack", "-ckpt", f.ckpt, "-image", "shapes:0", "-k", "257"}, "-k 257"},
		{[]string{"attack", "-ckpt", f.ckpt, "-image", "shapes:0", "-steps", "-2"}, "-steps"},
		{[]string{"attack", "-ckpt", f.ckpt, "-image", "shapes:0", "-attack", "targeted"}, "-target-image"},
		{[]string{"attack", "-ckpt", f.ckpt, "-image", "shapes:0", "-attack", "targeted", "-target-image", f.huge}, "huge.png"},
		{[]string{"attack", "-ckpt", f.wrongArch, "-image", "shapes:0"}, "does not match the architecture"},
		{[]string{"attack", "-ckpt", f.ckpt, "-image", f.text}, "not a PNG or JPEG"},
		{[]string{"attack", "-ckpt", f.ckpt, "-image", f.huge}, "10000x10000 pixels"},
		// checkpoints with valid checksums and hostile contents, and files
		// that are not what they claim
		{[]string{"explain", "-ckpt", f.hugeInput, "-image", f.good}, "input size 100000 is over the limit of 512"},
		{[]string{"explain", "-ckpt", f.deepArch, "-image", f.good}, "depth 6000000004 is over the limit"},
		{[]string{"eval", "-ckpt", f.deepArch}, "depth 6000000004 is over the limit"},
		{[]string{"publish", "-ckpt", f.deepArch, "-out", filepath.Join(f.dir, "pub.ckpt")}, "depth 6000000004 is over the limit"},
		{[]string{"eval", "-ckpt", f.nanWeights}, "tensor /head/fc/weights holds NaN at index 5: the weights are not finite"},
		{[]string{"publish", "-ckpt", f.nanWeights, "-out", filepath.Join(f.dir, "pub.ckpt")}, "/head/fc/weights holds NaN"},
		{[]string{"explain", "-ckpt", "/dev/zero", "-image", f.good}, "bad magic"},
		{[]string{"eval", "-ckpt", "/dev/urandom"}, "bad magic"},
		{[]string{"explain", "-ckpt", f.ckpt, "-image", "/dev/zero"}, "/dev/zero: not a PNG or JPEG image"},
		// numeric flags out of range, through the binary
		{train("-epochs", "9223372036854775807"), "-epochs 9223372036854775807"},
		{train("-lr", "NaN"), "-lr NaN"},
		{[]string{"eval", "-ckpt", f.ckpt, "-pgd-n", "-1"}, "-pgd-n -1"},
		// art bench and art serve
		{[]string{"bench", "-benchmarks", "nothing"}, "nothing"},
		{[]string{"serve", "-dir", missing}, missing},
		// arguments no command takes
		{[]string{"fly"}, `unknown command "fly"`},
		{[]string{"train", "-out", out, "extra"}, "unexpected arguments"},
		// flags that do not parse: one line, not the usage
		{[]string{"train", "-bogus"}, "art train -h"},
		{[]string{"eval", "-n", "abc"}, `"abc" for flag -n`},
		{[]string{"localize", "-threshold"}, "-threshold"},
		{[]string{"bench", "-iters", "1.5"}, "-iters"},
	} {
		cmd := artCommand(t, tc.args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("%q: %v, want exit status 1; stderr %q", tc.args, err, stderr.String())
			continue
		}
		msg := stderr.String()
		if tc.args[0] == "fly" { // the usage precedes the error line
			msg = msg[strings.LastIndex(strings.TrimSuffix(msg, "\n"), "\n")+1:]
		}
		if strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") || !strings.HasPrefix(msg, "art: ") {
			t.Errorf("%q: stderr %q, want exactly one line \"art: ...\"", tc.args, msg)
			continue
		}
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%q: error %q does not name %q", tc.args, strings.TrimSpace(msg), tc.want)
		}
	}
}
