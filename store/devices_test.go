package store

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const (
	firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	iphoneUA  = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)

// loginFrom signs nid in from a device and opens the session.
func loginFrom(t *testing.T, s *Store, nid NationalID, dev Device) (string, *Mailbox) {
	t.Helper()
	ctx := WithDevice(context.Background(), dev)
	sess, err := s.Login(ctx, nid.String(), testPassword)
	if err != nil {
		t.Fatalf("Login(%s): %v", nid, err)
	}
	mb, err := s.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	t.Cleanup(mb.Close)
	return sess.Token, mb
}

// opens reports whether a session token still opens its mailbox.
func opens(t *testing.T, s *Store, token string) bool {
	t.Helper()
	mb, err := s.OpenSession(context.Background(), token)
	if errors.Is(err, ErrSessionExpired) {
		return false
	} else if err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	mb.Close()
	return true
}

// TestSessionsList: a resident's sessions are listed with the device each
// signed in from (User-Agent, address), when it started and was last seen,
// this device first and marked; another resident's are not, nor one idle
// past the idle time.
func TestSessionsList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	bo := testNID(t, 2)
	mustResident(t, f.s, bo, "Bo Berg")

	phoneToken, phone := loginFrom(t, f.s, f.nid, Device{UserAgent: iphoneUA, Address: "198.51.100.4"})
	start := f.clock.Now()
	f.clock.Advance(5 * time.Minute)
	laptopToken, laptop := loginFrom(t, f.s, f.nid, Device{UserAgent: firefoxUA, Address: "2001:db8:1::/64"})
	loginFrom(t, f.s, bo, Device{UserAgent: firefoxUA, Address: "203.0.113.9"})
	f.clock.Advance(2 * time.Minute)
	if !opens(t, f.s, phoneToken) {
		t.Fatal("the phone's session does not open")
	}

	list, err := laptop.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("Sessions = %+v; want Anna's two", list)
	}
	if l := list[0]; !l.Current || l.UserAgent != firefoxUA || l.Address != "2001:db8:1::/64" || !l.Created.Equal(start.Add(5*time.Minute)) {
		t.Errorf("this device: %+v", l)
	}
	if l := list[1]; l.Current || l.UserAgent != iphoneUA || l.Address != "198.51.100.4" || !l.Created.Equal(start) ||
		!l.LastSeen.Equal(start.Add(7*time.Minute)) {
		t.Errorf("the phone: %+v (started %v)", l, start)
	}
	if list[0].Handle == list[1].Handle || len(list[0].Handle) != 32 {
		t.Errorf("handles %q, %q", list[0].Handle, list[1].Handle)
	}
	for _, l := range list {
		for _, token := range []string{phoneToken, laptopToken} {
			if raw, err := base64.RawURLEncoding.DecodeString(token); err != nil || strings.Contains(hex.EncodeToString(raw), l.Handle) {
				t.Errorf("the handle %s is part of the cookie %s", l.Handle, token)
			}
		}
	}

	// The phone is used 20 minutes later, and 10 more on the laptop is
	// idle (past the default idle time of 30): the phone lists itself
	// alone.
	f.clock.Advance(20 * time.Minute)
	if !opens(t, f.s, phoneToken) {
		t.Fatal("the phone's session does not open")
	}
	f.clock.Advance(10 * time.Minute)
	list, err = phone.Sessions(ctx)
	if err != nil || len(list) != 1 || !list[0].Current {
		t.Errorf("after the laptop went idle: %+v, %v", list, err)
	}
}

// TestEndSession: a resident ends one of their sessions by its handle: its
// cookie opens nothing any more, the others stay, and it is audited.
// Another resident's handle, one ended already, or a made-up one is
// ErrNotFound and changes nothing; a device whose own session was ended
// meanwhile can end none.
func TestEndSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	bo := testNID(t, 2)
	mustResident(t, f.s, bo, "Bo Berg")
	laptopToken, laptop := loginFrom(t, f.s, f.nid, Device{UserAgent: firefoxUA})
	phoneToken, phone := loginFrom(t, f.s, f.nid, Device{UserAgent: iphoneUA})
	boToken, boMailbox := loginFrom(t, f.s, bo, Device{UserAgent: firefoxUA})
	handleOf := func(mb *Mailbox, current bool) string {
		t.Helper()
		list, err := mb.Sessions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range list {
			if l.Current == current {
				return l.Handle
			}
		}
		t.Fatalf("no session with Current %v in %+v", current, list)
		return ""
	}
	phoneHandle, boHandle := handleOf(laptop, false), handleOf(boMailbox, true)

	// Bo cannot end Anna's session, nor Anna Bo's.
	if err := boMailbox.EndSession(ctx, phoneHandle); !errors.Is(err, ErrNotFound) {
		t.Errorf("Bo ends Anna's session: %v, want ErrNotFound", err)
	}
	if err := laptop.EndSession(ctx, boHandle); !errors.Is(err, ErrNotFound) {
		t.Errorf("Anna ends Bo's session: %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "not-a-handle", strings.Repeat("0", 32)} {
		if err := laptop.EndSession(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("EndSession(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	if !opens(t, f.s, phoneToken) || !opens(t, f.s, boToken) || !opens(t, f.s, laptopToken) {
		t.Fatal("a refused EndSession ended a session")
	}
	if n := countAction(t, f.s, "end-session"); n != 0 {
		t.Errorf("%d end-session entries after refusals", n)
	}

	if err := laptop.EndSession(ctx, phoneHandle); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	if opens(t, f.s, phoneToken) {
		t.Error("the ended session still opens")
	}
	if !opens(t, f.s, laptopToken) || !opens(t, f.s, boToken) {
		t.Error("EndSession ended another session too")
	}
	if err := laptop.EndSession(ctx, phoneHandle); !errors.Is(err, ErrNotFound) {
		t.Errorf("ending it again: %v, want ErrNotFound", err)
	}
	if n := countAction(t, f.s, "end-session"); n != 1 {
		t.Errorf("%d end-session entries, want 1", n)
	}
	// The phone's mailbox, opened before its session ended, ends nothing.
	if err := phone.EndSession(ctx, handleOf(laptop, true)); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("an ended session ends another: %v, want ErrSessionExpired", err)
	}
	if _, err := phone.EndOtherSessions(ctx); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("an ended session ends the others: %v, want ErrSessionExpired", err)
	}
	if !opens(t, f.s, laptopToken) {
		t.Error("the laptop was signed out by an ended session")
	}
}

