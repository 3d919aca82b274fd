package browsertest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/postkasse/postkasse/store"
)

// TestExportPage: in every language, at a phone's width and a laptop's,
// a resident reaches the page that takes the mail out from the settings,
// and with the keyboard alone downloads the archive (which verifies) and
// uploads an archive to bring in: a changed one is refused with the
// reason beside the field, the good one (whose letters are here already)
// adds nothing. Every state of the page passes axe-core without a
// serious violation and fits the width.
func TestExportPage(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	inEachLanguageAndWidth(t, func(t *testing.T, lang string, width int64) {
		testExportPage(t, src, lang, width)
	})
}

func testExportPage(t *testing.T, src, lang string, width int64) {
	l := catalogue(t).Lang(lang)
	a := newAppliance(t, applianceOptions{})
	tb := newTab(t, "export-"+lang+"-"+itoa(width))
	tb.viewport(width)
	tb.do(chromedp.Navigate(a.url + "/login?lang=" + lang))
	tb.login(annaNID, annaPassword)
	tb.do(chromedp.Navigate(a.url+"/settings"), chromedp.Click(chromedp.CSS(`a[href="/settings/export"]`)),
		chromedp.WaitVisible(chromedp.ID("out-heading")))
	if h1 := run(tb, chromedp.Text(chromedp.CSS("h1"))); h1 != l.T("export.heading") {
		t.Fatalf("the settings' link led to %q", h1)
	}
	tb.checkPage(src, lang, width, "export")

	// The keyboard: from the top of the page to the download button,
	// then the file field and the import's button, in that order.
	var stops []focusStop
	for range 20 {
		stops = append(stops, tb.tabThrough(1)[0])
		if stops[len(stops)-1].Text == l.T("export.out.submit") {
			break
		}
	}
	download := stops[len(stops)-1]
	if download.Text != l.T("export.out.submit") || !download.Ring || !download.InView {
		t.Fatalf("Tab did not reach the download button with a visible focus: %v", stops)
	}
	name, archive := tb.download(a, chromedp.KeyEvent(kb.Enter))
	if !strings.HasPrefix(name, "postkasse-") || !strings.HasSuffix(name, ".zip") {
		t.Errorf("the download is named %q", name)
	}
	ex, err := store.OpenExport(bytes.NewReader(archive), int64(len(archive)), store.DefaultExportLimits())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ex.Verify()
	if err != nil || rep.Letters == 0 {
		t.Fatalf("the downloaded archive: %+v %v", rep, err)
	}
	after := tb.tabThrough(2)
	if after[0].ID != "export" || after[1].Text != l.T("export.in.submit") || !after[1].Ring {
		t.Fatalf("after the download button: %v, want the file field and the import button", after)
	}
	checkOrder(t, "export", slices.Concat(stops[1:], after))

	upload := func(content []byte) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "postkasse.zip")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		// A fresh page, so that the answer's box is the new page's.
		tb.do(chromedp.Navigate(a.url+"/settings/export"), chromedp.WaitVisible(chromedp.ID("export")),
			chromedp.SetUploadFiles(chromedp.ID("export"), []string{path}), chromedp.Focus(chromedp.CSS(`form[enctype] button`)))
		tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#import-error, #import-done")))
	}
	changed := bytes.Clone(archive)
	i := bytes.Index(changed, []byte("%PDF-")) // a document, stored as it is
	if i < 0 {
		t.Fatal("no PDF document in the archive")
	}
	changed[i+1] ^= 0x01
	upload(changed)
	if msg := run(tb, chromedp.Text(chromedp.ID("import-error"))); !strings.Contains(msg, l.T("export.nothingStored")) {
		t.Errorf("a changed archive: %q", msg)
	}
	if invalid := eval[string](tb, `document.getElementById('export').getAttribute('aria-invalid')`); invalid != "true" {
		t.Errorf("the file field is not marked invalid: %q", invalid)
	}
	tb.checkPage(src, lang, width, "export, an archive refused")
	upload(archive)
	done := run(tb, chromedp.Text(chromedp.ID("import-done")))
	if want := l.T("export.imported.text", "Count", 0); !strings.Contains(done, want) {
		t.Errorf("the same mailbox's archive: %q, want %q", done, want)
	}
	tb.checkPage(src, lang, width, "export, an archive brought in")
}
