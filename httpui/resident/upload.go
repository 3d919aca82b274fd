package resident

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strings"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// uploadView is the form on every folder's page that saves the
// resident's own documents there (store.Mailbox.Upload).
type uploadView struct {
	// Folder is the folder's id, where the files go.
	Folder string
	// Accept lists the types a file may be (the input's accept), Hint
	// the limits in words.
	Accept string
	Hint   string
	// Error is why the last upload was refused ("" none); Title what
	// was written as its title.
	Error string
	Title string
}

// uploadAccept is the file inputs' accept: the sender API's types
// (store.SupportedDocumentTypes) but HTML, which a resident does not
// save from a phone, and their usual file name endings.
const uploadAccept = "application/pdf,image/jpeg,image/png,text/plain,.pdf,.jpg,.jpeg,.png,.txt"

// uploadForm is the form that saves own documents: the folder, the
// title and the files (the fields "file", from the file chooser or the
// camera; an input left empty sends a part without a file name).
type uploadForm struct {
	Folder string
	Title  string
	Files  []store.DocumentInput
}

// maxUploadSize bounds an upload's body: the files and room for the
// other fields and the multipart framing.
func maxUploadSize(l store.Limits) int64 { return l.MaxLetterSize + 1<<20 }

// maxUploadField bounds the folder and title fields.
const maxUploadField = 4 << 10

// errNoFile: the form held no file.
var errNoFile = errors.New("no file uploaded")

// parseUploadForm reads the upload form (readForm). It only parses; the
// store checks the rules.
func parseUploadForm(r *http.Request, l store.Limits) (uploadForm, error) {
	fields, files, err := readForm(r, l, map[string]int{"folder": maxUploadField, "title": maxUploadField}, 0)
	f := uploadForm{Folder: fields["folder"], Title: fields["title"], Files: files}
	if err == nil && len(f.Files) == 0 {
		err = errNoFile
	}
	return f, err
}

// readForm reads a multipart form as it streams in: the text fields
// named in fields, each under its limit in bytes (beyond it an
// *InvalidError naming the field), and the "file" parts under the
// store's limits (store.Limits.ReadDocument), at most maxFiles of them
// when maxFiles > 0 (beyond: an *InvalidError for "attachment"). An
// input left empty or an empty file is no document; other parts are
// skipped. What was read comes back with an error too, so that a
// refused form can be shown again as it was written.
func readForm(r *http.Request, l store.Limits, fields map[string]int, maxFiles int) (map[string]string, []store.DocumentInput, error) {
	values := map[string]string{}
	var files []store.DocumentInput
	mr, err := r.MultipartReader()
	if err != nil {
		return values, files, err
	}
	var total int64
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return values, files, nil
		} else if err != nil {
			return values, files, err
		}
		name := part.FormName()
		if limit, ok := fields[name]; ok {
			b, err := io.ReadAll(io.LimitReader(part, int64(limit)+1))
			if err != nil {
				return values, files, err
			}
			if len(b) > limit {
				return values, files, &store.InvalidError{Field: name, Reason: "too long"}
			}
			values[name] = string(b)
		} else if name == "file" && part.FileName() != "" {
			if maxFiles > 0 && len(files) >= maxFiles {
				return values, files, &store.InvalidError{Field: "attachment", Reason: "too many"}
			}
			content, err := l.ReadDocument(part, len(files), total)
			if err != nil {
				return values, files, err
			}
			if len(content) > 0 {
				total += int64(len(content))
				files = append(files, store.DocumentInput{Name: part.FileName(), ContentType: uploadType(part), Content: content})
			}
		}
		part.Close()
	}
}

// uploadType is a file's type as the browser declares it, or, when it
// declares none or only "some bytes" (application/octet-stream), as its
// name's ending says. The store checks that the content is of that type.
func uploadType(part *multipart.Part) string {
	ct := part.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt != "application/octet-stream" {
		return ct
	}
	switch strings.ToLower(path.Ext(part.FileName())) {
	case ".pdf":
		return "application/pdf"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".txt":
		return "text/plain"
	}
	return ct
}

