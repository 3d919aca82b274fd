// Package readerr keeps the error of a reader's own reads, so that code
// that hands the reader on can tell a failed read (a client gone, a body
// over its size limit) from a refusal of what was read. The store's type
// check and the sender API's multipart parts use it.
package readerr

import "io"

// Reader reads from R and keeps in Err the first error of R's reads other
// than io.EOF.
type Reader struct {
	R   io.Reader
	Err error
}

func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.R.Read(p)
	if err != nil && err != io.EOF && r.Err == nil {
		r.Err = err
	}
	return n, err
}
