package auditlog

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// TestEntryVector pins the encoding and the leaf hash of one entry, so a
// change to either is seen, and an auditor's own implementation has bytes
// to compare with.
func TestEntryVector(t *testing.T) {
	t.Parallel()
	e := Entry{
		Index:  17,
		Time:   time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.FixedZone("CET", 3600)),
		Actor:  "sender:0123456789abcdef0123456789abcdef",
		Action: "deliver",
		Object: "letter:0192a3b4c5d6e7f80123456789abcdef",
		Detail: "reason=test",
	}
	const want = "postkasse/v1/audit-entry\n" +
		"index 17\n" +
		"time 2026-11-22T09:00:00.123456789Z\n" +
		"actor sender:0123456789abcdef0123456789abcdef\n" +
		"action deliver\n" +
		"object letter:0192a3b4c5d6e7f80123456789abcdef\n" +
		"detail reason=test\n"
	// SHA-256(0x00 | want), computed outside Go.
	const wantLeaf = "3eb15afec7267458bd1e5abe23da2ede5e57ac9bcea01641b3cda18770d230b5"
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("encoding:\n%s\nwant:\n%s", b, want)
	}
	leaf, err := e.LeafHash()
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(leaf[:]); got != wantLeaf {
		t.Errorf("leaf hash %s, want %s", got, wantLeaf)
	}
	if leaf != tlog.RecordHash([]byte(want)) {
		t.Error("leaf hash is not tlog.RecordHash of the encoding")
	}
}

func TestEntryRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		e    Entry
	}{
		{"no detail", Entry{Index: 0, Time: at, Actor: "operator", Action: "add-sender", Object: "sender:1"}},
		{"detail", Entry{Index: 5, Time: at, Actor: "system", Action: "delete-account", Object: "resident:1", Detail: "reason=inactivity"}},
		{"nanoseconds", Entry{Index: 1, Time: at.Add(1), Actor: "a", Action: "b", Object: "c"}},
		{"milliseconds", Entry{Index: 1, Time: at.Add(120 * time.Millisecond), Actor: "a", Action: "b", Object: "c"}},
		{"non-UTC time", Entry{Index: 1, Time: at.In(time.FixedZone("X", -7*3600)), Actor: "a", Action: "b", Object: "c"}},
		{"spaces and letters", Entry{Index: MaxTreeSize - 1, Time: at, Actor: "operator", Action: "make inaccessible", Object: "letter:æøå ÆØÅ"}},
		{"longest fields", Entry{Index: 2, Time: at, Actor: strings.Repeat("a", MaxFieldSize), Action: strings.Repeat("b", MaxFieldSize),
			Object: strings.Repeat("c", MaxFieldSize), Detail: strings.Repeat("d", MaxFieldSize)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := tt.e.Encode()
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeEntry(b)
			if err != nil {
				t.Fatalf("decode %q: %v", b, err)
			}
			want := tt.e
			want.Time = want.Time.UTC()
			if got != want {
				t.Errorf("decoded %+v, want %+v", got, want)
			}
		})
	}
}

func TestEntryEncodeRefuses(t *testing.T) {
	t.Parallel()
	ok := Entry{Index: 1, Time: testStart, Actor: "a", Action: "b", Object: "c"}
	tests := []struct {
		name string
		edit func(*Entry)
	}{
		{"negative index", func(e *Entry) { e.Index = -1 }},
		{"index too big", func(e *Entry) { e.Index = MaxTreeSize }},
		{"zero time", func(e *Entry) { e.Time = time.Time{} }},
		{"year 10000", func(e *Entry) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"no actor", func(e *Entry) { e.Actor = "" }},
		{"no action", func(e *Entry) { e.Action = "" }},
		{"no object", func(e *Entry) { e.Object = "" }},
		{"newline in actor", func(e *Entry) { e.Actor = "a\nobject x" }},
		{"NUL in object", func(e *Entry) { e.Object = "letter:\x00" }},
		{"C1 control in detail", func(e *Entry) { e.Detail = "x\u0085y" }},
		{"invalid UTF-8", func(e *Entry) { e.Action = "\xff" }},
		{"field too long", func(e *Entry) { e.Detail = strings.Repeat("d", MaxFieldSize+1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := ok
			tt.edit(&e)
			if b, err := e.Encode(); !errors.Is(err, ErrEntryFormat) {
				t.Errorf("Encode = %q, %v; want ErrEntryFormat", b, err)
			}
			if _, err := e.LeafHash(); !errors.Is(err, ErrEntryFormat) {
				t.Errorf("LeafHash: %v; want ErrEntryFormat", err)
			}
		})
	}
}

// TestDecodeEntryCanonical: every other spelling of a valid entry is
// refused, so an entry has one encoding and one leaf hash.
func TestDecodeEntryCanonical(t *testing.T) {
	t.Parallel()
	const good = "postkasse/v1/audit-entry\nindex 7\ntime 2026-01-02T03:04:05.5Z\nactor a\naction b\nobject c\n"
	if _, err := DecodeEntry([]byte(good)); err != nil {
		t.Fatalf("the good entry: %v", err)
	}
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"other version", strings.Replace(good, "/v1/", "/v2/", 1)},
		{"leading zero", strings.Replace(good, "index 7", "index 07", 1)},
		{"plus sign", strings.Replace(good, "index 7", "index +7", 1)},
		{"negative index", strings.Replace(good, "index 7", "index -7", 1)},
		{"trailing zero in time", strings.Replace(good, ".5Z", ".50Z", 1)},
		{"time with offset", strings.Replace(good, "03:04:05.5Z", "04:04:05.5+01:00", 1)},
		{"lowercase z", strings.Replace(good, ".5Z", ".5z", 1)},
		{"fields swapped", strings.Replace(good, "actor a\naction b\n", "action b\nactor a\n", 1)},
		{"field missing", strings.Replace(good, "actor a\n", "", 1)},
		{"empty field", strings.Replace(good, "actor a\n", "actor \n", 1)},
		{"empty detail", good + "detail \n"},
		{"unknown field", good + "note x\n"},
		{"two details", good + "detail x\ndetail y\n"},
		{"no final newline", strings.TrimSuffix(good, "\n")},
		{"CRLF", strings.ReplaceAll(good, "\n", "\r\n")},
		{"space before the index", strings.Replace(good, "index 7", "index  7", 1)},
		{"trailing byte", good + "x"},
		{"too long", good + "detail " + strings.Repeat("d", MaxEntrySize) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if e, err := DecodeEntry([]byte(tt.in)); !errors.Is(err, ErrEntryFormat) {
				t.Errorf("DecodeEntry(%q) = %+v, %v; want ErrEntryFormat", tt.in, e, err)
			}
		})
	}
}
