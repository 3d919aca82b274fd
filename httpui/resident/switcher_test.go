package resident_test

import (
	"context"
	"html"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// TestMailboxSwitcher: the header of every signed-in page has the
// mailbox switcher once the resident has an accepted, active grant (not
// before accepting, not after it ended), with their own mailbox and the
// grantor's, the current one marked; a resident without one has none.
func TestMailboxSwitcher(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	ctx := context.Background()
	var g store.Grant
	e.withMailbox(uitest.NIDAnna, func(mb *store.Mailbox) {
		var err error
		if g, err = mb.GrantAccess(ctx, store.GrantRequest{DelegateNationalID: uitest.NIDBjorn, Access: store.AccessRead, Scope: store.ScopeAll}); err != nil {
			t.Fatal(err)
		}
	})
	anna, bjorn := e.Browser(), e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	grantURL := "/mailboxes/" + g.ID
	if r := e.Get(bjorn, e.HTTPURL+"/"); strings.Contains(r.Text, "mailbox-switcher") {
		t.Error("a switcher before the grant was accepted")
	}
	e.withMailbox(uitest.NIDBjorn, func(mb *store.Mailbox) {
		if err := mb.AcceptGrant(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
	})
	for _, tc := range []struct {
		path, want, current string
	}{
		{"/", `<a href="/" aria-current="page">My own mailbox</a>`, "My own mailbox"},
		{"/settings", `<a href="/" aria-current="true">My own mailbox</a>`, "My own mailbox"},
		{"/search", `<a href="/" aria-current="true">My own mailbox</a>`, "My own mailbox"},
		{grantURL, `<a href="` + grantURL + `" aria-current="page">Anna Jensen</a>`, "Mailbox: Anna Jensen"},
		{grantURL + "/letters/" + e.public, `<a href="` + grantURL + `" aria-current="true">Anna Jensen</a>`, "Mailbox: Anna Jensen"},
	} {
		r := e.Get(bjorn, e.HTTPURL+tc.path)
		text := html.UnescapeString(r.Text)
		i := strings.Index(text, `<details class="mailbox-switcher"`)
		if i < 0 || i > strings.Index(text, `<main`) {
			t.Errorf("%s: no switcher in the header:\n%s", tc.path, r.Text)
			continue
		}
		sw := text[i : strings.Index(text[i:], "</details>")+i]
		if !strings.Contains(sw, tc.want) || !strings.Contains(sw, "<summary>"+tc.current+"</summary>") || strings.Count(sw, "aria-current") != 1 {
			t.Errorf("%s: switcher lacks %q or %q:\n%s", tc.path, tc.want, tc.current, sw)
		}
	}
	// In Danish and Norwegian.
	if r := e.Get(bjorn, e.HTTPURL+grantURL+"?lang=da"); !strings.Contains(r.Text, "<summary>Postkasse: Anna Jensen</summary>") || !strings.Contains(r.Text, ">Min egen postkasse</a>") {
		t.Errorf("the Danish switcher:\n%s", r.Text)
	}
	// Anna, who has no access to another's mailbox, has no switcher.
	if r := e.Get(anna, e.HTTPURL+"/"); strings.Contains(r.Text, "mailbox-switcher") {
		t.Error("a switcher for a resident without access to another's mailbox")
	}
	e.withMailbox(uitest.NIDAnna, func(mb *store.Mailbox) {
		if err := mb.EndGrant(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
	})
	if r := e.Get(bjorn, e.HTTPURL+"/settings"); strings.Contains(r.Text, "mailbox-switcher") {
		t.Error("a switcher after the grant ended")
	}
}
