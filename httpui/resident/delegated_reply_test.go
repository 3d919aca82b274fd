package resident_test

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// TestDelegatedReplyPage: Carl, with access "act" to Anna's post, sees a
// reply form on her letter that takes replies (not on one that takes
// none), is told why an empty reply is refused (nothing stored), replies,
// and sees his reply; Anna's letter says Carl wrote it, her access page
// lists replying among the acts and Carl's reply in the activity; Bjørn,
// with read access, has no form. In Danish too.
func TestDelegatedReplyPage(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	ctx := context.Background()
	e.AddReplyKey(e.sendersEnv.public)
	letter := deliverLetter(t, e.Env, e.sendersEnv.public, "hoering-1", true)
	var act, read store.Grant
	e.withMailbox(uitest.NIDAnna, func(mb *store.Mailbox) {
		var err error
		if act, err = mb.GrantAccess(ctx, store.GrantRequest{DelegateNationalID: e.nidCarl, Access: store.AccessAct, Scope: store.ScopeAll}); err != nil {
			t.Fatal(err)
		}
		if read, err = mb.GrantAccess(ctx, store.GrantRequest{DelegateNationalID: uitest.NIDBjorn, Access: store.AccessRead, Scope: store.ScopeAll}); err != nil {
			t.Fatal(err)
		}
	})
	e.withMailbox(e.nidCarl, func(mb *store.Mailbox) {
		if err := mb.AcceptGrant(ctx, act.ID); err != nil {
			t.Fatal(err)
		}
	})
	e.withMailbox(uitest.NIDBjorn, func(mb *store.Mailbox) {
		if err := mb.AcceptGrant(ctx, read.ID); err != nil {
			t.Fatal(err)
		}
	})
	anna, carl, bjorn := e.Browser(), e.Browser(), e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	e.Login(carl, e.HTTPURL, e.nidCarl)
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	base := e.HTTPURL + "/mailboxes/" + act.ID + "/letters/"
	page := html.UnescapeString(e.Get(carl, base+letter).Text)
	for _, want := range []string{`action="/mailboxes/` + act.ID + `/letters/` + letter + `/reply" enctype="multipart/form-data"`,
		"Reply on Anna Jensen's behalf", "the sender is told that you wrote it", `<label for="reply-text">Your message</label>`} {
		if !strings.Contains(page, want) {
			t.Errorf("Carl's view of the letter lacks %q", want)
		}
	}
	if page := e.Get(carl, base+e.public).Text; strings.Contains(page, `id="reply-text"`) {
		t.Error("a reply form on a letter that takes no replies")
	}
	if page := e.Get(bjorn, e.HTTPURL+"/mailboxes/"+read.ID+"/letters/"+letter).Text; strings.Contains(page, `id="reply-text"`) {
		t.Error("a reply form on a read grant")
	}
	threadLen := func() int {
		n := 0
		e.withMailbox(uitest.NIDAnna, func(mb *store.Mailbox) {
			th, err := mb.Thread(ctx, letter)
			if err != nil {
				t.Fatal(err)
			}
			n = len(th.Replies)
		})
		return n
	}
	// Refused: said why, nothing stored.
	if r := postMultipart(e.Env, carl, base+letter+"/reply", "   ", nil); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Text, `id="reply-error"`) || !strings.Contains(r.Text, "Write a message or attach a file. Nothing was sent.") {
		t.Errorf("an empty reply: %d\n%s", r.StatusCode, r.Text)
	}
	if threadLen() != 0 {
		t.Fatal("a refused reply was stored")
	}
	// Sent.
	r := postMultipart(e.Env, carl, base+letter+"/reply", "Anna er enig i afgørelsen.",
		[]uitest.Part{filePart("fuldmagt.pdf", "application/pdf", uitest.PDFDoc)})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/mailboxes/"+act.ID+"/letters/"+letter+"?saved=replied#thread" {
		t.Fatalf("reply: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	page = html.UnescapeString(e.Get(carl, base+letter+"?saved=replied").Text)
	for _, want := range []string{"Your reply has been sent on Anna Jensen's behalf.", "Your reply on Anna Jensen's behalf", "Anna er enig i afgørelsen.", "fuldmagt.pdf"} {
		if !strings.Contains(page, want) {
			t.Errorf("Carl's view after replying lacks %q:\n%s", want, page)
		}
	}
	if threadLen() != 1 {
		t.Fatal("the reply was not stored")
	}
	// Carl downloads his attachment; nobody else does through a grant.
	var replyID string
	e.withMailbox(uitest.NIDAnna, func(mb *store.Mailbox) {
		th, err := mb.Thread(ctx, letter)
		if err != nil {
			t.Fatal(err)
		}
		replyID = th.Replies[0].ID
	})
	attachment := "/mailboxes/" + act.ID + "/replies/" + replyID + "/attachments/0"
	if !strings.Contains(page, `href="`+attachment+`" download`) {
		t.Errorf("Carl's view lacks the download link %s", attachment)
	}
	if r := e.Get(carl, e.HTTPURL+attachment); r.StatusCode != http.StatusOK || r.Text != string(uitest.PDFDoc) ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("Carl's download: %d %q", r.StatusCode, r.Header.Get("Content-Disposition"))
	}
	for _, tc := range []struct {
		who  string
		c    *http.Client
		path string
	}{
		{"Carl, attachment 1", carl, "/mailboxes/" + act.ID + "/replies/" + replyID + "/attachments/1"},
		{"Bjørn, through his grant", bjorn, "/mailboxes/" + read.ID + "/replies/" + replyID + "/attachments/0"},
		{"Bjørn, through Carl's grant", bjorn, attachment},
		{"Anna, through Carl's grant", anna, attachment},
	} {
		if r := e.Get(tc.c, e.HTTPURL+tc.path); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", tc.who, r.StatusCode)
		}
	}
	if r := e.Get(e.Browser(), e.HTTPURL+attachment); r.StatusCode != http.StatusSeeOther {
		t.Errorf("signed out: %d", r.StatusCode)
	}
	// Anna sees who wrote it, and what Carl may do and did.
	page = html.UnescapeString(e.Get(anna, e.HTTPURL+"/letters/"+letter).Text)
	if !strings.Contains(page, "Reply written on your behalf by Carl Carlsen") || !strings.Contains(page, "Anna er enig i afgørelsen.") {
		t.Errorf("Anna's letter lacks Carl's reply:\n%s", page)
	}
	page = html.UnescapeString(e.Get(anna, e.HTTPURL+"/settings/access").Text)
	for _, want := range []string{"Read and handle letters", "replying on your behalf to letters that can be replied to", "Carl Carlsen replied to a letter on your behalf"} {
		if !strings.Contains(page, want) {
			t.Errorf("Anna's access page lacks %q", want)
		}
	}
	// Bjørn's view of the letter shows no reply of Carl's (he has no
	// copy of its key, and it is not his).
	if page := e.Get(bjorn, e.HTTPURL+"/mailboxes/"+read.ID+"/letters/"+letter).Text; strings.Contains(page, "enig i afgørelsen") {
		t.Error("another delegate sees Carl's reply")
	}
	// In Danish.
	if page := html.UnescapeString(e.Get(anna, e.HTTPURL+"/letters/"+letter+"?lang=da").Text); !strings.Contains(page, "Svar skrevet på dine vegne af Carl Carlsen") {
		t.Errorf("the Danish thread:\n%s", page)
	}
	if page := html.UnescapeString(e.Get(carl, base+letter+"?lang=da").Text); !strings.Contains(page, "Svar på vegne af Anna Jensen") {
		t.Errorf("Carl's Danish view:\n%s", page)
	}
}
