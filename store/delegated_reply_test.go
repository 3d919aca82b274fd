package store

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// replyKeyFor gives a sender a reply key and returns its private key.
func replyKeyFor(t testing.TB, s *Store, senderID string) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := crypto.NewReplyPrivateKey(k.RawX25519())
	if err != nil {
		t.Fatal(err)
	}
	pub := priv.Public()
	if err := s.SetSenderReplyKey(context.Background(), senderID, pub[:], true); err != nil {
		t.Fatal(err)
	}
	return priv
}

// deliverReplyable delivers Anna a letter that takes replies.
func (df *delegationFixture) deliverReplyable(t *testing.T, from Sender, ref string) string {
	t.Helper()
	d := testDelivery(df.nid, ref)
	d.ReplyAllowed = true
	r, err := df.s.Deliver(df.ctx, from.ID, d)
	if err != nil {
		t.Fatalf("Deliver %s: %v", ref, err)
	}
	return r.Letter.ID
}

// TestDelegatedReply: Bo, with access "act" to all of Anna's post,
// replies on her behalf to a letter that takes replies. The reply is
// Anna's (in her thread, opened with her key, saying Bo wrote it), sealed
// to the sender, who opens it for Anna's id; Bo reads it with his copy of
// its key; the event, the audit entry and Anna's activity view say Bo
// wrote it. A letter that takes no replies is refused; ending the grant
// removes Bo's copy of the key.
func TestDelegatedReply(t *testing.T) {
	t.Parallel()
	df := newDelegationFixture(t)
	ctx := df.ctx
	senderKey := replyKeyFor(t, df.s, df.sender.ID)
	letter := df.deliverReplyable(t, df.sender, "hearing-1")
	g := df.grant(t, storage.AccessAct, storage.ScopeAll, time.Time{})
	dm, err := df.boMailbox.Delegated(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	df.clock.Advance(time.Minute)
	id, err := dm.Reply(ctx, letter, ReplyInput{Text: "Min mor er enig.", Attachments: []DocumentInput{{Name: "fuldmagt.txt", ContentType: "text/plain", Content: []byte("Fuldmagt")}}})
	if err != nil {
		t.Fatal(err)
	}
	var rec *storage.Reply
	if err := df.s.view(ctx, func(tx storage.Tx) error {
		var err error
		rec, err = tx.Replies().Get(id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if rec.ResidentID != df.resident.ID || rec.WrittenBy != df.bo.ID || rec.DelegationID != g.ID || len(rec.DelegateKey) == 0 || rec.LetterID != letter {
		t.Errorf("the reply's record: resident %s, written by %s, grant %s, delegate key %d bytes", rec.ResidentID, rec.WrittenBy, rec.DelegationID, len(rec.DelegateKey))
	}
	// The sender opens it as Anna's.
	sealed, err := df.s.SealedReply(ctx, df.sender.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if opened, err := senderKey.OpenReply(sealed.Sealed, crypto.ReplyBinding{ReplyID: id, SenderID: df.sender.ID, ResidentID: df.resident.ID}); err != nil || opened.Text != "Min mor er enig." {
		t.Fatalf("the sender opens %+v, %v", opened, err)
	}
	// The event says who wrote it.
	evs, _, err := df.s.Events(ctx, df.sender.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Type != EventReply || last.ReplyID != id || last.WrittenBy == nil || *last.WrittenBy != (storage.Deputy{Name: "Bo Berg", Role: "delegate"}) {
		t.Errorf("event %+v", last)
	}
	if j := EventJSONOf(last); j.WrittenBy == nil || j.WrittenBy.Name != "Bo Berg" || j.WrittenBy.Role != "delegate" {
		t.Errorf("event JSON %+v", j)
	}
	// The audit entry, and Anna's activity view.
	log, err := df.s.AuditLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e := log[len(log)-1]; e.Action != "delegate-reply" || e.Actor != "resident:"+df.bo.ID || e.Object != "letter:"+letter ||
		!strings.HasPrefix(e.Detail, "grantor:"+df.resident.ID+" delegation:"+g.ID+" reply "+id) {
		t.Errorf("audit entry %+v", e)
	}
	act, err := df.anna.DelegateActivity(ctx)
	if err != nil || len(act) == 0 || act[len(act)-1].Action != "delegate-reply" {
		t.Errorf("Anna's activity %+v, %v", act, err)
	}
	// Anna's thread: her reply, written by Bo.
	th, err := df.anna.Thread(ctx, letter)
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Replies) != 1 || th.Replies[0].ID != id || th.Replies[0].Text != "Min mor er enig." || !th.Replies[0].OnBehalf || th.Replies[0].WrittenBy != "Bo Berg" {
		t.Errorf("Anna's thread %+v", th.Replies)
	}
	// Bo's view of it, with his copy of the key; Anna's own reply is not
	// in it (Bo has no copy of its key).
	df.clock.Advance(time.Minute)
	annas, err := df.anna.Reply(ctx, letter, ReplyInput{Text: "Og jeg selv.", Attachments: []DocumentInput{{Name: "mit.txt", ContentType: "text/plain", Content: []byte("Mit")}}})
	if err != nil {
		t.Fatal(err)
	}
	// Bo downloads his attachment, not Anna's.
	if a, err := dm.ReplyAttachment(ctx, id, 0); err != nil || string(a.Content) != "Fuldmagt" || a.Name != "fuldmagt.txt" {
		t.Errorf("Bo's attachment: %+v, %v", a, err)
	}
	for name, c := range map[string]struct {
		id string
		n  int
	}{"no such attachment": {id, 1}, "Anna's reply": {annas, 0}, "no such reply": {"no-such-reply", 0}} {
		if _, err := dm.ReplyAttachment(ctx, c.id, c.n); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	bos, err := dm.Thread(ctx, letter)
	if err != nil || len(bos) != 1 || bos[0].ID != id || bos[0].Text != "Min mor er enig." || len(bos[0].Attachments) != 1 {
		t.Errorf("Bo's thread %+v, %v", bos, err)
	}
	// A letter that takes no replies.
	n := countReplies(t, df.s)
	if _, err := dm.Reply(ctx, df.public, ReplyInput{Text: "Hej"}); !errors.Is(err, ErrReplyNotAllowed) {
		t.Errorf("a reply to a letter that takes none: %v", err)
	}
	if countReplies(t, df.s) != n {
		t.Error("a refused reply was stored")
	}
	// Ending the grant removes Bo's copy of the key.
	if err := df.anna.EndGrant(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := df.s.view(ctx, func(tx storage.Tx) error {
		var err error
		rec, err = tx.Replies().Get(id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if rec.DelegateKey != nil || rec.WrittenBy != df.bo.ID {
		t.Errorf("after the grant ended: delegate key %d bytes, written by %q", len(rec.DelegateKey), rec.WrittenBy)
	}
	if _, err := dm.Reply(ctx, letter, ReplyInput{Text: "Igen"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a reply after the grant ended: %v", err)
	}
	if _, err := dm.ReplyAttachment(ctx, id, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("an attachment after the grant ended: %v", err)
	}
	if th, err := df.anna.Thread(ctx, letter); err != nil || len(th.Replies) != 2 || th.Replies[0].WrittenBy != "Bo Berg" {
		t.Errorf("Anna's thread after the grant ended %+v, %v", th.Replies, err)
	}
}

// TestDelegatedReplyRefused: a read grant, a public-only grant on a
// private sender's letter, and a grant past its last day are refused, and
// nothing is stored.
func TestDelegatedReplyRefused(t *testing.T) {
	t.Parallel()
	df := newDelegationFixture(t)
	ctx := df.ctx
	replyKeyFor(t, df.s, df.sender.ID)
	replyKeyFor(t, df.s, df.bank.ID)
	public := df.deliverReplyable(t, df.sender, "hearing-1")
	private := df.deliverReplyable(t, df.bank, "invoice-1")
	for _, tc := range []struct {
		name   string
		access storage.DelegationAccess
		scope  storage.DelegationScope
		letter string
		after  time.Duration
		want   error
	}{
		{"read grant", storage.AccessRead, storage.ScopeAll, public, 0, ErrDelegationReadOnly},
		{"public-only grant, private post", storage.AccessAct, storage.ScopePublic, private, 0, ErrNotFound},
		{"past its last day", storage.AccessAct, storage.ScopeAll, public, 49 * time.Hour, ErrNotFound},
	} {
		until := time.Time{}
		if tc.after > 0 {
			until = df.clock.Now()
		}
		g := df.grant(t, tc.access, tc.scope, until)
		dm, err := df.boMailbox.Delegated(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		df.clock.Advance(tc.after)
		n, events := countReplies(t, df.s), len(auditActions(t, df.s))
		if _, err := dm.Reply(ctx, tc.letter, ReplyInput{Text: "Hej"}); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if countReplies(t, df.s) != n || len(auditActions(t, df.s)) != events {
			t.Errorf("%s: something was stored", tc.name)
		}
		if tc.after == 0 {
			if err := df.anna.EndGrant(ctx, g.ID); err != nil {
				t.Fatal(err)
			}
		} else if _, err := df.s.EndExpiredDelegations(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