// uploadHint says the limits of an upload in the language.
func (s *Handlers) uploadHint(l *i18n.Lang) string {
	lim := s.store.Limits()
	return l.T("upload.files.hint", "Count", lim.MaxDocuments, "Size", formatSize(l, lim.MaxDocumentSize), "Total", formatSize(l, lim.MaxLetterSize))
}

// upload saves the files of the folder page's form as one own document
// in the folder (store.Mailbox.Upload) and goes back to the folder,
// saying so. A refused upload shows the folder page again with the
// reason; nothing of it is stored.
func (s *Handlers) upload(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	lim := s.store.Limits()
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadSize(lim))
	form, err := parseUploadForm(r, lim)
	var tooBig *http.MaxBytesError
	var invalid *store.InvalidError
	if err != nil && !errors.As(err, &tooBig) && !errors.Is(err, store.ErrDocumentTooLarge) && !errors.Is(err, errNoFile) && !errors.As(err, &invalid) {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest) // no form of this page's
		return
	}
	if !validFolderID(form.Folder) {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
		return
	}
	if err == nil {
		_, err = mb.Upload(r.Context(), form.Folder, form.Title, form.Files)
	}
	if err == nil {
		http.Redirect(w, r, s.folderURL(form.Folder)+"?done="+doneUploaded, http.StatusSeeOther)
		return
	}
	l := s.web.Lang(r)
	status, msg := http.StatusUnprocessableEntity, ""
	switch {
	case errors.As(err, &tooBig), errors.Is(err, store.ErrDocumentTooLarge):
		status = http.StatusRequestEntityTooLarge
		msg = l.T("upload.error.tooLarge", "Size", formatSize(l, lim.MaxDocumentSize), "Total", formatSize(l, lim.MaxLetterSize))
	case errors.Is(err, errNoFile):
		status, msg = http.StatusBadRequest, l.T("upload.error.missing")
	case errors.Is(err, store.ErrUnsupportedDocumentType):
		status, msg = http.StatusUnsupportedMediaType, l.T("upload.error.type")
	case errors.As(err, &invalid) && invalid.Field == "title":
		msg = l.T("upload.error.title", "Max", lim.MaxSubject)
	case errors.As(err, &invalid) && invalid.Field == "document":
		msg = l.T("upload.error.tooMany", "Count", lim.MaxDocuments)
	case errors.As(err, &invalid) && strings.HasPrefix(invalid.Field, "document["):
		msg = l.T("upload.error.name")
	case errors.Is(err, store.ErrNotFound):
		s.pages.ErrorPageFor(w, r, &resident, http.StatusNotFound)
		return
	case errors.As(err, &invalid):
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
		return
	default:
		s.pages.PageError(w, r, &resident, err)
		return
	}
	s.folderPageWith(w, r, mb, form.Folder, status, uploadView{Error: msg, Title: form.Title})
}

// documentRename gives an own document a new title (the form's title)
// and shows it again.
func (s *Handlers) documentRename(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	if err := r.ParseForm(); err != nil {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
		return
	}
	id, title := mux.Vars(r)["id"], r.PostForm.Get("title")
	err := mb.RenameDocument(r.Context(), id, title)
	var invalid *store.InvalidError
	switch {
	case errors.As(err, &invalid):
		l := s.web.Lang(r)
		s.renderLetter(w, r, mb, id, http.StatusUnprocessableEntity, renameView{Error: l.T("upload.rename.error", "Max", s.store.Limits().MaxSubject), Title: title})
		return
	case errors.Is(err, store.ErrInaccessible):
		s.pages.ErrorPageFor(w, r, &resident, http.StatusConflict)
		return
	case err != nil:
		s.pages.PageError(w, r, &resident, err)
		return
	}
	http.Redirect(w, r, s.pages.MustURL(routeLetter, "id", id)+"?saved=renamed", http.StatusSeeOther)
}
