package resident_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// structuredEnv delivers Anna an invoice with a payment link and an
// appointment (uitest.InvoiceMessage) and returns its id.
func structuredEnv(t *testing.T) (*uitest.Env, string) {
	t.Helper()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	r := e.Deliver(s.Client, uitest.MessagePart(uitest.InvoiceMessage(uitest.NIDAnna, "Faktura for tandpleje", "faktura-1")),
		uitest.DocumentPart("faktura.pdf", "application/pdf", uitest.PDFDoc))
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
	}
	return e, uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID
}

// TestLetterStructured: the letter page shows an invoice's amount in the
// resident's language, its account and payment reference to copy, and
// the sender's actions: an https button that says it leaves Postkasse
// (rel noopener noreferrer) and an appointment with its calendar file; in
// English, Danish and Norwegian.
func TestLetterStructured(t *testing.T) {
	t.Parallel()
	e, id := structuredEnv(t)
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	at := time.Date(2027, 2, 3, 8, 30, 0, 0, time.UTC).In(time.Local)
	for _, tc := range []struct {
		lang, amount string
		texts        []string
	}{
		{"en", "DKK 1,249.50", []string{"Payment reference", "What you can do", "You leave Postkasse", "Opens betal.example.dk", "(leaves Postkasse for betal.example.dk)", "Add to your calendar"}},
		{"da", "1.249,50 kr.", []string{"Betalingsreference", "Det kan du gøre", "Du forlader Postkasse", "Åbner betal.example.dk", "(forlader Postkasse og går til betal.example.dk)", "Føj til din kalender"}},
		{"nb", "DKK 1\u00a0249,50", []string{"Betalingsreferanse (KID)", "Dette kan du gjøre", "Du forlater Postkasse", "Åpner betal.example.dk", "(forlater Postkasse og går til betal.example.dk)", "Legg til i kalenderen"}},
	} {
		r := e.Get(b, e.HTTPURL+"/letters/"+id+"?lang="+tc.lang)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", tc.lang, r.StatusCode)
		}
		page := html.UnescapeString(r.Text)
		l := uitest.Catalogue.Lang(tc.lang)
		want := append([]string{
			`<html lang="` + tc.lang + `"`,
			`<span class="copy-value">` + tc.amount + `</span>`,
			`<code class="copy-value">5479 0001234567</code>`,
			`<code class="copy-value">+71<000000012345678+87654321<</code>`,
			l.DateOnly("2027-02-15"),
			`<a class="button" href="https://betal.example.dk/faktura/7" rel="noopener noreferrer" aria-describedby="external-notice">Betal regningen`,
			`<time datetime="2027-02-03T08:30:00Z">` + l.DateTime(at) + `</time>`,
			`href="/letters/` + id + `/appointments/1.ics" download>`,
		}, tc.texts...)
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("%s: the page lacks %q", tc.lang, w)
			}
		}
		// The appointment has no link of its own: only its calendar file.
		if n := strings.Count(page, `rel="noopener noreferrer"`); n != 1 {
			t.Errorf("%s: %d external links, want 1", tc.lang, n)
		}
	}
}

// icsLine is one content line of an iCalendar object.
var icsLine = regexp.MustCompile(`^([A-Z][A-Z0-9-]*)((?:;[^:]*)?):(.*)$`)

