package httpui

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/store"
)

// inlineSafe reports whether a browser may show a document of this type
// in place. Everything else is only offered for download. HTML documents
// were sanitised by the store when they were delivered, and every
// document is served in a CSP sandbox without scripts.
func inlineSafe(contentType string) bool {
	switch contentType {
	case "application/pdf", "image/png", "image/jpeg", "text/plain", "text/html":
		return true
	}
	return false
}

// document serves one document of a letter: in place where that is safe
// (and not ?download=1), otherwise as an attachment.
func (s *Server) document(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	vars := mux.Vars(r)
	n, err := strconv.Atoi(vars["n"])
	if err != nil {
		s.errorPageFor(w, r, &resident, http.StatusNotFound)
		return
	}
	doc, err := mb.Document(vars["id"], n)
	if err != nil {
		s.pageError(w, r, &resident, err)
		return
	}
	disposition := "attachment"
	if inlineSafe(doc.ContentType) && r.URL.Query().Get("download") != "1" {
		disposition = "inline"
	}
	// RFC 6266 with RFC 2231/8187 encoding: mime.FormatMediaType writes
	// filename*=utf-8''… for a name that is not ASCII.
	cd := mime.FormatMediaType(disposition, map[string]string{"filename": doc.Name})
	if cd == "" {
		cd = disposition
	}
	contentType := doc.ContentType
	if strings.HasPrefix(contentType, "text/") {
		contentType += "; charset=utf-8"
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", cd)
	h.Set("Content-Length", strconv.Itoa(len(doc.Content)))
	h.Set("X-Content-Type-Options", "nosniff")
	// The letter page frames the main document; only this route may be
	// framed, and only by our own pages.
	h.Set("Content-Security-Policy", cspDocument)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(doc.Content)
	}
}
