package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/store"
)

// TestReservationCommands: `resident reserve` and `resident unreserve` on
// a data folder with the server stopped record an opt-out of digital post
// made in person and an opt-in again (the same commands through the
// control socket: TestOperatorCommandsViaSocket); a pending mailbox, a
// missing, malformed or unknown number are refused with an error that
// says why.
func TestReservationCommands(t *testing.T) {
	dir := initFolder(t)
	code := activationCode(t, cli(t, "resident", "add", "--data", dir, "--national-id", "1203861234", "--name", "Anna Jensen"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"resident", "reserve", "--data", dir, "--national-id", "1203861234"}, "a pending mailbox cannot be reserved"},
		{[]string{"resident", "reserve", "--data", dir}, "--national-id is needed"},
		{[]string{"resident", "unreserve", "--data", dir}, "--national-id is needed"},
		{[]string{"resident", "reserve", "--data", dir, "--national-id", "12345"}, "national identity number"},
		{[]string{"resident", "unreserve", "--data", dir, "--national-id", "0101701234"}, "not found"},
		{[]string{"resident", "reserve", "--data", dir, "--national-id", "1203861234", "stray"}, "unexpected argument"},
	} {
		if err := run(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %q", tc.args[:2], err, tc.want)
		}
	}
	digital := func() bool {
		t.Helper()
		st, err := store.Open(filepath.Join(dir, dbFileName), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		nid, _ := store.ParseNationalID("1203861234")
		d, err := st.IsDigital(context.Background(), nid)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	st, err := store.Open(filepath.Join(dir, dbFileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Activate(context.Background(), "1203861234", code, "the resident's own password"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if !digital() {
		t.Fatal("the activated mailbox is not digital")
	}

	printed := cli(t, "resident", "reserve", "--data", dir, "--national-id", "120386-1234")
	if !strings.Contains(printed, "Reserved Anna Jensen (1203861234)") || !strings.Contains(printed, "postkasse resident unreserve --national-id 1203861234") {
		t.Errorf("resident reserve printed:\n%s", printed)
	}
	if digital() {
		t.Error("digital after resident reserve")
	}
	if printed := cli(t, "resident", "list", "--data", dir); !strings.Contains(printed, "reserved") {
		t.Errorf("resident list after reserving:\n%s", printed)
	}
	// Twice changes nothing and says the same.
	if printed := cli(t, "resident", "reserve", "--data", dir, "--national-id", "1203861234"); !strings.Contains(printed, "Reserved Anna Jensen") {
		t.Errorf("resident reserve again printed:\n%s", printed)
	}
	if printed := cli(t, "resident", "unreserve", "--data", dir, "--national-id", "1203861234"); !strings.Contains(printed, "Unreserved Anna Jensen (1203861234)") {
		t.Errorf("resident unreserve printed:\n%s", printed)
	}
	if !digital() {
		t.Error("not digital after resident unreserve")
	}
	if help := cli(t, "resident", "--help"); !strings.Contains(help, "postkasse resident reserve") || !strings.Contains(help, "postkasse resident unreserve") {
		t.Errorf("resident --help lacks reserve and unreserve:\n%s", help)
	}
}
