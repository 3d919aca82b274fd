package resident

import (
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/httpui/web"
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

// documentExtensions are the file name extensions a document of each
// type may keep; the first is the one it gets otherwise.
var documentExtensions = map[string][]string{
	"application/pdf": {".pdf"},
	"text/plain":      {".txt"},
	"text/html":       {".html", ".htm"},
	"image/png":       {".png"},
	"image/jpeg":      {".jpg", ".jpeg"},
	"application/xml": {".xml"},
}

// documentFileName is the name a document is shown and saved under: the
// sender's name without Unicode format characters (Cf: U+202E
// RIGHT-TO-LEFT OVERRIDE makes "Faktura\u202Efdp.bat" read
// "Fakturatab.pdf") or control characters, and with the extension of the
// type the store checked its content against. The resident's system
// chooses what opens a saved file by its extension, so a text/plain
// document named "invoice.hta" would run as an HTML application; it is
// saved as "invoice.txt". A type without extensions here (the store
// accepts none) gets ".bin", which nothing opens by itself.
func documentFileName(name, contentType string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) || unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	base, ext := name, path.Ext(name)
	if strings.ContainsRune(ext, ' ') {
		ext = "" // "Letter from Dr. Smith" has no extension
	}
	base = strings.TrimSuffix(base, ext)
	// Leading dots would hide the file on Unix; trailing dots and spaces
	// are dropped by Windows.
	base = strings.Trim(base, ". ")
	if base == "" {
		base = "document"
	}
	exts, ok := documentExtensions[contentType]
	if !ok {
		return base + ".bin"
	}
	if !slices.Contains(exts, strings.ToLower(ext)) {
		ext = exts[0]
	}
	return base + ext
}

// numberVar is the route's number {n} (of a document, an attachment, an
// appointment); one that does not parse (too large) is answered 404 and
// ok is false.
func (s *Handlers) numberVar(w http.ResponseWriter, r *http.Request, resident store.Resident) (n int, ok bool) {
	n, err := strconv.Atoi(mux.Vars(r)["n"])
	if err != nil {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusNotFound)
		return 0, false
	}
	return n, true
}

// document serves one document of a letter: in place where that is safe
// (and not ?download=1), otherwise as an attachment.
func (s *Handlers) document(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	vars := mux.Vars(r)
	n, ok := s.numberVar(w, r, resident)
	if !ok {
		return
	}
	doc, err := mb.Document(r.Context(), vars["id"], n)
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	serveDocument(w, r, doc)
}

// serveDocument writes a document: in place where that is safe (and not
// ?download=1), otherwise as an attachment.
func serveDocument(w http.ResponseWriter, r *http.Request, doc store.Document) {
	disposition := "attachment"
	if inlineSafe(doc.ContentType) && r.URL.Query().Get("download") != "1" {
		disposition = "inline"
	}
	// RFC 6266 with RFC 2231/8187 encoding: mime.FormatMediaType writes
	// filename*=utf-8''… for a name that is not ASCII.
	cd := mime.FormatMediaType(disposition, map[string]string{"filename": documentFileName(doc.Name, doc.ContentType)})
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
	h.Set("Content-Security-Policy", web.CSPDocument)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(content)
	}
}

// htmlDocumentStyle goes before a sanitised HTML document shown in place.
// The document's CSP (web.CSPDocument) allows inline styles; the sender's own
// inline styles still apply on top of it.
const htmlDocumentStyle = `<!doctype html><meta charset="utf-8"><style>` +
	`html{font:17px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;color:#1b1f24;background:#fff}` +
	`body{margin:1rem 1.25rem;max-width:44rem}h1{font-size:1.5rem;line-height:1.25}h2{font-size:1.25rem}` +
	`img{max-width:100%;height:auto}table{border-collapse:collapse}td,th{border:1px solid #cdd4dc;padding:.25rem .5rem}` +
	`</style>` + "\n"