// parseICS parses an iCalendar object strictly enough for a test (RFC
// 5545 §3.1): CRLF line ends, no line over 75 octets, folded lines
// unfolded, each a NAME[;params]:value; BEGIN and END nested. It returns
// the VEVENTs' properties, their TEXT values unescaped (§3.3.11).
func parseICS(t *testing.T, s string) []map[string]string {
	t.Helper()
	if !strings.HasSuffix(s, "\r\n") || strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
		t.Fatalf("lines do not end in CRLF:\n%q", s)
	}
	var lines []string
	for _, raw := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if len(raw) > 75 {
			t.Errorf("a line of %d octets: %q", len(raw), raw)
		}
		if strings.HasPrefix(raw, " ") || strings.HasPrefix(raw, "\t") {
			if len(lines) == 0 {
				t.Fatal("a continuation first")
			}
			lines[len(lines)-1] += raw[1:]
			continue
		}
		lines = append(lines, raw)
	}
	unescape := strings.NewReplacer(`\\`, `\`, `\;`, ";", `\,`, ",", `\n`, "\n", `\N`, "\n")
	var stack []string
	var events []map[string]string
	for _, line := range lines {
		m := icsLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a content line: %q", line)
		}
		switch name, value := m[1], m[3]; name {
		case "BEGIN":
			stack = append(stack, value)
			if value == "VEVENT" {
				events = append(events, map[string]string{})
			}
		case "END":
			if len(stack) == 0 || stack[len(stack)-1] != value {
				t.Fatalf("END:%s does not close %v", value, stack)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) > 0 && stack[len(stack)-1] == "VEVENT" {
				events[len(events)-1][name] = unescape.Replace(value)
			}
		}
	}
	if len(stack) != 0 || len(lines) < 2 || lines[0] != "BEGIN:VCALENDAR" || !strings.Contains(s, "\r\nVERSION:2.0\r\n") || !strings.Contains(s, "\r\nPRODID:") {
		t.Fatalf("not a VCALENDAR with VERSION and PRODID:\n%s", s)
	}
	return events
}

// TestLetterAppointmentICS: an appointment downloads as a valid iCalendar
// event (UID, DTSTAMP, DTSTART in UTC, the label as SUMMARY, escaped and
// folded) with the content type text/calendar; an action that is no
// appointment, or none, is a 404.
func TestLetterAppointmentICS(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	label := `Tandlæge; kontrol, "Æblehaven" \ 2. sal`
	msg := uitest.InvoiceMessage(uitest.NIDAnna, "Faktura", "faktura-1")
	msg["actions"] = []any{
		map[string]any{"type": "pay", "label": "Betal", "url": "https://betal.example.dk/7"},
		map[string]any{"type": "appointment", "label": label + strings.Repeat(" ø", 15), "at": "2027-02-03T09:30:00+01:00"},
	}
	r := e.Deliver(s.Client, uitest.MessagePart(msg), uitest.DocumentPart("faktura.pdf", "application/pdf", uitest.PDFDoc))
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
	}
	id := uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	r = e.Get(b, e.HTTPURL+"/letters/"+id+"/appointments/1.ics")
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "text/calendar; charset=utf-8" ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("the calendar file: %d %s %s", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
	}
	events := parseICS(t, r.Text)
	if len(events) != 1 {
		t.Fatalf("%d events", len(events))
	}
	ev := events[0]
	if ev["DTSTART"] != "20270203T083000Z" || ev["SUMMARY"] != label+strings.Repeat(" ø", 15) ||
		!strings.Contains(ev["UID"], id) || !strings.Contains(ev["DESCRIPTION"], "Aarhus Kommune") {
		t.Errorf("event %q", ev)
	}
	if _, err := time.Parse("20060102T150405Z", ev["DTSTAMP"]); err != nil {
		t.Errorf("DTSTAMP %q: %v", ev["DTSTAMP"], err)
	}
	for _, n := range []string{"0", "2", "9"} {
		if r := e.Get(b, e.HTTPURL+"/letters/"+id+"/appointments/"+n+".ics"); r.StatusCode != http.StatusNotFound {
			t.Errorf("appointment %s: %d, want 404", n, r.StatusCode)
		}
	}
}

// TestLetterAppointmentAuthorization: another resident, a signed-out
// browser and a cross-site POST get no calendar file of Anna's letter.
func TestLetterAppointmentAuthorization(t *testing.T) {
	t.Parallel()
	e, id := structuredEnv(t)
	u := e.HTTPURL + "/letters/" + id + "/appointments/1.ics"
	bjorn := e.Browser()
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	if r := e.Get(bjorn, u); r.StatusCode != http.StatusNotFound || strings.Contains(r.Text, "VCALENDAR") {
		t.Errorf("another resident: %d", r.StatusCode)
	}
	out := e.Browser()
	if r := e.Get(out, u); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" || strings.Contains(r.Text, "VCALENDAR") {
		t.Errorf("signed out: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	crossSite := http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
	for _, h := range []http.Header{nil, crossSite} {
		if r := e.PostForm(anna, u, url.Values{}, h); (r.StatusCode != http.StatusMethodNotAllowed && r.StatusCode != http.StatusForbidden) || strings.Contains(r.Text, "VCALENDAR") {
			t.Errorf("POST %v: %d", h, r.StatusCode)
		}
	}
}
