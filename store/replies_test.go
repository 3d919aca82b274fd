package store

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// replyFixture is a fixture whose sender has a reply key, with a letter
// that takes replies delivered to the resident.
type replyFixture struct {
	*fixture
	senderKey *crypto.PrivateKey
	letterID  string
}

func newReplyFixture(t *testing.T) *replyFixture {
	t.Helper()
	f := &replyFixture{fixture: newFixture(t)}
	k, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.senderKey, err = crypto.NewReplyPrivateKey(k.RawX25519())
	if err != nil {
		t.Fatal(err)
	}
	pub := f.senderKey.Public()
	if err := f.s.SetSenderReplyKey(context.Background(), f.sender.ID, pub[:], true); err != nil {
		t.Fatal(err)
	}
	d := testDelivery(f.nid, "reply-1")
	d.ReplyAllowed = true
	res, err := f.s.Deliver(context.Background(), f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	f.letterID = res.Letter.ID
	return f
}

func countReplies(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	if err := s.view(context.Background(), func(tx storage.Tx) error {
		return tx.Replies().All(func(*storage.Reply) error { n++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReply: a reply is stored sealed, with the sender's "reply" event
// naming it and an audit entry; the sender (and no other) fetches it and
// opens it with its key; the resident sees it in the letter's thread,
// with the sender's answer, and opens its attachment.
func TestReply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newReplyFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	f.clock.Advance(time.Minute)
	id, err := mb.Reply(ctx, f.letterID, ReplyInput{Text: "  Tak. Jeg klager over afgørelsen.\r\n  ",
		Attachments: []DocumentInput{{Name: "klage.txt", ContentType: "text/plain", Content: []byte("Min klage")}}})
	if err != nil {
		t.Fatal(err)
	}
	evs, _, err := f.s.Events(ctx, f.sender.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Type != EventReply || last.ReplyID != id || last.LetterID != f.letterID || last.SenderReference != "reply-1" {
		t.Errorf("event %+v", last)
	}
	if j := EventJSONOf(last); j.ReplyID != id {
		t.Errorf("event JSON %+v", j)
	}
	if a := auditActions(t, f.s); a[len(a)-1] != "reply" {
		t.Errorf("audit %v", a)
	}
	got, err := f.s.SealedReply(ctx, f.sender.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.ResidentKey != nil || got.ResidentID != f.resident.ID || got.LetterID != f.letterID {
		t.Errorf("sealed reply %+v", got)
	}
	opened, err := f.senderKey.OpenReply(got.Sealed, crypto.ReplyBinding{ReplyID: id, SenderID: f.sender.ID, ResidentID: f.resident.ID})
	if err != nil || opened.Text != "Tak. Jeg klager over afgørelsen." || len(opened.Attachments) != 1 ||
		opened.Attachments[0].Name != "klage.txt" || string(opened.Attachments[0].Content) != "Min klage" {
		t.Fatalf("the sender opens %+v, %v", opened, err)
	}
	other := mustSender(t, f.s, "Region Midtjylland", "29190925", SenderPublic)
	if _, err := f.s.SealedReply(ctx, other.ID, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("another sender fetches the reply: %v", err)
	}
	if _, err := f.s.SealedReply(ctx, f.sender.ID, "no-such-reply"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown reply: %v", err)
	}

	// The sender answers; the answer is a letter of the thread.
	f.clock.Advance(time.Minute)
	ans := testDelivery(f.nid, "answer-1")
	ans.Subject, ans.InReplyTo = "Svar på din klage", id
	res, err := f.s.Deliver(ctx, f.sender.ID, ans)
	if err != nil {
		t.Fatal(err)
	}
	th, err := mb.Thread(ctx, f.letterID)
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Replies) != 1 || th.Replies[0].ID != id || th.Replies[0].Text != "Tak. Jeg klager over afgørelsen." ||
		len(th.Replies[0].Attachments) != 1 || th.Replies[0].Attachments[0].Name != "klage.txt" ||
		!slices.Equal(th.Replies[0].Answers, []string{res.Letter.ID}) {
		t.Errorf("thread replies %+v", th.Replies)
	}
	if len(th.Answers) != 1 || th.Answers[0].ID != res.Letter.ID || th.Answers[0].Subject != "Svar på din klage" {
		t.Errorf("thread answers %+v", th.Answers)
	}
	if rec := rawLetter(t, f.s, res.Letter.ID); rec.InReplyTo != id {
		t.Errorf("answer's InReplyTo %q", rec.InReplyTo)
	}
	// The answer's receipt covers the reply it answers (content hash
	// version 3), and the export carries it so the receipt verifies there.
	noReply := ans
	noReply.InReplyTo = ""
	if p, err := f.s.VerifyReceipt(res.Receipt); err != nil || p.ContentHash != ContentHash(&ans) || p.ContentHash == ContentHash(&noReply) {
		t.Errorf("answer's receipt hash %+v, %v: want one that covers inReplyTo", p, err)
	}
	archive, _ := exportOf(t, mb)
	ex, err := openExportBytes(archive)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := ex.Verify(); err != nil || rep.Letters != 2 {
		t.Errorf("export with an answer: %+v, %v", rep, err)
	}
	for _, l := range ex.Manifest.Letters {
		if want := map[bool]string{true: id}[l.ID == res.Letter.ID]; l.InReplyTo != want {
			t.Errorf("exported letter %s inReplyTo %q, want %q", l.ID, l.InReplyTo, want)
		}
	}
	a, err := mb.ReplyAttachment(ctx, id, 0)
	if err != nil || string(a.Content) != "Min klage" {
		t.Fatalf("attachment %+v, %v", a, err)
	}
	if _, err := mb.ReplyAttachment(ctx, id, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("attachment 1: %v", err)
	}

	// Another resident can neither reply to the letter nor see its
	// replies, and an answer naming the reply cannot go to them.
	nid2 := testNID(t, 2)
	mustResident(t, f.s, nid2, "Bo Bendtsen")
	mb2 := mustLogin(t, f.s, nid2, testPassword)
	if _, err := mb2.Reply(ctx, f.letterID, ReplyInput{Text: "hej"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident replies: %v", err)
	}
	if _, err := mb2.Thread(ctx, f.letterID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident's thread: %v", err)
	}
	if _, err := mb2.ReplyAttachment(ctx, id, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident's attachment: %v", err)
	}
	n := countReplies(t, f.s)
	for name, c := range map[string]struct {
		sender string
		nid    NationalID
		reply  string
	}{
		"another recipient": {f.sender.ID, nid2, id},
		"another sender":    {other.ID, f.nid, id},
		"no such reply":     {f.sender.ID, f.nid, "no-such-reply"},
	} {
		d := testDelivery(c.nid, "bad-answer-"+name)
		d.InReplyTo = c.reply
		var inv *InvalidError
		if _, err := f.s.Deliver(ctx, c.sender, d); !errors.As(err, &inv) || inv.Field != "inReplyTo" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if countReplies(t, f.s) != n {
		t.Error("a refused answer changed the replies")
	}
}

// TestReplyRefusals: a reply to a letter that takes none, or with bad
// text or files, is refused and stores nothing; a letter with
// replyAllowed from a sender without a reply key is refused.
func TestReplyRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newReplyFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	plain, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "no-reply"))
	if err != nil {
		t.Fatal(err)
	}
	six := make([]DocumentInput, 6)
	for i := range six {
		six[i] = DocumentInput{Name: "a.txt", ContentType: "text/plain", Content: []byte("a")}
	}
	before := countReplies(t, f.s)
	audit := len(auditActions(t, f.s))
	for name, c := range map[string]struct {
		letter string
		in     ReplyInput
		want   error
	}{
		"a letter without replyAllowed": {plain.Letter.ID, ReplyInput{Text: "hej"}, ErrReplyNotAllowed},
		"an unknown letter":             {"no-such-letter", ReplyInput{Text: "hej"}, ErrNotFound},
		"empty":                         {f.letterID, ReplyInput{Text: " \n "}, nil},
		"six attachments":               {f.letterID, ReplyInput{Text: "hej", Attachments: six}, nil},
		"a type not taken":              {f.letterID, ReplyInput{Text: "hej", Attachments: []DocumentInput{{Name: "x.exe", ContentType: "application/octet-stream", Content: []byte("MZ")}}}, ErrUnsupportedDocumentType},
		"content not its type":          {f.letterID, ReplyInput{Text: "hej", Attachments: []DocumentInput{{Name: "x.pdf", ContentType: "application/pdf", Content: []byte("not a pdf")}}}, ErrUnsupportedDocumentType},
		"text too long":                 {f.letterID, ReplyInput{Text: string(make([]byte, 0)) + longText(20_000)}, nil},
		"a bidi control":                {f.letterID, ReplyInput{Text: "hej \u202e"}, nil},
	} {
		_, err := mb.Reply(ctx, c.letter, c.in)
		var inv *InvalidError
		if c.want == nil && !errors.As(err, &inv) || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if countReplies(t, f.s) != before || len(auditActions(t, f.s)) != audit {
		t.Error("a refused reply stored something")
	}

	// A sender without a reply key cannot offer replies.
	other := mustSender(t, f.s, "Region Midtjylland", "29190925", SenderPublic)
	d := testDelivery(f.nid, "no-key")
	d.ReplyAllowed = true
	var inv *InvalidError
	if _, err := f.s.Deliver(ctx, other.ID, d); !errors.As(err, &inv) || inv.Field != "replyAllowed" || !errors.Is(err, ErrNoReplyKey) {
		t.Errorf("replyAllowed without a reply key: %v", err)
	}
	// A reply key must be an X25519 key.
	for name, k := range map[string][]byte{"short": make([]byte, 31), "low order": make([]byte, 32)} {
		if err := f.s.SetSenderReplyKey(ctx, other.ID, k, false); !errors.As(err, &inv) || inv.Field != "publicKey" {
			t.Errorf("%s key: %v", name, err)
		}
	}
	if _, err := f.s.SenderReplyKey(ctx, other.ID); !errors.Is(err, ErrNoReplyKey) {
		t.Errorf("a refused key was stored: %v", err)
	}
}

func longText(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}

// TestRepliesDeleted: a letter's replies go with the letter, and with the
// account (crypto-shredding: no copy of their key or bytes stays).
func TestRepliesDeleted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newReplyFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	id, err := mb.Reply(ctx, f.letterID, ReplyInput{Text: "første"})
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.DeleteLetters(ctx, []string{f.letterID}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SealedReply(ctx, f.sender.ID, id); !errors.Is(err, ErrNotFound) || countReplies(t, f.s) != 0 {
		t.Errorf("the reply outlived its letter: %v", err)
	}
	d := testDelivery(f.nid, "reply-2")
	d.ReplyAllowed = true
	res, err := f.s.Deliver(ctx, f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Reply(ctx, res.Letter.ID, ReplyInput{Text: "anden"}); err != nil {
		t.Fatal(err)
	}
	if err := mb.DeleteMailbox(ctx, testPassword); err != nil {
		t.Fatal(err)
	}
	if n := countReplies(t, f.s); n != 0 {
		t.Errorf("%d replies outlived the account", n)
	}
}

// TestMessages: a resident starts a conversation with a sender that
// accepts messages (the operator's flag, which needs a reply key): the
// message is sealed like a reply, a "message" event names it, the sender
// opens it and answers it; the resident sees it with the answer.
// A sender that accepts none is refused and nothing is stored; another
// resident sees nothing of it; the account's deletion takes it.
func TestMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newReplyFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	other := mustSender(t, f.s, "Region Midtjylland", "29190925", SenderPublic)
	if err := f.s.SetSenderAcceptsMessages(ctx, other.ID, true); !errors.Is(err, ErrNoReplyKey) {
		t.Errorf("accepting messages without a reply key: %v", err)
	}
	before := countReplies(t, f.s)
	for name, id := range map[string]string{"not accepting": f.sender.ID, "unknown": "no-such-sender", "without a key": other.ID} {
		if _, err := mb.SendMessage(ctx, id, ReplyInput{Text: "Hej"}); !errors.Is(err, ErrNoMessages) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got, err := mb.MessageSenders(ctx); err != nil || len(got) != 0 {
		t.Errorf("senders accepting messages: %+v, %v", got, err)
	}
	if err := f.s.SetSenderAcceptsMessages(ctx, f.sender.ID, true); err != nil {
		t.Fatal(err)
	}
	if got, err := mb.MessageSenders(ctx); err != nil || len(got) != 1 || got[0].ID != f.sender.ID {
		t.Errorf("senders accepting messages: %+v, %v", got, err)
	}
	if _, err := mb.SendMessage(ctx, f.sender.ID, ReplyInput{Text: " "}); err == nil {
		t.Error("an empty message was sent")
	}
	if countReplies(t, f.s) != before {
		t.Fatal("a refused message was stored")
	}
	f.clock.Advance(time.Minute)
	id, err := mb.SendMessage(ctx, f.sender.ID, ReplyInput{Text: "Hvornår tømmes min skraldespand?"})
	if err != nil {
		t.Fatal(err)
	}
	evs, _, err := f.s.Events(ctx, f.sender.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; last.Type != EventMessage || last.ReplyID != id || last.LetterID != "" {
		t.Errorf("event %+v", last)
	}
	got, err := f.s.SealedReply(ctx, f.sender.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := f.senderKey.OpenReply(got.Sealed, crypto.ReplyBinding{ReplyID: id, SenderID: f.sender.ID, ResidentID: f.resident.ID})
	if err != nil || opened.Text != "Hvornår tømmes min skraldespand?" {
		t.Fatalf("the sender opens %+v, %v", opened, err)
	}
	ans := testDelivery(f.nid, "svar-skrald")
	ans.Subject, ans.InReplyTo = "Tømning af skraldespande", id
	if _, err := f.s.Deliver(ctx, f.sender.ID, ans); err != nil {
		t.Fatal(err)
	}
	msgs, err := mb.Messages(ctx)
	if err != nil || len(msgs) != 1 || msgs[0].ID != id || msgs[0].Text != "Hvornår tømmes min skraldespand?" ||
		msgs[0].SenderName != "Aarhus Kommune" || len(msgs[0].Answers) != 1 || msgs[0].Answers[0].Subject != "Tømning af skraldespande" {
		t.Fatalf("messages: %+v, %v", msgs, err)
	}
	if a := auditActions(t, f.s); !slices.Contains(a, "message") || !slices.Contains(a, "accept-messages") {
		t.Errorf("audit %v", a)
	}

	nid2 := testNID(t, 2)
	mustResident(t, f.s, nid2, "Bo Bendtsen")
	mb2 := mustLogin(t, f.s, nid2, testPassword)
	if msgs, err := mb2.Messages(ctx); err != nil || len(msgs) != 0 {
		t.Errorf("another resident's messages: %+v, %v", msgs, err)
	}
	if err := f.s.SetSenderAcceptsMessages(ctx, f.sender.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.SendMessage(ctx, f.sender.ID, ReplyInput{Text: "Igen"}); !errors.Is(err, ErrNoMessages) {
		t.Errorf("after the sender stopped accepting messages: %v", err)
	}
	if msgs, err := mb.Messages(ctx); err != nil || len(msgs) != 1 {
		t.Errorf("the sent message went when the sender stopped: %+v, %v", msgs, err)
	}
	if err := mb.DeleteMailbox(ctx, testPassword); err != nil {
		t.Fatal(err)
	}
	if n := countReplies(t, f.s); n != 0 {
		t.Errorf("%d messages outlived the account", n)
	}
}
