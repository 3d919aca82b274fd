package store

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpenExport: the reader of export archives, which takes files from
// anyone (an upload to Import, `postkasse verify`), never panics, never
// reads past its limits, and refuses everything it refuses with an
// *ExportError. The seeds are a real export (three letters, an HTML
// document kept otherwise than sent, an own folder) and archives made
// from it: tampered, cut short, with an unsafe name.
func FuzzOpenExport(f *testing.F) {
	_, mb, _ := exportFixture(f)
	archive, _ := exportOf(f, mb)
	f.Add(archive)
	f.Add(archive[:len(archive)-22])
	f.Add(rezip(f, archive, nil, rawFile{name: "../x", content: []byte("x")}))
	f.Add(rezip(f, archive, func(name string, c []byte) []byte {
		if name == exportManifest {
			return bytes.Replace(c, []byte(`"format":1`), []byte(`"format":2`), 1)
		}
		return c
	}))
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	lim := ExportLimits{MaxFiles: 64, MaxManifestSize: 1 << 20, MaxDocumentSize: 1 << 20, MaxTotalSize: 4 << 20}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := OpenExport(bytes.NewReader(b), int64(len(b)), lim)
		var ee *ExportError
		if err != nil {
			if !errors.As(err, &ee) {
				t.Fatalf("OpenExport: %v is no ExportError", err)
			}
			return
		}
		rep, err := a.Verify()
		if err != nil {
			if !errors.As(err, &ee) {
				t.Fatalf("Verify: %v is no ExportError", err)
			}
			return
		}
		if rep.Letters != len(a.Manifest.Letters) || rep.Bytes > lim.MaxTotalSize {
			t.Fatalf("verified %+v of %d letters", rep, len(a.Manifest.Letters))
		}
	})
}
