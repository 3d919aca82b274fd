package resident

import (
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gorilla/mux"
	"github.com/postkasse/postkasse/assets"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// newPages renders the resident pages from files as httpui.New does, on a
// router with the resident's routes, without a store.
func newPages(files fs.FS) (*web.Pages, error) {
	p, _, err := newHandlers(files)
	return p, err
}

// newHandlers is newPages with the handlers registered on its router.
func newHandlers(files fs.FS) (*web.Pages, *Handlers, error) {
	cat, err := i18n.Load(assets.FS(), "")
	if err != nil {
		return nil, nil, err
	}
	kit := &web.Kit{Cat: cat, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r := mux.NewRouter()
	p, err := web.NewPages(web.PagesConfig{Kit: kit, Router: r, Files: files, Required: Pages, FormPage: FormPage})
	if err != nil {
		return nil, nil, err
	}
	h := New(Config{Web: kit, Pages: p})
	h.Register(r)
	return p, h, nil
}

// TestTemplates: New parses every page; a missing or broken template
// fails at start-up.
func TestTemplates(t *testing.T) {
	t.Parallel()
	good := fstest.MapFS{}
	err := fs.WalkDir(assets.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assets.FS(), p)
		good[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newPages(good); err != nil {
		t.Fatalf("the embedded templates: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(m fstest.MapFS)
		want   string
	}{
		{"missing page", func(m fstest.MapFS) { delete(m, "templates/letter.html") }, "letter"},
		{"missing layout", func(m fstest.MapFS) { delete(m, "templates/layout.html") }, "layout"},
		{"broken page", func(m fstest.MapFS) {
			m["templates/inbox.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{.Nope`)}
		}, "inbox"},
		{"unknown function", func(m fstest.MapFS) {
			m["templates/error.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{nope}}{{end}}`)}
		}, "error"},
		{"no content", func(m fstest.MapFS) { m["templates/login.html"] = &fstest.MapFile{Data: []byte(`hello`)} }, "login"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fstest.MapFS{}
			for k, v := range good {
				m[k] = v
			}
			tc.change(m)
			_, err := newPages(m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one about %s", err, tc.want)
			}
		})
	}
	if _, err := newPages(fstest.MapFS{}); err == nil {
		t.Fatal("no style sheet, no error")
	}
}

// A letter the store could not open (store.LetterSummary.Error) is listed
// as such, with its id to quote, and without a link to a page that would
// fail; the other letters are listed as usual.
func TestInboxShowsUnreadableLetter(t *testing.T) {
	p, h, err := newHandlers(assets.FS())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	v := inboxView{Letters: []inboxLine{
		{LetterSummary: store.LetterSummary{ID: "0123456789abcdef0123456789abcdef", DeliveredAt: at, Error: errors.New("damaged record")}},
		{LetterSummary: store.LetterSummary{ID: "fedcba9876543210fedcba9876543210", SenderName: "Eksempelby Kommune",
			Subject: "A letter that opens", Type: store.TypeLetter, DeliveredAt: at}},
	}}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	v.Lines = h.inboxLines(h.web.Lang(req), v.Letters)
	rec := httptest.NewRecorder()
	p.Render(rec, req, http.StatusOK, "inbox", web.View{Title: "Inbox", Data: v})
	body := rec.Body.String()
	for _, want := range []string{"This letter cannot be opened", "0123456789abcdef0123456789abcdef", "A letter that opens", "/letters/fedcba9876543210fedcba9876543210"} {
		if !strings.Contains(body, want) {
			t.Errorf("inbox page lacks %q", want)
		}
	}
	if strings.Contains(body, "/letters/0123456789abcdef0123456789abcdef") {
		t.Error("the unreadable letter links to its page")
	}
	if strings.Contains(body, "damaged record") {
		t.Error("the store's error text is shown to the resident")
	}
}

// TestInboxLines: the letters' lines, written in Go (inboxLines), escape
// every value as the template did, in text and in attributes, and mark
// each kind of line: unread, held, own, imported, paid, due.
func TestInboxLines(t *testing.T) {
	_, h, err := newHandlers(assets.FS())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	no := false
	lines := []inboxLine{
		{LetterSummary: store.LetterSummary{ID: "00000000000000000000000000000001", SenderName: `Kommune "<b>"`,
			Subject: `<script>alert("x")</script> & co`, Type: store.TypeInvoice, DeliveredAt: at, ReadMark: &no},
			Due: &dueView{Text: "Due <1 Dec>", Note: "in 2 days", Soon: true}},
		{LetterSummary: store.LetterSummary{ID: "00000000000000000000000000000002", Subject: "Held", DeliveredAt: at, ReadAt: at,
			Hold: &store.LetterHold{At: at, Reason: "court"}}},
		{LetterSummary: store.LetterSummary{ID: "00000000000000000000000000000003", Subject: "Photo", DeliveredAt: at, ReadAt: at, Own: true}},
		{LetterSummary: store.LetterSummary{ID: "00000000000000000000000000000004", Subject: "Moved", DeliveredAt: at, ReadAt: at,
			Type: store.TypeLetter, ImportedFrom: &store.LetterOrigin{}, PaidAt: at}},
	}
	got := string(h.inboxLines(h.web.Lang(httptest.NewRequest(http.MethodGet, "/?lang=en", nil)), lines))
	for _, want := range []string{
		`Kommune &#34;&lt;b&gt;&#34;`,
		`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co`,
		`Choose: &lt;script&gt;`,
		`<li class="letter has-select is-unread">`,
		`href="/letters/00000000000000000000000000000001"`,
		`badge-due is-soon">Due &lt;1 Dec&gt; · in 2 days</span>`,
		`value="00000000000000000000000000000002" id="select-00000000000000000000000000000002" disabled>`,
		`Your own copy`,
		`badge-imported`,
		`badge-paid`,
		`<time datetime="2026-11-20T09:00:00Z">`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the lines lack %s:\n%s", want, got)
		}
	}
	for _, bad := range []string{"<script>", `"<b>"`, ">Held<"} {
		if strings.Contains(got, bad) {
			t.Errorf("the lines have %s:\n%s", bad, got)
		}
	}
	if n := strings.Count(got, "<li "); n != len(lines) {
		t.Errorf("%d lines, want %d", n, len(lines))
	}
}
