package resident

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// letterView is the data of the letter page.
type letterView struct {
	Letter    store.Letter
	Due       *dueView
	Documents []documentLink
	Embed     *documentLink // the main document, shown in a sandboxed frame
	Receipt   store.ReceiptPayload
	KeyID     string
	// Folder is the folder the letter is in, Targets those it can be
	// moved to.
	Folder  folderLink
	Targets []folderLink
	// PaidSaved: the resident just marked the invoice paid or not paid.
	PaidSaved bool
	// Imported says where a letter brought from another Postkasse came
	// from; "" for a letter delivered here.
	Imported string
	// Invoice and Actions are a structured letter's (letter_structured.go).
	Invoice *invoiceView
	Actions []actionView
	// Signature is a signature request's box (letter_signature.go).
	Signature *signatureView
	// Rename is the form that renames an own document (nil for a
	// sender's letter); Renamed: it was just renamed.
	Rename  *renameView
	Renamed bool
	// Thread is the letter's conversation (reply.go): nil without
	// replies; Reply the reply form, nil when the letter takes none.
	Thread *threadView
	Reply  *replyView
}

// letterForms are the letter page's forms as a refused request left
// them: an own document's rename form, the reply form.
type letterForms struct {
	Rename renameView
	Reply  replyView
	Sign   signForm
}

// renameView is the form that renames an own document: a refused
// title's reason and the title written.
type renameView struct {
	ID    string
	Error string
	Title string
}

type documentLink struct {
	Name        string // as it is saved (documentFileName)
	Kind        string // "PDF document", "Text" …
	Label       string // a short type tag: "PDF", "TXT" …
	Size        string
	Inline      bool // a browser may show it
	URL         string
	DownloadURL string
}

// letter shows one letter; the first opening marks it read.
func (s *Handlers) letter(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	s.renderLetter(w, r, mb, mux.Vars(r)["id"], http.StatusOK, renameView{})
}

// renderLetter shows a letter, answering with status; an own document's
// rename form as given (a refused title's reason).
func (s *Handlers) renderLetter(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, id string, status int, rename renameView) {
	s.renderLetterForms(w, r, mb, id, status, letterForms{Rename: rename})
}

// renderLetterForms shows a letter, answering with status, with its forms
// as given.
func (s *Handlers) renderLetterForms(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, id string, status int, forms letterForms) {
	rename := forms.Rename
	resident := mb.Resident()
	l, err := mb.Letter(r.Context(), id)
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	lang := s.web.Lang(r)
	v := letterView{Letter: l, Due: due(lang, l.DueDate, s.clock(), s.loc), KeyID: l.Receipt.KeyID,
		PaidSaved: r.URL.Query().Get("saved") == "paid", Renamed: r.URL.Query().Get("saved") == "renamed"}
	v.Invoice, v.Actions = s.structuredViews(lang, l)
	v.Signature = s.signatureViewOf(lang, r, resident, l, forms.Sign)
	if err := s.signPasskeyOf(r, mb, v.Signature); err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	if l.Own {
		if rename.Error == "" {
			rename.Title = l.Subject
		}
		rename.ID = l.ID
		v.Rename = &rename
	}
	if v.Thread, v.Reply, err = s.thread(r, mb, l, forms.Reply); err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	folders, err := mb.Folders(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	for _, f := range s.folderLinks(lang, folders, l.Folder) {
		if f.Current {
			v.Folder = f
		} else {
			v.Targets = append(v.Targets, f)
		}
	}
	if !l.Own { // an own document has no receipt
		if err := json.Unmarshal(l.Receipt.Payload, &v.Receipt); err != nil {
			s.pages.PageError(w, r, &resident, err)
			return
		}
	}
	if o := l.ImportedFrom; o != nil {
		name := o.Appliance
		if name == "" {
			name = o.KeyID
		}
		v.Imported = lang.T("letter.imported", "Appliance", name, "Date", lang.Date(o.Imported.In(s.loc)))
	}
	for _, d := range l.Documents {
		u := s.pages.MustURL(routeDocument, "id", l.ID, "n", strconv.Itoa(d.Index))
		link := documentLink{
			Name: documentFileName(d.Name, d.ContentType), Kind: documentKind(lang, d.ContentType), Label: documentLabel(lang, d.ContentType), Size: formatSize(lang, d.Size),
			Inline: inlineSafe(d.ContentType), URL: u, DownloadURL: u + "?download=1",
		}
		v.Documents = append(v.Documents, link)
		if d.Index == 0 && framed(d.ContentType) {
			v.Embed = &link
		}
	}
	csp := web.CSPLetterPage
	if v.Signature != nil && v.Signature.Passkey != nil {
		csp = web.CSPLetterScriptPage // static/passkeys.js
	}
	w.Header().Set("Content-Security-Policy", csp)
	s.pages.Render(w, r, status, pageLetter, web.View{Title: l.Subject, Resident: &resident, Data: v})
}

// framed reports whether a main document of this type is shown in the
// letter page itself, in a sandboxed frame.
func framed(contentType string) bool {
	return contentType == "text/plain" || contentType == "text/html"
}

// documentKind names a document's type for people, in the language.
func documentKind(l *i18n.Lang, contentType string) string {
	switch contentType {
	case "application/pdf":
		return l.T("document.pdf")
	case "text/plain":
		return l.T("document.text")
	case "text/html":
		return l.T("document.html")
	case "image/png":
		return l.T("document.png")
	case "image/jpeg":
		return l.T("document.jpeg")
	}
	return contentType
}

// documentLabel is the short tag shown beside a document's name.
func documentLabel(l *i18n.Lang, contentType string) string {
	switch contentType {
	case "application/pdf":
		return "PDF"
	case "text/plain":
		return "TXT"
	case "text/html":
		return "HTML"
	case "image/png":
		return "PNG"
	case "image/jpeg":
		return "JPG"
	}
	return l.T("document.file")
}

// letterPaid marks an invoice paid or not paid (the form's paid: "yes" or
// "no") and shows the letter again. A letter that is no invoice is a 409.
func (s *Handlers) letterPaid(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	if err := r.ParseForm(); err != nil {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
		return
	}
	var paid bool
	switch r.PostForm.Get("paid") {
	case "yes":
		paid = true
	case "no":
	default:
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
		return
	}
	id := mux.Vars(r)["id"]
	err := mb.MarkPaid(r.Context(), id, paid)
	var invalid *store.InvalidError
	switch {
	case errors.As(err, &invalid), errors.Is(err, store.ErrInaccessible):
		s.pages.ErrorPageFor(w, r, &resident, http.StatusConflict)
		return
	case err != nil:
		s.pages.PageError(w, r, &resident, err)
		return
	}
	http.Redirect(w, r, s.pages.MustURL(routeLetter, "id", id)+"?saved=paid", http.StatusSeeOther)
}
