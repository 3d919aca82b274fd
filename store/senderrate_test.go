package store

import (
	"context"
	"errors"
	"math"
	"testing"
)

// TestSetSenderRate: a sender's own rate is kept in its record (both
// engines), read back with it, and changes no other sender; both zero is
// the default again.
func TestSetSenderRate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTestStore(t, testOptions(newFakeClock()))
	a := mustSender(t, s, "Aarhus Kommune", "55133018", SenderPublic)
	b := mustSender(t, s, "Region Midtjylland", "29190925", SenderPublic)
	if rate, burst := SenderRate(a, DefaultSenderRate, DefaultSenderBurst); rate != DefaultSenderRate || burst != DefaultSenderBurst {
		t.Fatalf("a new sender's rate %v burst %d, want the default", rate, burst)
	}
	got, err := s.SetSenderRate(ctx, a.ID, 1000, 2500)
	if err != nil || got.APIRate != 1000 || got.APIBurst != 2500 {
		t.Fatalf("SetSenderRate = %+v, %v", got, err)
	}
	for _, byOrg := range []bool{false, true} {
		var read Sender
		if byOrg {
			read, err = s.SenderByOrgNumber(ctx, a.OrgNumber)
		} else {
			read, err = s.Sender(ctx, a.ID)
		}
		if err != nil {
			t.Fatal(err)
		}
		if rate, burst := SenderRate(read, DefaultSenderRate, DefaultSenderBurst); rate != 1000 || burst != 2500 {
			t.Errorf("read back: rate %v burst %d", rate, burst)
		}
	}
	other, err := s.Sender(ctx, b.ID)
	if err != nil || other.APIRate != 0 || other.APIBurst != 0 {
		t.Errorf("the other sender: %+v, %v", other, err)
	}
	if got, err = s.SetSenderRate(ctx, a.ID, 0, 0); err != nil || got.APIRate != 0 || got.APIBurst != 0 {
		t.Errorf("back to the default: %+v, %v", got, err)
	}
}

// TestSetSenderRateRefused: a rate or burst out of bounds is refused
// naming the field, and so is a revoked or unknown sender; nothing
// changes.
func TestSetSenderRateRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTestStore(t, testOptions(newFakeClock()))
	a := mustSender(t, s, "Aarhus Kommune", "55133018", SenderPublic)
	gone := mustSender(t, s, "Gammel Kommune", "29190925", SenderPublic)
	if err := s.RevokeSender(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	before := digest(t, s)
	for _, tt := range []struct {
		name  string
		rate  float64
		burst int
		field string
	}{
		{"rate without burst", 10, 0, "burst"},
		{"burst without rate", 0, 10, "rate"},
		{"negative rate", -1, 10, "rate"},
		{"rate below one a minute", 0.01, 10, "rate"},
		{"rate too high", MaxSenderRate + 1, 10, "rate"},
		{"rate not a number", math.NaN(), 10, "rate"},
		{"rate infinite", math.Inf(1), 10, "rate"},
		{"negative burst", 10, -1, "burst"},
		{"burst too high", 10, MaxSenderBurst + 1, "burst"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SetSenderRate(ctx, a.ID, tt.rate, tt.burst)
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != tt.field {
				t.Errorf("SetSenderRate(%v, %d): %v, want an InvalidError for %s", tt.rate, tt.burst, err, tt.field)
			}
		})
	}
	if _, err := s.SetSenderRate(ctx, gone.ID, 10, 10); !errors.Is(err, ErrSenderRevoked) {
		t.Errorf("revoked sender: %v", err)
	}
	if _, err := s.SetSenderRate(ctx, "00000000000000000000000000000000", 10, 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown sender: %v", err)
	}
	if digest(t, s) != before {
		t.Error("a refused rate changed the database")
	}
}
