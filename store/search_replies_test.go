package store

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// TestSearchReplies: a search finds a letter by the text of a reply to
// it, the resident's own or one a delegate wrote on their behalf, also
// with the other words in the letter itself, and shows the reply's
// words; a message (no letter) finds nothing, and neither does another
// resident's search, nor a word in no reply; a reply written after the
// letter was indexed is found at once.
func TestSearchReplies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	df := newDelegationFixture(t)
	replyKeyFor(t, df.s, df.sender.ID)
	letter := df.deliverReplyable(t, df.sender, "hearing-1")
	if err := df.s.SetSenderAcceptsMessages(ctx, df.sender.ID, true); err != nil {
		t.Fatal(err)
	}
	search := func(mb *Mailbox, q string) SearchResult {
		t.Helper()
		res, err := mb.Search(ctx, SearchQuery{Text: q, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// Indexed before any reply.
	if res := search(df.anna, "kloakledning"); len(res.Hits) != 0 {
		t.Fatalf("found before the reply: %+v", res.Hits)
	}
	df.clock.Advance(time.Minute)
	if _, err := df.anna.Reply(ctx, letter, ReplyInput{Text: "Kloakledningen er utæt ved skellet."}); err != nil {
		t.Fatal(err)
	}
	if _, err := df.anna.SendMessage(ctx, df.sender.ID, ReplyInput{Text: "Spørgsmål om renovation."}); err != nil {
		t.Fatal(err)
	}
	res := search(df.anna, "kloakledning")
	if len(res.Hits) != 1 || res.Hits[0].ID != letter || res.Hits[0].Fields != FieldReply || len(res.Hits[0].ReplySnippet) == 0 {
		t.Fatalf("a search for the reply's word: %+v", res.Hits)
	}
	marked := ""
	for _, p := range res.Hits[0].ReplySnippet {
		if p.Mark {
			marked += p.Text
		}
	}
	if marked != "Kloakledningen" {
		t.Errorf("the reply's snippet marks %q", marked)
	}
	// A word of the letter and a word of the reply: the letter.
	if res := search(df.anna, "boligstøtte skellet"); len(res.Hits) != 1 || res.Hits[0].Fields&(FieldReply|FieldSubject) != FieldReply|FieldSubject {
		t.Errorf("a word of the letter and one of the reply: %+v", res.Hits)
	}
	for _, q := range []string{"renovation", "kloakledning vandmåler"} {
		if res := search(df.anna, q); len(res.Hits) != 0 {
			t.Errorf("%q finds %+v", q, res.Hits)
		}
	}
	// Bo's own mailbox knows nothing of Anna's replies.
	if res := search(df.boMailbox, "kloakledning"); len(res.Hits) != 0 {
		t.Errorf("another resident finds %+v", res.Hits)
	}
	// A reply Bo writes on Anna's behalf: Anna finds the letter by it.
	g := df.grant(t, "act", "all", time.Time{})
	dm, err := df.boMailbox.Delegated(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dm.Reply(ctx, letter, ReplyInput{Text: "Vedlagt tilstandsrapport."}); err != nil {
		t.Fatal(err)
	}
	if res := search(df.anna, "tilstandsrapport"); len(res.Hits) != 1 || res.Hits[0].ID != letter {
		t.Errorf("a delegate's reply: %+v", res.Hits)
	}
	if res := search(df.boMailbox, "tilstandsrapport"); len(res.Hits) != 0 {
		t.Errorf("the delegate's own search finds the grantor's letter: %+v", res.Hits)
	}
}

// BenchmarkSearchWithReplies measures a search of a mailbox of 200
// letters that take replies, with none or 200 of the resident's replies:
// each search opens every reply (docs/PERFORMANCE.md).
func BenchmarkSearchWithReplies(b *testing.B) {
	for _, replies := range []int{0, 200} {
		b.Run(strconv.Itoa(replies)+"-replies", func(b *testing.B) {
			ctx := context.Background()
			f := newFixture(b)
			replyKeyFor(b, f.s, f.sender.ID)
			mb := mustLogin(b, f.s, f.nid, testPassword)
			for i := range 200 {
				d := testDelivery(f.nid, "r-"+strconv.Itoa(i))
				d.ReplyAllowed = true
				res, err := f.s.Deliver(ctx, f.sender.ID, d)
				if err != nil {
					b.Fatal(err)
				}
				if i < replies {
					if _, err := mb.Reply(ctx, res.Letter.ID, ReplyInput{Text: "Svar nummer " + strconv.Itoa(i) + " om kloakledningen."}); err != nil {
						b.Fatal(err)
					}
				}
			}
			if _, err := mb.Search(ctx, SearchQuery{Text: "boligstøtte", Limit: 10}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := mb.Search(ctx, SearchQuery{Text: "boligstøtte", Limit: 10}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
