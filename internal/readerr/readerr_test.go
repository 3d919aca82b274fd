package readerr

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReaderKeepsFirstError(t *testing.T) {
	r := &Reader{R: strings.NewReader("letter")}
	if _, err := io.ReadAll(r); err != nil || r.Err != nil {
		t.Fatalf("read to EOF: %v, kept %v; want neither", err, r.Err)
	}
	gone := errors.New("client gone")
	r = &Reader{R: io.MultiReader(strings.NewReader("le"), iotest.ErrReader(gone))}
	if _, err := io.ReadAll(r); !errors.Is(err, gone) || !errors.Is(r.Err, gone) {
		t.Fatalf("read: %v, kept %v; want %v", err, r.Err, gone)
	}
	r.R = iotest.ErrReader(errors.New("later"))
	r.Read(make([]byte, 1))
	if !errors.Is(r.Err, gone) {
		t.Errorf("kept %v after a later error, want the first, %v", r.Err, gone)
	}
}
