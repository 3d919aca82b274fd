package resident_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// accessEnv is the senders' appliance (Anna has a letter from Aarhus
// Kommune, a public authority, and two from Boghandlen ApS, a private
// sender) with two more residents: Carl and Dora.
type accessEnv struct {
	*sendersEnv
	nidCarl, nidDora string
	// Anna's letters by kind.
	public, private string
}

func newAccessEnv(t *testing.T) *accessEnv {
	t.Helper()
	e := &accessEnv{sendersEnv: newSendersEnv(t), nidCarl: testsupport.NationalID(5), nidDora: testsupport.NationalID(6)}
	e.AddResident(e.nidCarl, "Carl Carlsen")
	e.AddResident(e.nidDora, "Dora Dahl")
	e.withMailbox(uitest.NIDAnna, func(mb *store.Mailbox) {
		letters, err := mb.Inbox(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range letters {
			switch l.SenderKind {
			case store.SenderPublic:
				e.public = l.ID
			default:
				e.private = l.ID
			}
		}
	})
	if e.public == "" || e.private == "" {
		t.Fatal("Anna lacks a public or a private letter")
	}
	return e
}

// withMailbox runs fn on a resident's mailbox, opened in the store.
func (e *accessEnv) withMailbox(nid string, fn func(mb *store.Mailbox)) {
	e.T.Helper()
	ctx := context.Background()
	sess, err := e.Store.Login(ctx, nid, uitest.Password)
	if err != nil {
		e.T.Fatal(err)
	}
	defer e.Store.Logout(ctx, sess.Token)
	mb, err := e.Store.OpenSession(ctx, sess.Token)
	if err != nil {
		e.T.Fatal(err)
	}
	defer mb.Close()
	fn(mb)
}

// given returns the grants Anna gave, by the delegate's name.
func (e *accessEnv) given() map[string]store.Grant {
	e.T.Helper()
	out := map[string]store.Grant{}
	e.withMailbox(uitest.NIDAnna, func(mb *store.Mailbox) {
		given, _, err := mb.Grants(context.Background())
		if err != nil {
			e.T.Fatal(err)
		}
		for _, g := range given {
			out[g.DelegateName] = g
		}
	})
	return out
}

// TestAccessPage: Anna gives Bjørn read access to public post through
// the page, which lists it as waiting; Bjørn accepts, opens her mailbox
// from the switcher, sees the banner and only the public letter, and is
// told why an act is refused; Anna sees his reading; bad input is
// refused with a clear message and stores nothing; in Danish too.
func TestAccessPage(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	anna, bjorn := e.Browser(), e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	if r := e.Get(anna, e.HTTPURL+"/settings"); !strings.Contains(r.Text, `<a href="/settings/access">Access for others</a>`) {
		t.Fatal("the settings page does not link to the access page")
	}
	page := e.Get(anna, e.HTTPURL+"/settings/access")
	for _, want := range []string{"<h1>Access for others</h1>", "No one has access to your mailbox.", "marking letters as read or unread",
		"moving letters between the inbox and the archive", "Only post from public authorities"} {
		if !strings.Contains(html.UnescapeString(page.Text), want) {
			t.Errorf("access page lacks %q", want)
		}
	}
	// Bad input: a clear message, nothing stored.
	today := e.clock.Now()
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"nationalId": {uitest.NIDAnna}, "access": {"read"}, "scope": {"all"}}, "You cannot give access to yourself."},
		{url.Values{"nationalId": {uitest.NIDNobody}, "access": {"read"}, "scope": {"all"}}, "There is no open mailbox for that personal identity number."},
		{url.Values{"nationalId": {"12"}, "access": {"read"}, "scope": {"all"}}, "There is no open mailbox for that personal identity number."},
		{url.Values{"nationalId": {uitest.NIDBjorn}, "access": {"read"}, "scope": {"all"}, "until": {today.AddDate(0, 0, -1).Format(time.DateOnly)}}, "The last day has already passed."},
		{url.Values{"nationalId": {uitest.NIDBjorn}, "access": {"read"}, "scope": {"all"}, "until": {"30.06.2027"}}, "Write the last day as a date"},
		{url.Values{"nationalId": {uitest.NIDBjorn}, "access": {"write"}, "scope": {"all"}}, "Choose what they may do"},
	} {
		r := e.PostForm(anna, e.HTTPURL+"/settings/access", tc.form, nil)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(r.Text), tc.want) || !strings.Contains(r.Text, "Nothing was changed") {
			t.Errorf("grant %v: %d, want 422 saying %q", tc.form, r.StatusCode, tc.want)
		}
	}
	if len(e.given()) != 0 {
		t.Fatal("refused grants were stored")
	}
	r := e.PostForm(anna, e.HTTPURL+"/settings/access", url.Values{"nationalId": {uitest.NIDBjorn}, "access": {"read"}, "scope": {"public"}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings/access?done=granted" {
		t.Fatalf("grant: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	g := e.given()["Bjørn Hansen"]
	if page := e.Get(anna, e.HTTPURL+r.Header.Get("Location")); !strings.Contains(page.Text, "Waiting for them to accept.") || !strings.Contains(page.Text, "Access given.") {
		t.Errorf("after granting:\n%s", page.Text)
	}
	// Bjørn cannot open it before accepting.
	if r := e.Get(bjorn, e.HTTPURL+"/mailboxes/"+g.ID); r.StatusCode != http.StatusNotFound {
		t.Errorf("before accepting: %d", r.StatusCode)
	}
	page = e.Get(bjorn, e.HTTPURL+"/settings/access")
	if !strings.Contains(html.UnescapeString(page.Text), "Accept access to Anna Jensen's mailbox") {
		t.Fatalf("Bjørn's access page:\n%s", page.Text)
	}
	if r := e.PostForm(bjorn, e.HTTPURL+"/settings/access/"+g.ID+"/accept", nil, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d", r.StatusCode)
	}
	page = e.Get(bjorn, e.HTTPURL+"/settings/access")
	if !strings.Contains(page.Text, `href="/mailboxes/`+g.ID+`"`) {
		t.Fatalf("no link to Anna's mailbox:\n%s", page.Text)
	}
	list := e.Get(bjorn, e.HTTPURL+"/mailboxes/"+g.ID)
	text := html.UnescapeString(list.Text)
	for _, want := range []string{"You are looking at Anna Jensen's mailbox, not your own.", "My own mailbox", `aria-current="page">Anna Jensen`,
		"Read letters · Only post from public authorities", e.public} {
		if !strings.Contains(text, want) {
			t.Errorf("the delegate's list lacks %q", want)
		}
	}
	if strings.Contains(text, e.private) || strings.Contains(text, "Boghandlen") {
		t.Error("the delegate's list shows private post on a public-only grant")
	}
	letter := e.Get(bjorn, e.HTTPURL+"/mailboxes/"+g.ID+"/letters/"+e.public)
	if letter.StatusCode != http.StatusOK || !strings.Contains(html.UnescapeString(letter.Text), "You are looking at Anna Jensen's mailbox") || strings.Contains(letter.Text, "Sort the letter") {
		t.Errorf("the delegate's letter: %d\n%s", letter.StatusCode, letter.Text)
	}
	// An act on a read grant: refused with why.
	r = e.PostForm(bjorn, e.HTTPURL+"/mailboxes/"+g.ID+"/letters/"+e.public+"/act", url.Values{"act": {"archive"}}, nil)
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Text, "You may only read letters in this mailbox, so nothing was changed.") {
		t.Errorf("an act on a read grant: %d\n%s", r.StatusCode, r.Text)
	}
	// Anna sees what Bjørn did.
	page = e.Get(anna, e.HTTPURL+"/settings/access")
	if !strings.Contains(html.UnescapeString(page.Text), "Bjørn Hansen read a letter") {
		t.Errorf("Anna's access page lacks Bjørn's reading:\n%s", page.Text)
	}
	// In Danish.
	da := e.Get(bjorn, e.HTTPURL+"/mailboxes/"+g.ID+"?lang=da")
	if !strings.Contains(html.UnescapeString(da.Text), "Du ser postkassen, der tilhører Anna Jensen – ikke din egen.") {
		t.Errorf("the Danish banner:\n%s", da.Text)
	}
}

// TestAccessAuthorization: every resident route that touches a letter,
// for every letter of Anna's (public and private post), for each of the
// owner, a delegate within the grant (Bjørn: read, public post; Carl:
// read and act, all post, until today), a delegate beyond it (private
// post on a public-only grant, the other delegate's grant, a write act on
// a read grant, after revoking, after the last day), another resident
// and a signed-out browser: a table of expected answers, zero
// mismatches. Cross-site forms change nothing. A reply on Anna's behalf
// (to letters that take replies and to letters that do not) is stored
// only for the answers that allow it.
func TestAccessAuthorization(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	ctx := context.Background()
	var readPublic, actAll store.Grant
	e.withMailbox(uitest.NIDAnna, func(mb *store.Mailbox) {
		var err error
		if readPublic, err = mb.GrantAccess(ctx, store.GrantRequest{DelegateNationalID: uitest.NIDBjorn, Access: store.AccessRead, Scope: store.ScopePublic}); err != nil {
			t.Fatal(err)
		}
		if actAll, err = mb.GrantAccess(ctx, store.GrantRequest{DelegateNationalID: e.nidCarl, Access: store.AccessAct, Scope: store.ScopeAll, Until: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
	})
	e.withMailbox(uitest.NIDBjorn, func(mb *store.Mailbox) {
		if err := mb.AcceptGrant(ctx, readPublic.ID); err != nil {
			t.Fatal(err)
		}
	})
	e.withMailbox(e.nidCarl, func(mb *store.Mailbox) {
		if err := mb.AcceptGrant(ctx, actAll.ID); err != nil {
			t.Fatal(err)
		}
	})

	// Two letters that ask Anna for a signature, from the public sender
	// and the private one, for the routes of signing on her behalf.
	signLetters := map[string]string{}
	for kind, snd := range map[string]store.Sender{"public": e.sendersEnv.public.Sender, "private": e.shop.Sender} {
		k, err := crypto.GenerateKeyPair(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub := k.Public()
		if err := e.Store.SetSenderReplyKey(ctx, snd.ID, pub[:], false); err != nil {
			t.Fatal(err)
		}
		nid, err := store.ParseNationalID(uitest.NIDAnna)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Store.Deliver(ctx, snd.ID, store.Delivery{Recipient: nid, Subject: "Lejeaftale", SenderReference: "sign-" + kind,
			SignatureRequest: &store.SignatureRequest{Deadline: e.clock.Now().AddDate(0, 0, 14).Format(time.DateOnly), Description: "Lejeaftale"},
			Documents:        []store.DocumentInput{{Name: "aftale.pdf", ContentType: "application/pdf", Content: testsupport.PDF("Lejeaftale")}}})
		if err != nil {
			t.Fatal(err)
		}
		signLetters[kind] = res.Letter.ID
	}

	type actor struct {
		name string
		nid  string // "" signed out
		c    *http.Client
	}
	actors := []*actor{{name: "owner", nid: uitest.NIDAnna}, {name: "bjorn", nid: uitest.NIDBjorn}, {name: "carl", nid: e.nidCarl},
		{name: "dora", nid: e.nidDora}, {name: "signed out"}}
	login := func() {
		for _, a := range actors {
			a.c = e.Browser()
			if a.nid != "" {
				e.Login(a.c, e.HTTPURL, a.nid)
			}
		}
	}
	e.AddReplyKey(e.sendersEnv.public)
	e.AddReplyKey(e.shop)
	letters := map[string]string{"public": e.public, "private": e.private,
		"public-reply":  deliverLetter(t, e.Env, e.sendersEnv.public, "hoering-1", true),
		"private-reply": deliverLetter(t, e.Env, e.shop, "tilbud-1", true)}
	grants := map[string]string{"read-public": readPublic.ID, "act-all": actAll.ID}
	type route struct {
		name, method, path string // path: %[1]s the grant, %[2]s the letter
		form               url.Values
		reply              bool // a multipart reply form
	}
	ownerRoutes := []route{
		{"letter", "GET", "/letters/%[2]s", nil, false},
		{"document", "GET", "/letters/%[2]s/documents/0", nil, false},
		{"receipt", "GET", "/letters/%[2]s/receipt", nil, false},
	}
	delegateRoutes := []route{
		{"delegated letter", "GET", "/mailboxes/%[1]s/letters/%[2]s", nil, false},
		{"delegated document", "GET", "/mailboxes/%[1]s/letters/%[2]s/documents/0", nil, false},
		{"act: read", "POST", "/mailboxes/%[1]s/letters/%[2]s/act", url.Values{"act": {"read"}}, false},
		{"act: archive", "POST", "/mailboxes/%[1]s/letters/%[2]s/act", url.Values{"act": {"archive"}}, false},
		{"act: inbox", "POST", "/mailboxes/%[1]s/letters/%[2]s/act", url.Values{"act": {"inbox"}}, false},
		{"reply on behalf", "POST", "/mailboxes/%[1]s/letters/%[2]s/reply", nil, true},
	}
	// want is the expected status: phase "active", "revoked" (Bjørn's
	// grant ended) or "expired" (also past Carl's last day).
	want := func(phase string, a *actor, r route, grant, kind string) int {
		if a.nid == "" {
			return http.StatusSeeOther // to the login page
		}
		if grant == "" { // the owner's routes
			if a.name == "owner" {
				return http.StatusOK
			}
			return http.StatusNotFound
		}
		mine := (a.name == "bjorn" && grant == "read-public" && phase == "active") ||
			(a.name == "carl" && grant == "act-all" && phase != "expired")
		if !mine {
			return http.StatusNotFound
		}
		if grant == "read-public" && strings.HasPrefix(kind, "private") {
			return http.StatusNotFound // not covered
		}
		if r.method == "POST" {
			if grant == "read-public" {
				return http.StatusForbidden // a write act on a read grant
			}
			if r.reply && !strings.HasSuffix(kind, "-reply") {
				return http.StatusForbidden // the letter takes no replies
			}
			return http.StatusSeeOther
		}
		return http.StatusOK
	}
	// The routes of answering a signature request on the grantor's
	// behalf: signing with a wrong password (refused when allowed at
	// all: nothing is signed), declining (done once, by Carl).
	signRoutes := []route{
		{"delegated signature page", "GET", "/mailboxes/%[1]s/letters/%[2]s/signature", nil, false},
		{"sign on behalf", "POST", "/mailboxes/%[1]s/letters/%[2]s/sign", url.Values{"confirm": {"yes"}, "password": {"not the password"}}, false},
		{"decline on behalf", "POST", "/mailboxes/%[1]s/letters/%[2]s/decline", url.Values{"reason": {"Anna er på ferie."}}, false},
	}
	wantSign := func(phase string, a *actor, r route, grant, kind string) int {
		w := want(phase, a, r, grant, kind)
		if w != http.StatusSeeOther || r.method != "POST" || a.nid == "" {
			return w
		}
		switch {
		case phase != "active":
			return http.StatusConflict // declined in the active phase
		case r.name == "sign on behalf":
			return http.StatusUnauthorized // the delegate's password is wrong
		}
		return http.StatusSeeOther
	}
	cases, mismatches, replied := 0, 0, 0
	run := func(phase string) {
		t.Helper()
		for _, a := range actors {
			for kind, letterID := range letters {
				check := func(r route, grant string) {
					cases++
					u := e.HTTPURL + fmt.Sprintf(r.path, grants[grant], letterID)
					var resp *uitest.Response
					if r.reply {
						resp = postMultipart(e.Env, a.c, u, "Svar på vegne af Anna", nil)
					} else if r.method == "POST" {
						resp = e.PostForm(a.c, u, r.form, nil)
					} else {
						resp = e.Get(a.c, u)
					}
					w := want(phase, a, r, grant, kind)
					if r.reply && w == http.StatusSeeOther && a.nid != "" {
						replied++
					}
					got := resp.StatusCode
					if got == w && w == http.StatusSeeOther && a.nid == "" && resp.Header.Get("Location") != "/login" {
						got = -1 // signed out must go to the login page
					}
					if got != w {
						mismatches++
						t.Errorf("%s: %s %s %s (grant %s, %s letter): %d, want %d", phase, a.name, r.method, r.name, grant, kind, resp.StatusCode, w)
					}
					if w != http.StatusOK && w != http.StatusSeeOther && strings.Contains(resp.Text, "Afgørelse") {
						t.Errorf("%s: %s %s leaks the letter", phase, a.name, r.name)
					}
				}
				for _, r := range ownerRoutes {
					check(r, "")
				}
				for grant := range grants {
					for _, r := range delegateRoutes {
						check(r, grant)
					}
				}
			}
			// Signing on the grantor's behalf, on the letters that ask.
			for kind, letterID := range signLetters {
				for grant := range grants {
					for _, r := range signRoutes {
						cases++
						u := e.HTTPURL + fmt.Sprintf(r.path, grants[grant], letterID)
						var resp *uitest.Response
						if r.method == "POST" {
							resp = e.PostForm(a.c, u, r.form, nil)
						} else {
							resp = e.Get(a.c, u)
						}
						w := wantSign(phase, a, r, grant, kind)
						got := resp.StatusCode
						if got == w && w == http.StatusSeeOther && a.nid == "" && resp.Header.Get("Location") != "/login" {
							got = -1
						}
						if got != w {
							mismatches++
							t.Errorf("%s: %s %s %s (grant %s, %s letter): %d, want %d", phase, a.name, r.method, r.name, grant, kind, resp.StatusCode, w)
						}
						// Refused for one who may read the letter (a read grant, a
						// wrong password, answered), the page shows it again.
						if (w == http.StatusNotFound || a.nid == "") && strings.Contains(resp.Text, "Lejeaftale") {
							t.Errorf("%s: %s %s leaks the letter", phase, a.name, r.name)
						}
					}
				}
			}
			// The lists: only covered letters, only for the delegate.
			for grant, id := range grants {
				cases++
				resp := e.Get(a.c, e.HTTPURL+"/mailboxes/"+id)
				w := want(phase, a, route{method: "GET"}, grant, "public")
				if resp.StatusCode != w {
					mismatches++
					t.Errorf("%s: %s lists grant %s: %d, want %d", phase, a.name, grant, resp.StatusCode, w)
				}
				if w == http.StatusOK && grant == "read-public" && strings.Contains(resp.Text, e.private) {
					mismatches++
					t.Errorf("%s: the public-only list shows the private letter", phase)
				}
				if w == http.StatusOK && grant == "act-all" && !(strings.Contains(resp.Text, e.private) && strings.Contains(resp.Text, e.public)) {
					mismatches++
					t.Errorf("%s: the all-post list lacks a letter", phase)
				}
				// The delegate's search: as the list, covered letters only.
				cases++
				resp = e.Get(a.c, e.HTTPURL+"/mailboxes/"+id+"?q=Brev")
				if resp.StatusCode != w {
					mismatches++
					t.Errorf("%s: %s searches grant %s: %d, want %d", phase, a.name, grant, resp.StatusCode, w)
				}
				if w == http.StatusOK && grant == "read-public" && (strings.Contains(resp.Text, e.private) || !strings.Contains(resp.Text, e.public)) {
					mismatches++
					t.Errorf("%s: the public-only search finds the private letter or not the public one", phase)
				}
			}
		}
	}
	login()
	run("active")

	// Cross-site forms in the delegates' and Anna's browsers: refused,
	// nothing changed.
	crossSite := http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
	before := e.given()
	for _, p := range []struct {
		c    *http.Client
		path string
		form url.Values
	}{
		{actors[2].c, "/mailboxes/" + actAll.ID + "/letters/" + e.private + "/act", url.Values{"act": {"unread"}}},
		{actors[2].c, "/mailboxes/" + actAll.ID + "/letters/" + letters["public-reply"] + "/reply", nil},
		{actors[2].c, "/mailboxes/" + actAll.ID + "/letters/" + signLetters["public"] + "/sign", url.Values{"confirm": {"yes"}, "password": {uitest.Password}}},
		{actors[2].c, "/mailboxes/" + actAll.ID + "/letters/" + signLetters["public"] + "/decline", url.Values{"reason": {"nej"}}},
		{actors[0].c, "/settings/access", url.Values{"nationalId": {e.nidDora}, "access": {"act"}, "scope": {"all"}}},
		{actors[0].c, "/settings/access/" + readPublic.ID + "/end", nil},
		{actors[1].c, "/settings/access/" + readPublic.ID + "/end", nil},
	} {
		if r := e.PostForm(p.c, e.HTTPURL+p.path, p.form, crossSite); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site %s: %d", p.path, r.StatusCode)
		}
	}
	if after := e.given(); len(after) != len(before) {
		t.Errorf("cross-site forms changed the grants: %v", after)
	}
	// Another resident cannot end Anna's grants or accept them.
	for _, path := range []string{"/settings/access/" + readPublic.ID + "/end", "/settings/access/" + actAll.ID + "/accept"} {
		if r := e.PostForm(actors[3].c, e.HTTPURL+path, nil, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("Dora posts %s: %d", path, r.StatusCode)
		}
	}

	// Revoked: Anna ends Bjørn's grant.
	if r := e.PostForm(actors[0].c, e.HTTPURL+"/settings/access/"+readPublic.ID+"/end", nil, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	run("revoked")

	// Past Carl's last day: refused at once, before any sweep.
	y, m, d := e.clock.Now().Date()
	e.clock.Set(time.Date(y, m, d+1, 0, 0, 1, 0, time.UTC))
	login()
	run("expired")
	// Only the replies the table allowed were stored, each Anna's, written
	// by Carl.
	stored := 0
	e.withMailbox(uitest.NIDAnna, func(mb *store.Mailbox) {
		for _, kind := range []string{"public-reply", "private-reply", "public", "private"} {
			th, err := mb.Thread(ctx, letters[kind])
			if err != nil {
				t.Fatal(err)
			}
			for _, rep := range th.Replies {
				stored++
				if !rep.OnBehalf || rep.WrittenBy != "Carl Carlsen" || rep.Text != "Svar på vegne af Anna" {
					t.Errorf("a stored reply: %+v", rep)
				}
			}
		}
	})
	if replied == 0 || stored != replied {
		t.Errorf("%d replies stored, want %d", stored, replied)
	}
	t.Logf("%d cases, %d mismatches, %d replies", cases, mismatches, replied)
	if cases < 300 {
		t.Errorf("only %d cases", cases)
	}
}

// actGrantToCarl has Anna give Carl access to act on all her letters, and
// Carl accept it.
func (e *accessEnv) actGrantToCarl(t *testing.T) store.Grant {
	t.Helper()
	ctx := context.Background()
	var g store.Grant
	e.withMailbox(uitest.NIDAnna, func(mb *store.Mailbox) {
		var err error
		if g, err = mb.GrantAccess(ctx, store.GrantRequest{DelegateNationalID: e.nidCarl, Access: store.AccessAct, Scope: store.ScopeAll}); err != nil {
			t.Fatal(err)
		}
	})
	e.withMailbox(e.nidCarl, func(mb *store.Mailbox) {
		if err := mb.AcceptGrant(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
	})
	return g
}
