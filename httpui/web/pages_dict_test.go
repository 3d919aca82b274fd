package web

import "testing"

// TestDict: pairs make a map; an odd count or a name that is not a
// string is an error, which fails the template that calls it.
func TestDict(t *testing.T) {
	m, err := dict("Label", "password.new", "MinLength", 12)
	if err != nil || len(m) != 2 || m["Label"] != "password.new" || m["MinLength"] != 12 {
		t.Errorf("dict = %v, %v", m, err)
	}
	if _, err := dict("Label"); err == nil {
		t.Error("an odd count made a map")
	}
	if _, err := dict(1, "x"); err == nil {
		t.Error("a name that is no string made a map")
	}
}