// TestEndOtherSessions: ending all other sessions leaves the current one
// working and signs the resident's others out, not another resident's.
func TestEndOtherSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	bo := testNID(t, 2)
	mustResident(t, f.s, bo, "Bo Berg")
	here, mb := loginFrom(t, f.s, f.nid, Device{})
	other1, _ := loginFrom(t, f.s, f.nid, Device{})
	other2, _ := loginFrom(t, f.s, f.nid, Device{})
	boToken, _ := loginFrom(t, f.s, bo, Device{})

	n, err := mb.EndOtherSessions(ctx)
	if err != nil || n != 2 {
		t.Fatalf("EndOtherSessions = %d, %v; want 2", n, err)
	}
	if !opens(t, f.s, here) || opens(t, f.s, other1) || opens(t, f.s, other2) || !opens(t, f.s, boToken) {
		t.Error("after EndOtherSessions: want this one and Bo's open, the other two closed")
	}
	if list, err := mb.Sessions(ctx); err != nil || len(list) != 1 || !list[0].Current {
		t.Errorf("Sessions after: %+v, %v", list, err)
	}
	if n, err := mb.EndOtherSessions(ctx); err != nil || n != 0 {
		t.Errorf("EndOtherSessions again = %d, %v", n, err)
	}
	if n := countAction(t, f.s, "end-other-sessions"); n != 1 {
		t.Errorf("%d end-other-sessions entries, want 1", n)
	}
}

// TestSessionDevice: the device a session notes is cut to what it keeps,
// as one line of valid, printable text; no device is none.
func TestSessionDevice(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	long := "Mozilla/5.0 \x00\n\u202e" + strings.Repeat("å", 300) + "\xff"
	_, mb := loginFrom(t, f.s, f.nid, Device{UserAgent: long, Address: strings.Repeat("1", 100)})
	_, bare := loginFrom(t, f.s, f.nid, Device{})
	list, err := mb.Sessions(context.Background())
	if err != nil || len(list) != 2 {
		t.Fatalf("Sessions = %+v, %v", list, err)
	}
	ua := list[0].UserAgent
	if len(ua) > maxUserAgent || !utf8.ValidString(ua) || !strings.HasPrefix(ua, "Mozilla/5.0 ååå") || strings.ContainsAny(ua, "\x00\n\u202e") {
		t.Errorf("the kept User-Agent: %q (%d bytes)", ua, len(ua))
	}
	if len(list[0].Address) != maxAddress {
		t.Errorf("the kept address: %d bytes", len(list[0].Address))
	}
	bareList, _ := bare.Sessions(context.Background())
	if bareList[0].UserAgent != "" || bareList[0].Address != "" {
		t.Errorf("a session without a device: %+v", bareList[0])
	}
}

// TestSweepSessionsByExpiry: the sweep deletes exactly the sessions past
// their idle time or their lifetime, found through the engine's indexes,
// on either engine; a session kept alive by requests stays until its
// lifetime ends.
func TestSweepSessionsByExpiry(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, func(o *Options) { o.SessionIdle, o.SessionLifetime = 30*time.Minute, time.Hour })
	ctx := context.Background()
	t0 := f.clock.Now()
	at := func(d time.Duration) { t.Helper(); f.clock.Set(t0.Add(d)) }
	s1, _ := loginFrom(t, f.s, f.nid, Device{}) // idle from t0+30m
	at(20 * time.Minute)
	s2, _ := loginFrom(t, f.s, f.nid, Device{}) // idle from t0+50m
	at(25 * time.Minute)
	s3, _ := loginFrom(t, f.s, f.nid, Device{}) // kept alive; its lifetime ends at t0+85m
	sweep := func(want int) {
		t.Helper()
		if n, err := f.s.SweepSessions(ctx, f.clock.Now()); err != nil || n != want {
			t.Fatalf("SweepSessions at +%v = %d, %v; want %d", f.clock.Now().Sub(t0), n, err, want)
		}
	}
	at(29 * time.Minute)
	sweep(0)
	at(40 * time.Minute)
	opens(t, f.s, s3)
	at(50 * time.Minute)
	sweep(2) // s1 idle 50m, s2 idle exactly 30m
	if opens(t, f.s, s1) || opens(t, f.s, s2) || !opens(t, f.s, s3) {
		t.Fatal("after the sweep at +50m: want s3 alone open")
	}
	at(60 * time.Minute)
	s4, _ := loginFrom(t, f.s, f.nid, Device{})
	at(75 * time.Minute)
	opens(t, f.s, s3)
	at(84 * time.Minute)
	sweep(0)
	at(85 * time.Minute)
	sweep(1) // s3's hour is over, though it was seen 10 minutes ago
	if !opens(t, f.s, s4) {
		t.Error("the sweep deleted a live session")
	}
	sweep(0)
}
