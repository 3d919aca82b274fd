package resident_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// TestSettings: the resident sees and changes their notification
// preferences; a refused address is shown next to its field, with what
// was entered, and nothing is stored; the page states the inactivity rule
// of the configured policy. A cross-site form is refused.
func TestSettings(t *testing.T) {
	t.Parallel()
	storeClock := testsupport.NewClock() // 22 November 2026, 10:00 UTC
	e := apptest.NewEnv(t, apptest.Options{StoreClock: storeClock.Now})
	anna := e.AddResident(uitest.NIDAnna, "Anna Jensen")
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)

	page := e.Get(b, e.HTTPURL+"/settings")
	for _, want := range []string{
		"<title>Settings — Postkasse</title>", `<a href="/settings" aria-current="page">Settings</a>`, `<a href="/">Inbox</a>`,
		`<label for="email">E-mail address</label>`, `<label for="emailOn">Notify me by e-mail</label>`,
		`<label for="phone">Mobile number</label>`, `<label for="smsOn">Notify me by SMS</label>`,
		// The default rule, counted from the login just now.
		"Your mailbox will be deleted on <strong>22 November 2031</strong> unless you log in before then.",
		"a mailbox without a login for 5 years is deleted with all its letters. We warn you 30 days and 7 days before.",
		"You have not chosen e-mail or SMS above, so the warnings cannot reach you.",
		`<a href="/settings/delete">Delete your mailbox</a>`,
	} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
	if page.StatusCode != http.StatusOK || strings.Count(page.Text, "<h1") != 1 || strings.Contains(page.Text, "aria-invalid") {
		t.Fatalf("settings page: %d\n%s", page.StatusCode, page.Text)
	}

	// Refusals: the message is next to the field, tied to it, and what
	// was entered stays; nothing is stored.
	for _, tc := range []struct {
		name    string
		form    url.Values
		field   string
		message string
		keeps   string
	}{
		{"bad e-mail", url.Values{"email": {"anna@"}, "emailOn": {"on"}}, "email",
			"Enter an e-mail address in the form name@example.dk.", `value="anna@"`},
		{"e-mail on without address", url.Values{"emailOn": {"on"}, "phone": {"+4512345678"}}, "email",
			"Enter an e-mail address to be notified by e-mail, or turn e-mail off.", `value="&#43;4512345678"`},
		{"bad phone", url.Values{"phone": {"12 34 56"}, "smsOn": {"on"}, "email": {"anna@example.dk"}}, "phone",
			"Enter a mobile number with its country code, such as &#43;45 12 34 56 78.", `value="12 34 56"`},
		{"SMS on without number", url.Values{"smsOn": {"on"}}, "phone",
			"Enter a mobile number to be notified by SMS, or turn SMS off.", `id="smsOn" name="smsOn" type="checkbox" value="on" checked`},
		{"markup in the address", url.Values{"email": {`"><script>x</script>`}}, "email",
			"Enter an e-mail address in the form name@example.dk.", `value="&#34;&gt;&lt;script&gt;x&lt;/script&gt;"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.PostForm(b, e.HTTPURL+"/settings/notifications", tc.form, nil)
			describedBy := `aria-describedby="email-error"`
			if tc.field == "phone" {
				describedBy = `aria-describedby="phone-hint phone-error"`
			}
			for _, want := range []string{
				`role="alert"`, "Your notification settings were not saved",
				`<a href="#` + tc.field + `">` + tc.message + `</a>`,
				`<p class="field-error" id="` + tc.field + `-error"><span class="visually-hidden">Error: </span>` + tc.message + `</p>`,
				`aria-invalid="true" ` + describedBy, tc.keeps,
			} {
				if !strings.Contains(r.Text, want) {
					t.Errorf("lacks %q", want)
				}
			}
			if r.StatusCode != http.StatusUnprocessableEntity || strings.Contains(r.Text, "<script>") {
				t.Fatalf("%d\n%s", r.StatusCode, r.Text)
			}
			if p, err := e.Store.NotificationPreferences(context.Background(), anna.ID); err != nil || p != (store.NotificationPreferences{}) {
				t.Fatalf("stored %+v (%v) after a refusal", p, err)
			}
		})
	}

	// Cross-site: refused, nothing stored.
	good := url.Values{"email": {" anna@example.dk "}, "emailOn": {"on"}, "phone": {"+45 12 34 56 78"}, "smsOn": {"on"}}
	if r := e.PostForm(b, e.HTTPURL+"/settings/notifications", good, crossSite); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site settings: %d", r.StatusCode)
	}
	if n := e.AuditCount("set-notifications"); n != 0 {
		t.Fatalf("the cross-site form stored the preferences")
	}

	// Saved: back to the page, which says so and shows them as stored.
	wantRedirect(t, "save", e.PostForm(b, e.HTTPURL+"/settings/notifications", good, nil), "/settings?saved=notifications")
	want := store.NotificationPreferences{Email: "anna@example.dk", EmailOn: true, Phone: "+4512345678", SMSOn: true}
	if p, err := e.Store.NotificationPreferences(context.Background(), anna.ID); err != nil || p != want {
		t.Fatalf("stored %+v (%v), want %+v", p, err, want)
	}
	page = e.Get(b, e.HTTPURL+"/settings?saved=notifications")
	for _, want := range []string{
		`role="status"`, "Your notification settings are saved.", `value="anna@example.dk"`, `value="&#43;4512345678"`,
		`id="emailOn" name="emailOn" type="checkbox" value="on" checked`, `id="smsOn" name="smsOn" type="checkbox" value="on" checked`,
	} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("settings page after saving lacks %q", want)
		}
	}
	if strings.Contains(page.Text, "cannot reach you") {
		t.Error("the page says the warnings cannot reach a resident who chose e-mail and SMS")
	}
	// Both off, the addresses kept.
	off := url.Values{"email": {"anna@example.dk"}, "phone": {"+4512345678"}}
	wantRedirect(t, "turn off", e.PostForm(b, e.HTTPURL+"/settings/notifications", off, nil), "/settings?saved=notifications")
	if p, _ := e.Store.NotificationPreferences(context.Background(), anna.ID); p.EmailOn || p.SMSOn || p.Email == "" || p.Phone == "" {
		t.Fatalf("after turning both off: %+v", p)
	}

	// Another policy, as main passes it from postkasse.toml to the store.
	other := apptest.NewEnv(t, apptest.Options{Retention: store.RetentionPolicy{
		Inactivity: store.Period{Years: 1, Months: 6}, InactivityWarnings: []store.Period{{Days: 1}},
	}, StoreClock: storeClock.Now})
	other.AddResident(uitest.NIDAnna, "Anna Andersen")
	base := "http://" + uitest.Serve(t, other.Handler, nil)
	b2 := e.Browser()
	e.Login(b2, base, uitest.NIDAnna)
	page = e.Get(b2, base+"/settings")
	for _, want := range []string{
		"Your mailbox will be deleted on <strong>22 May 2028</strong>",
		"a mailbox without a login for 1 year and 6 months is deleted with all its letters. We warn you 1 day before.",
	} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("settings page with another policy lacks %q:\n%s", want, page.Text)
		}
	}
}
