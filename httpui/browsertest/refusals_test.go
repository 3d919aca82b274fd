package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/postkasse/postkasse/httpui"
)

// loginAlert is the login page's message box as the browser shows it.
type loginAlert struct {
	Role    string `json:"role"`
	Title   string `json:"title"`
	Text    string `json:"text"`
	Number  string `json:"number"`   // the national identity number field
	Typed   string `json:"password"` // the password field
	Focused string `json:"focused"`  // the id of the focused element
}

func (tb *tab) loginAttempt(nid, password string) loginAlert {
	tb.t.Helper()
	tb.do(
		chromedp.WaitVisible(chromedp.ID("nationalId")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('nationalId').value = ''`),
		chromedp.SendKeys(chromedp.ID("nationalId"), nid),
	)
	// Submit and wait for the answer's page to have loaded: the page
	// before may show an alert already, so waiting for one is not enough.
	runResponse(tb, chromedp.SendKeys(chromedp.ID("password"), password+"\n"))
	tb.do(chromedp.WaitVisible(chromedp.ID("login-error")))
	// The page's autofocus applies in a rendering update after the page
	// has loaded, not at once: wait for the load, then for the element
	// that asks for the focus to have it (at most 300 frames, after which
	// the focus is read as it is and the caller's assertion reports it),
	// and for one more frame, so a page without autofocus has had its
	// chance to move the focus too.
	return eval[loginAlert](tb, `(async () => {
		const frame = () => new Promise(r => requestAnimationFrame(r));
		if (document.readyState !== 'complete') {
			await new Promise(r => addEventListener('load', r, {once: true}));
		}
		const target = document.querySelector('[autofocus]');
		for (let i = 0; target && document.activeElement !== target && i < 300; i++) {
			await frame();
		}
		await frame();
		const a = document.getElementById('login-error');
		return {role: a.getAttribute('role'), title: a.querySelector('.alert-title').innerText,
			text: a.querySelector('p').innerText,
			number: document.getElementById('nationalId').value,
			password: document.getElementById('password').value,
			focused: document.activeElement.id};
	})()`)
}

// TestLoginRefusals: a wrong password, and then the throttle after
// repeated failures, each show a clear message in the browser, keep the
// number typed, never the password, and start no session.
func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	a := newAppliance(t, applianceOptions{throttle: httpui.ThrottleConfig{AccountFailures: 3, Window: 15 * time.Minute}})
	seedLogins := a.logins()
	tb := newTab(t, "refusals")
	tb.viewport(1280)
	tb.do(chromedp.Navigate(a.url + "/login"))

	for i := range 3 {
		got := tb.loginAttempt(annaNID, fmt.Sprintf("wrong password %d", i))
		want := loginAlert{Role: "alert", Title: "Sign-in failed", Text: "Wrong national identity number or password.",
			Number: annaNID, Focused: "password"}
		if got != want {
			t.Fatalf("wrong password %d: %+v, want %+v", i+1, got, want)
		}
		if title := run(tb, chromedp.Title()); title != "Sign in — Postkasse" {
			t.Errorf("title %q", title)
		}
	}
	// The fourth attempt is refused before the password is looked at,
	// even the right one, and says how long to wait.
	got := tb.loginAttempt(annaNID, annaPassword)
	want := loginAlert{Role: "alert", Title: "Too many attempts",
		Text:   "Too many failed attempts to sign in. Wait 15 minutes before you try again.",
		Number: annaNID}
	if got.Focused == "password" {
		t.Errorf("a throttled page puts the focus in the password field")
	}
	got.Focused = ""
	if got != want {
		t.Fatalf("throttled: %+v, want %+v", got, want)
	}
	if c := tb.sessionCookie(a); c != nil || a.logins() != seedLogins {
		t.Fatalf("a refused login started a session: cookie %+v, %d logins", c, a.logins()-seedLogins)
	}
	// The page itself says nothing of the password typed.
	if html := eval[string](tb, `document.documentElement.outerHTML`); strings.Contains(html, annaPassword) || strings.Contains(html, "wrong password") {
		t.Error("the login page echoes a password")
	}
	// When the window has passed, the right password works again.
	a.clock.Set(now.Add(15 * time.Minute))
	tb.do(chromedp.Navigate(a.url + "/login"))
	tb.login(annaNID, annaPassword)
}

// TestCrossSite: a page on another origin (http://localhost:port, another
// site than http://127.0.0.1:port) submits forms to Postkasse in the
// resident's browser. Sign-out, deleting a letter and sign-in are
// refused with a page that says why, and nothing changes: the resident
// stays signed in, the letter stays, and no session is planted in a
// browser that was not signed in.
func TestCrossSite(t *testing.T) {
	t.Parallel()
	a := newAppliance(t, applianceOptions{})
	seedLogins := a.logins()
	attacker := "http://localhost:" + strings.Split(serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var form string
		switch r.URL.Path {
		case "/sign-out":
			form = `<form method="post" action="` + a.url + `/logout"></form>`
		case "/delete":
			form = `<form method="post" action="` + a.url + `/letters/delete">` +
				`<input name="id" value="` + a.letter(letterSchool).ID + `"><input name="confirm" value="1"></form>`
		case "/sign-in":
			form = `<form method="post" action="` + a.url + `/login">` +
				`<input name="nationalId" value="` + annaNID + `"><input name="password" value="` + annaPassword + `"></form>`
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Win a prize</title>%s<script>document.forms[0].submit()</script>`, form)
	})), ":")[1]

	refused := func(t *testing.T, tb *tab) {
		t.Helper()
		tb.do(chromedp.WaitVisible(chromedp.CSS("main h1")))
		if loc, h1 := tb.location(), run(tb, chromedp.Text(chromedp.CSS("main h1"))); !strings.HasPrefix(loc, a.url+"/") || h1 != "Request refused" {
			t.Fatalf("the cross-site form led to %s %q, want Postkasse's refusal", loc, h1)
		}
		if text := tb.text(); !strings.Contains(text, "came from another web site") {
			t.Errorf("the refusal does not say why: %q", text)
		}
	}

	t.Run("sign-out", func(t *testing.T) {
		t.Parallel()
		tb := newTab(t, "signed-in")
		tb.do(chromedp.Navigate(a.url + "/login"))
		tb.login(annaNID, annaPassword)
		c := tb.sessionCookie(a)
		if c == nil {
			t.Fatal("no session cookie after sign-in")
		}
		token := c.Value
		tb.do(chromedp.Navigate(attacker + "/sign-out"))
		refused(t, tb)
		if c := tb.sessionCookie(a); c == nil || c.Value != token {
			t.Fatalf("the session cookie changed: %+v", c)
		}
		mb, err := a.store.OpenSession(context.Background(), token)
		if err != nil {
			t.Fatalf("the session was ended by another site: %v", err)
		}
		mb.Close()
		tb.do(chromedp.Navigate(a.url+"/"), chromedp.WaitVisible(chromedp.CSS("main .inbox")))
	})
	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		tb := newTab(t, "signed-in-delete")
		tb.do(chromedp.Navigate(a.url + "/login"))
		tb.login(annaNID, annaPassword)
		tb.do(chromedp.Navigate(attacker + "/delete"))
		refused(t, tb)
		school := a.letter(letterSchool)
		if st, err := a.store.LetterStatus(context.Background(), a.senderOf(school.ID), school.ID); err != nil || st.Status == "deleted" {
			t.Fatalf("after the cross-site delete: %+v, %v", st, err)
		}
		tb.do(chromedp.Navigate(a.url+"/letters/"+school.ID), chromedp.WaitVisible(chromedp.CSS("article.letter-page h1")))
	})
	t.Run("sign-in", func(t *testing.T) {
		t.Parallel()
		tb := newTab(t, "not-signed-in")
		tb.do(chromedp.Navigate(attacker + "/sign-in"))
		refused(t, tb)
		if c := tb.sessionCookie(a); c != nil {
			t.Fatalf("another site planted a session: %+v", c)
		}
		tb.do(chromedp.Navigate(a.url + "/"))
		if loc := tb.location(); loc != a.url+"/login" {
			t.Fatalf("after the cross-site sign-in, / is %s, want the login page", loc)
		}
	})
	t.Cleanup(func() {
		// Only the resident's own sign-ins in the first two subtests.
		if n := a.logins() - seedLogins; n != 2 {
			t.Errorf("%d logins, want 2", n)
		}
	})
}
