package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestUpload: in every language, at a phone's width and a laptop's, a
// resident saves a text file of their own from the inbox's form with the
// keyboard alone (the file is chosen by the browser's file dialog, which
// a test sets), sees it listed as their own copy, opens it and renames
// it; a file of the wrong type is refused with the reason. Every page has
// no serious or critical axe-core violation, fits the width, and moves
// the focus in reading order with a visible ring.
func TestUpload(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	inEachLanguageAndWidth(t, func(t *testing.T, lang string, width int64) {
		testUpload(t, src, lang, width)
	})
}

func testUpload(t *testing.T, src, lang string, width int64) {
	l := catalogue(t).Lang(lang)
	a := newAppliance(t, applianceOptions{})
	tb := newTab(t, "upload-"+lang+"-"+itoa(width))
	tb.viewport(width)
	tb.do(chromedp.Navigate(a.url + "/login?lang=" + lang))
	tb.login(annaNID, annaPassword)
	tb.do(chromedp.WaitVisible(chromedp.CSS("main .inbox")), chromedp.WaitVisible(chromedp.ID("upload-files")))
	tb.checkPage(src, lang, width, "inbox with the upload form")

	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// A program first: refused, with the reason, at the form.
	tb.do(chromedp.SetUploadFiles(chromedp.ID("upload-files"), []string{file("setup.exe", "MZ\x90\x00 not a document")}))
	tb.tabTo(l.T("upload.submit"), 200)
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("upload-error")))
	if msg := run(tb, chromedp.Text(chromedp.ID("upload-error"))); msg != l.T("upload.error.type") {
		t.Errorf("a program: %q", msg)
	}
	tb.checkPage(src, lang, width, "upload refused")

	// The text file, by keyboard: Tab to the file field (its dialog is
	// the browser's), on to the title, type it, Tab to the button, Enter.
	var stops []focusStop
	for range 200 {
		stops = append(stops, tb.tabThrough(1)...)
		if stops[len(stops)-1].ID == "upload-files" {
			break
		}
	}
	if stops[len(stops)-1].ID != "upload-files" {
		t.Fatalf("Tab never reached the file field: %v", stops)
	}
	tb.do(chromedp.SetUploadFiles(chromedp.ID("upload-files"), []string{file("lejekontrakt.txt", "Lejekontrakt for Søndergade 3")}))
	after := tb.tabThrough(2)
	if after[0].ID != "upload-camera" || after[1].ID != "upload-title" {
		t.Fatalf("after the file field: %v, want the camera and the title", after)
	}
	tb.do(chromedp.KeyEvent("Lejekontrakt 2026"))
	after = append(after, tb.tabThrough(1)...)
	if after[2].Text != l.T("upload.submit") {
		t.Fatalf("after the title: %v, want the button", after)
	}
	checkOrder(t, "upload form", append(stops[len(stops)-1:], after...))
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("upload-done")))
	if msg := run(tb, chromedp.Text(chromedp.ID("upload-done"))); msg != l.T("upload.done") {
		t.Errorf("after saving: %q", msg)
	}
	if text := tb.text(); !strings.Contains(text, "Lejekontrakt 2026") || !strings.Contains(text, l.T("upload.ownCopy")) || !strings.Contains(text, l.T("upload.badge")) {
		t.Errorf("the inbox does not list the own copy:\n%s", text)
	}
	tb.checkPage(src, lang, width, "inbox after saving")

	// Open it by keyboard: its page says it is the resident's own copy.
	tb.tabUntil("Lejekontrakt 2026")
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("letter-own")))
	if text := tb.text(); !strings.Contains(text, l.T("upload.ownCopy.text")) || strings.Contains(text, l.T("receipt.download")) {
		t.Errorf("the own document's page:\n%s", text)
	}
	tb.checkPage(src, lang, width, "own document")

	// Rename it.
	tb.tabUntil(l.T("upload.rename.submit"))
	// The field holds the title: the resident selects it all and types
	// over it (the selection is made here, as Ctrl+A would).
	if !eval[bool](tb, `(document.getElementById('rename-title').select(), true)`) {
		t.Fatal("the title field cannot be selected")
	}
	tb.do(chromedp.Focus(chromedp.ID("rename-title")), chromedp.KeyEvent("Lejekontrakt Søndergade"))
	tb.tabThrough(1)
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(".letter-page .alert-success")))
	if h1 := run(tb, chromedp.Text(chromedp.CSS("h1"))); h1 != "Lejekontrakt Søndergade" {
		t.Errorf("after renaming: %q", h1)
	}
	tb.checkPage(src, lang, width, "own document renamed")
}
