package testsupport_test

import (
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// TestNationalID: the numbers are valid for the store and distinct.
func TestNationalID(t *testing.T) {
	seen := map[string]bool{}
	for i := range 200 {
		s := testsupport.NationalID(i)
		if _, err := store.ParseNationalID(s); err != nil {
			t.Errorf("NationalID(%d) = %s: %v", i, s, err)
		}
		if seen[s] {
			t.Errorf("NationalID(%d) = %s again", i, s)
		}
		seen[s] = true
	}
}

// TestClock: the clock starts at Start and moves only when told.
func TestClock(t *testing.T) {
	c := testsupport.NewClock()
	if !c.Now().Equal(testsupport.Start) {
		t.Fatalf("new clock at %v, want %v", c.Now(), testsupport.Start)
	}
	c.Advance(time.Hour)
	if want := testsupport.Start.Add(time.Hour); !c.Now().Equal(want) {
		t.Errorf("after Advance: %v, want %v", c.Now(), want)
	}
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Set(at)
	if !c.Now().Equal(at) {
		t.Errorf("after Set: %v, want %v", c.Now(), at)
	}
}

// TestClockAfterFunc: a timer's function is called once, when the clock
// is moved to its time, soonest first; a stopped one never.
func TestClockAfterFunc(t *testing.T) {
	c := testsupport.NewClock()
	var calls []string
	c.AfterFunc(2*time.Second, func() { calls = append(calls, "2s") })
	c.AfterFunc(time.Second, func() { calls = append(calls, "1s") })
	stop := c.AfterFunc(time.Second, func() { calls = append(calls, "stopped") })
	if !stop() || stop() {
		t.Fatal("stop: want true once, then false")
	}
	c.Advance(999 * time.Millisecond)
	if len(calls) != 0 || c.Timers() != 2 {
		t.Fatalf("before any is due: %v called, %d waiting", calls, c.Timers())
	}
	c.Advance(5 * time.Second)
	c.Advance(5 * time.Second)
	if strings.Join(calls, ",") != "1s,2s" || c.Timers() != 0 {
		t.Fatalf("called %v, %d waiting; want 1s,2s and none", calls, c.Timers())
	}
	// A function may set a timer of its own on the clock.
	c.AfterFunc(0, func() { c.AfterFunc(time.Minute, func() { calls = append(calls, "again") }) })
	c.Advance(0)
	c.Set(c.Now().Add(time.Minute))
	if calls[len(calls)-1] != "again" {
		t.Fatalf("a timer set by a timer's function: %v", calls)
	}
}
