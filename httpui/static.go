package httpui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"time"

	"github.com/gorilla/mux"
)

// staticFile is an embedded static file, served under its content hash.
type staticFile struct {
	hash        string // first 16 hex digits of the SHA-256 of content
	contentType string
	content     []byte
}

// loadStatic reads and hashes the static files (static/*.css of package
// assets in New) once.
func loadStatic(files fs.FS) (map[string]staticFile, error) {
	names, err := fs.Glob(files, "static/*.css")
	if err != nil {
		return nil, err
	}
	out := make(map[string]staticFile, len(names))
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		out[path.Base(name)] = staticFile{hash: hex.EncodeToString(sum[:8]), contentType: "text/css; charset=utf-8", content: b}
	}
	if _, ok := out["style.css"]; !ok {
		return nil, fmt.Errorf("static/style.css is missing")
	}
	return out, nil
}

// staticURL is the URL of a static file with its hash, for templates.
func (s *Server) staticURL(name string) (string, error) {
	f, ok := s.static[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return s.urlFor(routeStatic, "hash", f.hash, "file", name)
}

// staticFile serves an embedded file. The hash in the URL changes with the
// content, so a response may be cached for good (RFC 8246 immutable).
func (s *Server) staticFile(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	f, ok := s.static[vars["file"]]
	if !ok || f.hash != vars["hash"] {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("ETag", `"`+f.hash+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.content))
}
