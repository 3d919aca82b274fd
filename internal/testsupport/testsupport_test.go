package testsupport_test

import (
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
