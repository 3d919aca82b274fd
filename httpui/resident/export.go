package resident

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"time"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// exportView is the data of the page where a resident takes their mail
// out (an export archive) and brings mail in from another Postkasse.
type exportView struct {
	// Done says what an import did; Withheld and Unreadable the letters
	// it could not bring (inaccessible, or damaged, where they came
	// from); "" before an import.
	Done, Withheld, Unreadable string
	// Error says why an import was refused, and File the file of the
	// archive at fault ("" for none); nothing was stored.
	Error, File string
}

// exportPage shows the page.
func (s *Handlers) exportPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	s.renderExport(w, r, mb, http.StatusOK, exportView{})
}

func (s *Handlers) renderExport(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, status int, v exportView) {
	resident := mb.Resident()
	s.pages.Render(w, r, status, pageExport, web.View{Title: s.web.Lang(r).T("export.title"), Resident: &resident, Data: v})
}

// progressDeadline is how long a download or an upload of an export may
// pause: each write or read moves the connection's deadline this far on,
// so a large mailbox is not cut off by the server's timeouts while it
// keeps moving.
const progressDeadline = 2 * time.Minute

// importDeadline is how long an import may take once uploaded before
// its answer is written.
const importDeadline = 30 * time.Minute

// deadlineWriter moves the write deadline on before each write.
type deadlineWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	d.rc.SetWriteDeadline(time.Now().Add(progressDeadline))
	return d.w.Write(p)
}

// deadlineReader moves the read deadline on before each read.
type deadlineReader struct {
	r  io.Reader
	rc *http.ResponseController
}

func (d deadlineReader) Read(p []byte) (int, error) {
	d.rc.SetReadDeadline(time.Now().Add(progressDeadline))
	return d.r.Read(p)
}

// exportSubmit sends the mailbox as an export archive
// (store.Mailbox.Export), written as the letters are opened. A failure
// after the first bytes were sent cannot change the answer's status: the
// connection is cut, so the browser reports a failed download rather
// than saving an archive without its end.
func (s *Handlers) exportSubmit(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	name := "postkasse-" + s.clock().In(s.loc).Format("2006-01-02") + ".zip"
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	out := &startWriter{w: deadlineWriter{w: w, rc: http.NewResponseController(w)}}
	// The appliance is named in the manifest by the host name the
	// resident reached it at.
	_, err := mb.Export(r.Context(), out, r.Host, "")
	if err == nil {
		return
	}
	if !out.started {
		h.Del("Content-Disposition")
		h.Del("Content-Type")
		s.pages.PageError(w, r, &resident, err)
		return
	}
	s.web.Log.Error("export: failed after it began", "err", err, "id", web.RequestID(r))
	panic(http.ErrAbortHandler)
}

// startWriter notes whether anything was written.
type startWriter struct {
	w       io.Writer
	started bool
}

func (s *startWriter) Write(p []byte) (int, error) {
	s.started = true
	return s.w.Write(p)
}

// maxImportUpload bounds an uploaded export: the import's limit on the
// documents, and room for the manifest and the ZIP's own structure.
func maxImportUpload(st *store.Store) int64 {
	l := st.ImportLimits()
	return l.MaxTotalSize + l.MaxManifestSize
}

// importSubmit imports an uploaded export archive (multipart/form-data,
// the file in the field "export") into the mailbox
// (store.Mailbox.Import). The upload is kept for the length of the
// request in a temporary file that has no name on disk.
func (s *Handlers) importSubmit(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	l := s.web.Lang(r)
	refuse := func(status int, msg, file string) {
		s.renderExport(w, r, mb, status, exportView{Error: msg, File: file})
	}
	rc := http.NewResponseController(w)
	r.Body = http.MaxBytesReader(w, io.NopCloser(deadlineReader{r: r.Body, rc: rc}), maxImportUpload(s.store))
	f, size, err := s.spoolUpload(r)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		refuse(http.StatusRequestEntityTooLarge, l.T("export.error.too-large"), "")
		return
	case errors.Is(err, errNoUpload):
		refuse(http.StatusBadRequest, l.T("export.error.missing"), "")
		return
	case err != nil:
		refuse(http.StatusBadRequest, l.T("export.error.upload"), "")
		return
	}
	defer f.Close()
	// Verifying and sealing 2 GiB takes minutes; the answer comes after.
	rc.SetWriteDeadline(time.Now().Add(importDeadline))
	res, err := mb.Import(r.Context(), f, size)
	var bad *store.ExportError
	switch {
	case errors.As(err, &bad):
		status := http.StatusUnprocessableEntity
		if bad.Problem == store.ExportTooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		refuse(status, l.T("export.error."+string(bad.Problem)), bad.File)
	case err != nil:
		s.pages.PageError(w, r, &resident, err)
	default:
		v := exportView{Done: l.T("export.imported.text", "Count", res.Imported)}
		if res.Repeated > 0 {
			v.Done += " " + l.T("export.imported.repeated", "Count", res.Repeated)
		}
		if res.Withheld > 0 {
			v.Withheld = l.T("export.imported.withheld", "Count", res.Withheld)
		}
		if res.Unreadable > 0 {
			v.Unreadable = l.T("export.imported.unreadable", "Count", res.Unreadable)
		}
		s.renderExport(w, r, mb, http.StatusOK, v)
	}
}

// errNoUpload: the form held no file in the field "export".
var errNoUpload = errors.New("no export archive uploaded")

// spoolUpload copies the file of the field "export" to a temporary file
// with no name on disk (removed as soon as it is made; the open file
// stays readable) and returns it at its start, with its size.
func (s *Handlers) spoolUpload(r *http.Request) (*os.File, int64, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, 0, errNoUpload
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, 0, errNoUpload
		} else if err != nil {
			return nil, 0, err
		}
		if part.FormName() != "export" || part.FileName() == "" {
			part.Close()
			continue
		}
		f, err := os.CreateTemp("", "postkasse-import-*")
		if err != nil {
			return nil, 0, err
		}
		os.Remove(f.Name())
		size, err := io.Copy(f, part)
		part.Close()
		if err == nil && size == 0 {
			err = errNoUpload
		}
		if err == nil {
			_, err = f.Seek(0, io.SeekStart)
		}
		if err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("upload: %w", err)
		}
		return f, size, nil
	}
}
