package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// TestDelegatedSearch: a delegate's search finds covered letters by
// their words and by the replies that delegate wrote on the grantor's
// behalf, never by the grantor's own replies or another delegate's, and
// never a letter the grant does not cover; a bad query is refused, an
// ended grant finds nothing.
func TestDelegatedSearch(t *testing.T) {
	t.Parallel()
	df := newDelegationFixture(t)
	ctx := df.ctx
	replyKeyFor(t, df.s, df.sender.ID)
	replyKeyFor(t, df.s, df.bank.ID)
	public := df.deliverReplyable(t, df.sender, "hearing-1")
	private := df.deliverReplyable(t, df.bank, "offer-1")
	carlNID := testNID(t, 3)
	mustResident(t, df.s, carlNID, "Carl Carlsen")
	carl := mustLogin(t, df.s, carlNID, testPassword)

	if _, err := df.anna.Reply(ctx, private, ReplyInput{Text: "Der er vandskade i kælderen."}); err != nil {
		t.Fatal(err)
	}
	if _, err := df.anna.Reply(ctx, public, ReplyInput{Text: "Se min vandskade."}); err != nil {
		t.Fatal(err)
	}
	gBo := df.grant(t, storage.AccessAct, storage.ScopeAll, time.Time{})
	gCarl, err := df.anna.GrantAccess(ctx, GrantRequest{DelegateNationalID: carlNID.String(), Access: storage.AccessAct, Scope: storage.ScopePublic})
	if err != nil {
		t.Fatal(err)
	}
	if err := carl.AcceptGrant(ctx, gCarl.ID); err != nil {
		t.Fatal(err)
	}
	bo, err := df.boMailbox.Delegated(ctx, gBo.ID)
	if err != nil {
		t.Fatal(err)
	}
	carlDM, err := carl.Delegated(ctx, gCarl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bo.Reply(ctx, public, ReplyInput{Text: "Tagrenden er løs."}); err != nil {
		t.Fatal(err)
	}
	if _, err := carlDM.Reply(ctx, public, ReplyInput{Text: "Regnvandet løber ind."}); err != nil {
		t.Fatal(err)
	}
	search := func(dm *DelegatedMailbox, q string) []string {
		t.Helper()
		found, err := dm.Search(ctx, q)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		return letterIDs(found)
	}
	for _, tc := range []struct {
		who  string
		dm   *DelegatedMailbox
		q    string
		want []string
	}{
		{"Bo", bo, "tagrende", []string{public}},
		{"Bo", bo, "boligstøtte tagrende", []string{public}},
		{"Bo", bo, "vandskade", nil}, // Anna's own replies
		{"Bo", bo, "regnvand", nil},  // Carl's reply
		{"Carl", carlDM, "regnvand", []string{public}},
		{"Carl", carlDM, "tagrende", nil}, // Bo's reply
	} {
		if got := search(tc.dm, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s searches %q: %v, want %v", tc.who, tc.q, got, tc.want)
		}
	}
	// Carl's grant covers public post only.
	if got := search(carlDM, "boligstøtte"); slices.Contains(got, private) || slices.Contains(got, df.private) || !slices.Contains(got, public) || !slices.Contains(got, df.public) {
		t.Errorf("Carl's search of a public-only grant: %v", got)
	}
	if got := search(bo, "boligstøtte"); len(got) != 4 {
		t.Errorf("Bo's search of an all-post grant: %v", got)
	}
	var invalid *InvalidError
	if _, err := bo.Search(ctx, "  "); !errors.As(err, &invalid) {
		t.Errorf("an empty query: %v", err)
	}
	if err := df.anna.EndGrant(ctx, gBo.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bo.Search(ctx, "tagrende"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after the grant ended: %v", err)
	}
}
