package browsertest

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestSearch: in every language, at a phone's width and a laptop's, a
// resident reaches the search page from the navigation by keyboard alone,
// searches for a word that is only in the text of two PDF invoices, and
// gets them with the words found said; the page with the form, with
// results and with an error has no serious or critical axe-core
// violation, fits the width, and moves the focus in reading order with a
// visible ring. No JavaScript of the page's is involved: the form is a
// plain GET.
func TestSearch(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	inEachLanguageAndWidth(t, func(t *testing.T, lang string, width int64) {
		testSearch(t, src, lang, width)
	})
}

func testSearch(t *testing.T, src, lang string, width int64) {
	a := newAppliance(t, applianceOptions{})
	tb := newTab(t, "search-"+lang+"-"+itoa(width))
	tb.viewport(width)
	check := func(page string) {
		t.Helper()
		if got := eval[string](tb, `document.documentElement.lang`); got != lang {
			t.Errorf("%s at %d px: <html lang=%q>, want %q", page, width, got, lang)
		}
		version, violations := tb.axe(src)
		for _, v := range violations {
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("%s at %d px: axe-core %s: %s", page, width, version, v)
			} else {
				t.Logf("%s at %d px: axe-core %s (not failing): %s", page, width, version, v)
			}
		}
		if l := tb.layout(); l.ScrollWidth > l.ClientWidth {
			t.Errorf("%s at %d px scrolls sideways: %v px of content in %v px; too wide: %q",
				page, width, l.ScrollWidth, l.ClientWidth, l.Overflowing)
		}
	}
	tb.do(chromedp.Navigate(a.url + "/login?lang=" + lang))
	tb.login(annaNID, annaPassword)
	tb.do(chromedp.WaitVisible(chromedp.CSS("main .inbox")))

	// From the navigation by keyboard: tab to the link, press Enter.
	found := false
	for range 12 {
		tb.do(chromedp.KeyEvent(kb.Tab))
		if tb.focused().Href == "/search" {
			found = true
			break
		}
	}
	if !found {
		t.Fatal("the search link is not reached by Tab")
	}
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("search-q")))
	check("search form")

	// Type the words, then Tab through the filters to the button (a
	// date field takes a stop for each of its day, month and year).
	tb.do(chromedp.Focus(chromedp.ID("search-q")), chromedp.SendKeys(chromedp.ID("search-q"), "KWH"))
	var stops []focusStop
	for range 14 {
		stops = append(stops, tb.tabThrough(1)...)
		if stops[len(stops)-1].Tag == "button" {
			break
		}
	}
	checkOrder(t, "search form", stops)
	var ids []string
	for _, s := range stops {
		if len(ids) == 0 || ids[len(ids)-1] != s.ID {
			ids = append(ids, s.ID)
		}
	}
	if got := strings.Join(ids, " "); got != "search-sender search-folder search-from search-to search-unread " {
		t.Errorf("the focus goes %q, want the filters in order and then the search button", got)
	}
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("search-results")))
	check("search results")
	subjects := eval[[]string](tb, `[...document.querySelectorAll('.search-hits .letter-subject')].map(e => e.innerText.trim())`)
	want := []string{"Electricity bill for October", "Electricity bill for September"}
	if strings.Join(subjects, "|") != strings.Join(want, "|") {
		t.Errorf("hits %q, want %q", subjects, want)
	}
	if n := eval[int](tb, `document.querySelectorAll('.search-hits .search-where').length`); n != 2 {
		t.Errorf("%d hits say the words are in a document, want 2", n)
	}
	// Marked words in a subject, and a hit opens by keyboard.
	tb.do(chromedp.Navigate(a.url + "/search?q=electr+bill"))
	if n := eval[int](tb, `document.querySelectorAll('.search-hits .letter-subject mark').length`); n != 4 {
		t.Errorf("%d words marked in the subjects, want 4", n)
	}
	check("search results with marked words")
	tb.do(chromedp.Focus(chromedp.CSS(".search-hits .letter-subject a")), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if !strings.Contains(tb.location(), "/letters/"+a.letter(letterOctober).ID) {
		t.Errorf("Enter on the first hit went to %s", tb.location())
	}

	// A date that is no date.
	tb.do(chromedp.Navigate(a.url + "/search?q=bill&from=31.01.2026"))
	tb.do(chromedp.WaitVisible(chromedp.ID("search-error")))
	check("search with an error")
}
