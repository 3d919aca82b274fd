package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// previewEvent is one thing a retention preview says will happen: a
// warning or a deletion, at a time.
type previewEvent struct {
	at       time.Time
	warning  bool
	deletion PlannedDeletion
}

// previewEvents lists the warnings still to give and the deletions of a
// preview, in time order (a warning before a deletion at the same time).
func previewEvents(p RetentionPreview) []previewEvent {
	var out []previewEvent
	if p.Inactivity != nil {
		for _, w := range p.Inactivity.Warnings {
			if !w.Given {
				out = append(out, previewEvent{at: w.At, warning: true})
			}
		}
	}
	for _, d := range p.Deletions {
		out = append(out, previewEvent{at: d.At, deletion: d})
	}
	slices.SortStableFunc(out, func(a, b previewEvent) int { return a.at.Compare(b.at) })
	return out
}

// checkPreviewAgainstJob walks the clock through what the preview of the
// fixture's resident says and runs the retention job's store calls
// (RetentionDue, ApplyRetention) just before and at each time: just
// before, nothing happens; at it, exactly what the preview said — the
// warning, or the deletion of exactly its letters (and the account, for
// the reason it gave). Before each step the preview, computed again,
// still says the same of what is left.
func checkPreviewAgainstJob(t *testing.T, f *fixture, preview RetentionPreview) {
	t.Helper()
	ctx := context.Background()
	p := DefaultRetentionPolicy()
	events := previewEvents(preview)
	if len(events) == 0 {
		t.Fatal("the preview says nothing will happen")
	}
	for i, ev := range events {
		again, err := f.s.RetentionPreview(ctx, f.resident.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rest := previewEvents(again); !slices.EqualFunc(rest, events[i:], func(a, b previewEvent) bool {
			return a.at.Equal(b.at) && a.warning == b.warning && a.deletion.Account == b.deletion.Account && slices.Equal(a.deletion.Letters, b.deletion.Letters)
		}) {
			t.Fatalf("step %d: the preview computed again says %+v, want %+v", i, rest, events[i:])
		}
		before := mailboxLetters(t, f.s, f.resident.ID)
		if ev.at.After(f.clock.Now()) {
			clockTo(f.clock, ev.at.Add(-time.Second))
			if got, ok := applyDue(t, f.s, p)[f.resident.ID]; ok {
				t.Fatalf("step %d: a second before %s the job did %+v", i, ev.at, got)
			}
			if left := mailboxLetters(t, f.s, f.resident.ID); !slices.Equal(left, before) {
				t.Fatalf("step %d: a second before %s letters went: %v, were %v", i, ev.at, left, before)
			}
		}
		clockTo(f.clock, ev.at)
		got := applyDue(t, f.s, p)[f.resident.ID]
		switch {
		case ev.warning:
			if got.Action != RetentionWarned || !got.DeleteAt.Equal(preview.Inactivity.DeleteAt) {
				t.Fatalf("step %d at %s: %+v, want a warning of the deletion on %s", i, ev.at, got, preview.Inactivity.DeleteAt)
			}
		case ev.deletion.Account:
			if got.Action != RetentionAccountDeleted {
				t.Fatalf("step %d at %s: %+v, want the account deleted", i, ev.at, got)
			}
			st, err := f.s.RetentionState(ctx, f.resident.ID)
			if err != nil || st.DeletedReason != ev.deletion.Reason || !st.Deleted.Equal(ev.at) {
				t.Errorf("step %d: tombstone %+v, %v; want deleted at %s for %s", i, st, err, ev.at, ev.deletion.Reason)
			}
			if left := mailboxLetters(t, f.s, f.resident.ID); len(left) != 0 {
				t.Errorf("step %d: letters left after the account went: %v", i, left)
			}
			if !slices.Equal(sorted(before), sorted(ev.deletion.Letters)) {
				t.Errorf("step %d: the preview named letters %v for the account's deletion; it had %v", i, ev.deletion.Letters, before)
			}
		default:
			if got.Action != RetentionLettersDeleted || got.LettersDeleted != len(ev.deletion.Letters) {
				t.Fatalf("step %d at %s: %+v, want %d letters deleted", i, ev.at, got, len(ev.deletion.Letters))
			}
			left := mailboxLetters(t, f.s, f.resident.ID)
			want := slices.DeleteFunc(slices.Clone(before), func(id string) bool { return slices.Contains(ev.deletion.Letters, id) })
			if !slices.Equal(sorted(left), sorted(want)) {
				t.Errorf("step %d: letters left %v, want %v", i, left, want)
			}
		}
		for _, id := range ev.deletion.Letters {
			if err := f.s.view(ctx, func(tx storage.Tx) error { _, err := tx.Letters().Get(id); return err }); !errors.Is(err, ErrNotFound) {
				t.Errorf("step %d: letter %s the preview named is still there: %v", i, id, err)
			}
		}
		// Nothing more at the same time.
		if again, ok := applyDue(t, f.s, p)[f.resident.ID]; ok {
			t.Errorf("step %d: a second run at %s did %+v", i, ev.at, again)
		}
	}
	if err := f.s.CheckInvariants(ctx); err != nil {
		t.Error(err)
	}
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// TestRetentionPreviewInactivity: the preview of an active resident says
// the account goes five years after the last login with every letter,
// warned 30 and 7 days before, and that after death public letters would
// be kept five years and private ones 15 months; the retention job then
// warns and deletes exactly so.
func TestRetentionPreviewInactivity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	shop := mustSender(t, f.s, "Nordlys Energi A/S", "31572290", SenderPrivate)
	var letters []string
	for i, snd := range []Sender{f.sender, shop, f.sender} {
		r, err := f.s.Deliver(ctx, snd.ID, testDelivery(f.nid, "letter-"+string(rune('a'+i))))
		if err != nil {
			t.Fatal(err)
		}
		letters = append(letters, r.Letter.ID)
	}
	f.clock.Advance(3 * day)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	lastLogin := f.clock.Now()
	preview, err := mb.RetentionPreview(ctx)
	mb.Close()
	if err != nil {
		t.Fatal(err)
	}
	deleteAt := lastLogin.AddDate(5, 0, 0)
	iv := preview.Inactivity
	if iv == nil || !iv.LastLogin.Equal(lastLogin) || !iv.DeleteAt.Equal(deleteAt) || len(iv.Warnings) != 2 ||
		!iv.Warnings[0].At.Equal(deleteAt.AddDate(0, 0, -30)) || !iv.Warnings[1].At.Equal(deleteAt.AddDate(0, 0, -7)) ||
		iv.Warnings[0].Given || iv.Warnings[1].Given {
		t.Fatalf("inactivity preview %+v", iv)
	}
	if preview.Status != ResidentActive || preview.PublicLetters != 2 || preview.PrivateLetters != 1 || !preview.DiedOn.IsZero() ||
		preview.Policy.DeceasedPublic != (Period{Years: 5}) || preview.Policy.DeceasedPrivate != (Period{Months: 15}) {
		t.Errorf("preview %+v", preview)
	}
	if len(preview.Deletions) != 1 || !preview.Deletions[0].Account || preview.Deletions[0].Reason != DeletedForInactivity ||
		!slices.Equal(sorted(preview.Deletions[0].Letters), sorted(letters)) {
		t.Fatalf("deletions %+v", preview.Deletions)
	}
	checkPreviewAgainstJob(t, f, preview)
}

// TestRetentionPreviewAfterDeath: the preview of a deceased resident says
// private letters go 15 months after the date of death and public ones,
// with the account, five years after it; the job deletes exactly those
// letters at exactly those times. One without letters goes at once.
func TestRetentionPreviewAfterDeath(t *testing.T) {
	t.Parallel()
	f, diedOn, public, private := deceasedFixture(t)
	preview, err := f.s.RetentionPreview(context.Background(), f.resident.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []PlannedDeletion{
		{At: diedOn.AddDate(0, 15, 0), Reason: DeletedAfterDeath, Kind: SenderPrivate, Letters: []string{private}},
		{At: diedOn.AddDate(5, 0, 0), Reason: DeletedAfterDeath, Kind: SenderPublic, Letters: []string{public}, Account: true},
	}
	if preview.Inactivity != nil || preview.Status != ResidentDeceased || !preview.DiedOn.Equal(diedOn) || !slices.EqualFunc(preview.Deletions, want, func(a, b PlannedDeletion) bool {
		return a.At.Equal(b.At) && a.Reason == b.Reason && a.Kind == b.Kind && a.Account == b.Account && slices.Equal(a.Letters, b.Letters)
	}) {
		t.Fatalf("preview %+v, want deletions %+v", preview, want)
	}
	checkPreviewAgainstJob(t, f, preview)
	// A deleted account: nothing more to come.
	if gone, err := f.s.RetentionPreview(context.Background(), f.resident.ID); err != nil || gone.Status != ResidentDeleted || len(gone.Deletions) != 0 || gone.Inactivity != nil {
		t.Errorf("preview of a deleted account: %+v, %v", gone, err)
	}

	t.Run("no letters", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		diedOn := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		clockTo(f.clock, diedOn.Add(36*time.Hour))
		if _, err := f.s.RecordDeath(context.Background(), f.nid, diedOn); err != nil {
			t.Fatal(err)
		}
		preview, err := f.s.RetentionPreview(context.Background(), f.resident.ID)
		if err != nil || len(preview.Deletions) != 1 || !preview.Deletions[0].Account || !preview.Deletions[0].At.Equal(f.clock.Now()) {
			t.Fatalf("preview %+v, %v", preview, err)
		}
		checkPreviewAgainstJob(t, f, preview)
	})
}
