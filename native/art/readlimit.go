package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// readLimited reads the named file through a limit, whatever the file is: a
// device or a pipe has no size to check beforehand (stat gives /dev/zero
// 0 bytes), so at most limit+1 bytes are read and more is an error. head,
// when not nil, checks the first bytes before the rest is read, so that a
// file that is plainly not what it should be is refused at once.
func readLimited(path string, limit int64, head func([]byte) error) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, errors.New("is a directory")
	}
	first := make([]byte, min(512, limit+1))
	n, err := io.ReadFull(f, first)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	if head != nil {
		if err := head(first[:n]); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	b.Write(first[:n])
	if _, err := io.Copy(&b, io.LimitReader(f, limit+1-int64(n))); err != nil {
		return nil, err
	}
	if int64(b.Len()) > limit {
		return nil, fmt.Errorf("the file is over the limit of %d MB", limit>>20)
	}
	return b.Bytes(), nil
}
