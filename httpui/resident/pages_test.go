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
	cat, err := i18n.Load(assets.FS(), "")
	if err != nil {
		return nil, err
	}
	kit := &web.Kit{Cat: cat, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r := mux.NewRouter()
	p, err := web.NewPages(web.PagesConfig{Kit: kit, Router: r, Files: files, Required: Pages, FormPage: FormPage})
	if err != nil {
		return nil, err
	}
	New(Config{Web: kit, Pages: p}).Register(r)
	return p, nil
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
	p, err := newPages(assets.FS())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	v := inboxView{Letters: []inboxLine{
		{LetterSummary: store.LetterSummary{ID: "0123456789abcdef0123456789abcdef", DeliveredAt: at, Error: errors.New("damaged record")}},
		{LetterSummary: store.LetterSummary{ID: "fedcba9876543210fedcba9876543210", SenderName: "Eksempelby Kommune",
			Subject: "A letter that opens", Type: store.TypeLetter, DeliveredAt: at}},
	}}
	rec := httptest.NewRecorder()
	p.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "inbox", web.View{Title: "Inbox", Data: v})
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
