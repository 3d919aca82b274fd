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
	content := doc.Content
	if disposition == "inline" && doc.ContentType == "text/html" {
		// Shown in place (in the letter page's frame, or on its own), a
		// sanitised HTML document gets the site's type instead of the
		// browser's default serif. A download is the document as sent.
		content = append([]byte(htmlDocumentStyle), content...)
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", cd)
	h.Set("Content-Length", strconv.Itoa(len(content)))
	h.Set("X-Content-Type-Options", "nosniff")
	// The letter page frames the main document; only this route may be
	// framed, and only by our own pages.
	h.Set("Content-Security-Policy", cspDocument)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(content)
	}
}

// htmlDocumentStyle goes before a sanitised HTML document shown in place.
// The document's CSP (cspDocument) allows inline styles; the sender's own
// inline styles still apply on top of it.
const htmlDocumentStyle = `<!doctype html><meta charset="utf-8"><style>` +
	`html{font:17px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;color:#1b1f24;background:#fff}` +
	`body{margin:1rem 1.25rem;max-width:44rem}h1{font-size:1.5rem;line-height:1.25}h2{font-size:1.25rem}` +
	`img{max-width:100%;height:auto}table{border-collapse:collapse}td,th{border:1px solid #cdd4dc;padding:.25rem .5rem}` +
	`</style>` + "\n"
