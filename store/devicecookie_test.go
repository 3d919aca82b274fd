package store

import (
	"context"
	"strings"
	"testing"
)

// TestDeviceToken: a device token names its account: it is recognised
// for that number only, each is a new device, and a changed, cut or
// foreign token is none.
func TestDeviceToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	anna, bo := testNID(t, 1).Number, testNID(t, 2).Number
	tok, err := f.s.NewDeviceToken(ctx, anna)
	if err != nil {
		t.Fatal(err)
	}
	id := f.s.DeviceOf(ctx, tok, anna)
	if len(id) != 32 {
		t.Fatalf("DeviceOf(its own account) = %q", id)
	}
	if strings.Contains(tok, anna) {
		t.Error("the token holds the national identity number")
	}
	other, _ := f.s.NewDeviceToken(ctx, anna)
	if got := f.s.DeviceOf(ctx, other, anna); got == "" || got == id {
		t.Errorf("a second token: device %q, the first %q", got, id)
	}
	flipped := []byte(tok)
	flipped[len(flipped)-2] ^= 1
	for _, bad := range []struct{ token, number string }{
		{tok, bo}, {string(flipped), anna}, {tok[:len(tok)-3], anna}, {"v2" + tok[2:], anna},
		{"", anna}, {"v1.", anna}, {"v1..", anna}, {tok + "." + tok, anna},
	} {
		if got := f.s.DeviceOf(ctx, bad.token, bad.number); got != "" {
			t.Errorf("DeviceOf(%q, %s) = %q, want none", bad.token, bad.number, got)
		}
	}
}
