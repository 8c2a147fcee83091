package data

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"io"
)

// ppmMaxPixels bounds width*height of a PPM image. The raster is read before
// the image is allocated, so this only guards against headers that promise
// absurd sizes; GTSRB images are at most 250x250.
const ppmMaxPixels = 1 << 26

// DecodePPM reads one Netpbm PPM image, binary ("P6") or plain ASCII ("P3"),
// with any maxval from 1 to 65535, as specified at
// https://netpbm.sourceforge.net/doc/ppm.html. Comments ('#' to the end of
// the line) may appear between header fields and, in plain files, between
// samples.
//
// Samples are rescaled to the full range of the returned image type: an
// *image.RGBA when maxval < 256 and an *image.RGBA64 otherwise (two bytes
// per sample, most significant first, in P6). A sample above maxval is an
// error. Only the first image of a multi-image stream is read, and r may be
// read past its end.
func DecodePPM(r io.Reader) (image.Image, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, 2)
	if _, err := io.ReadFull(br, magic); err != nil {
		return nil, fmt.Errorf("ppm: reading magic number: %w", ppmEOF(err))
	}
	if magic[0] != 'P' || (magic[1] != '6' && magic[1] != '3') {
		return nil, fmt.Errorf("ppm: magic number %q is neither P6 nor P3", magic)
	}
	plain := magic[1] == '3'

	var hdr [3]int
	for i, name := range [...]string{"width", "height", "maxval"} {
		v, err := readPPMInt(br, 65535)
		if err != nil {
			return nil, fmt.Errorf("ppm: reading %s: %w", name, err)
		}
		if v == 0 {
			return nil, fmt.Errorf("ppm: %s is 0", name)
		}
		hdr[i] = v
	}
	w, h, maxval := hdr[0], hdr[1], hdr[2]
	if w*h > ppmMaxPixels {
		return nil, fmt.Errorf("ppm: %dx%d image exceeds the limit of %d pixels", w, h, ppmMaxPixels)
	}

	n := 3 * w * h
	var samples []uint16
	if plain {
		// Grow with the input rather than trusting the header's size.
		samples = make([]uint16, 0, min(n, 1<<16))
		for len(samples) < n {
			v, err := readPPMInt(br, maxval)
			if err != nil {
				return nil, fmt.Errorf("ppm: sample %d of %d: %w", len(samples), n, err)
			}
			samples = append(samples, uint16(v))
		}
	} else {
		bps := 1
		if maxval >= 256 {
			bps = 2
		}
		raster, err := io.ReadAll(io.LimitReader(br, int64(n*bps)))
		if err != nil {
			return nil, fmt.Errorf("ppm: reading raster: %w", err)
		}
		if len(raster) < n*bps {
			return nil, fmt.Errorf("ppm: raster truncated: %d of %d bytes", len(raster), n*bps)
		}
		samples = make([]uint16, n)
		for i := range samples {
			v := uint16(raster[i*bps])
			if bps == 2 {
				v = v<<8 | uint16(raster[2*i+1])
			}
			if int(v) > maxval {
				return nil, fmt.Errorf("ppm: sample %d is %d, above maxval %d", i, v, maxval)
			}
			samples[i] = v
		}
	}

	rect := image.Rect(0, 0, w, h)
	if maxval < 256 {
		img := image.NewRGBA(rect)
		for p := 0; p < w*h; p++ {
			for c := range 3 {
				img.Pix[4*p+c] = uint8((int(samples[3*p+c])*255 + maxval/2) / maxval)
			}
			img.Pix[4*p+3] = 255
		}
		return img, nil
	}
	img := image.NewRGBA64(rect)
	for p := 0; p < w*h; p++ {
		for c := range 3 {
			v := (int(samples[3*p+c])*65535 + maxval/2) / maxval
			img.Pix[8*p+2*c] = uint8(v >> 8)
			img.Pix[8*p+2*c+1] = uint8(v)
		}
		img.Pix[8*p+6], img.Pix[8*p+7] = 0xff, 0xff
	}
	return img, nil
}

// readPPMInt skips whitespace and comments, then reads a decimal number of at
// most limit. It consumes the single character that ends the number, which
// for maxval in P6 is the whitespace separating the header from the raster.
// The end of the input also ends a number, so that the last sample of a plain
// file needs no trailing newline.
func readPPMInt(br *bufio.Reader, limit int) (int, error) {
	c, err := skipPPMSpace(br)
	if err != nil {
		return 0, err
	}
	if c < '0' || c > '9' {
		return 0, fmt.Errorf("want a decimal number, got %q", c)
	}
	v := 0
	for {
		v = 10*v + int(c-'0')
		if v > limit {
			return 0, fmt.Errorf("number exceeds %d", limit)
		}
		c, err = br.ReadByte()
		if err == io.EOF {
			return v, nil
		}
		if err != nil {
			return 0, ppmEOF(err)
		}
		switch {
		case c >= '0' && c <= '9':
			continue
		case c == '#':
			if err := skipPPMComment(br); err != nil {
				return 0, err
			}
			return v, nil
		case isPPMSpace(c):
			return v, nil
		default:
			return 0, fmt.Errorf("unexpected %q after number %d", c, v)
		}
	}
}

// skipPPMSpace returns the first byte that is neither whitespace nor part of
// a comment.
func skipPPMSpace(br *bufio.Reader) (byte, error) {
	for {
		c, err := br.ReadByte()
		if err != nil {
			return 0, ppmEOF(err)
		}
		switch {
		case c == '#':
			if err := skipPPMComment(br); err != nil {
				return 0, err
			}
		case !isPPMSpace(c):
			return c, nil
		}
	}
}

// skipPPMComment consumes a comment's body through its ending CR or LF.
func skipPPMComment(br *bufio.Reader) error {
	for {
		c, err := br.ReadByte()
		if err != nil {
			return ppmEOF(err)
		}
		if c == '\n' || c == '\r' {
			return nil
		}
	}
}

// isPPMSpace reports whether c is whitespace as Netpbm defines it (C isspace).
func isPPMSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// ppmEOF turns a plain EOF in the middle of a structure into ErrUnexpectedEOF.
func ppmEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
