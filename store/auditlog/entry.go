package auditlog

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"
)

// Entry is one fact in the audit log: who (Actor) did what (Action) to
// which object (Object), when. It names people and objects by their ids
// ("resident:<id>", "letter:<id>") and never holds mail content or a
// national identity number: the log is kept for ever and shown to auditors,
// so it must hold nothing the records it points to do not already hold.
type Entry struct {
	// Index is the entry's position in the log, from 0: its leaf index in
	// the Merkle tree. An entry states its own index, so an entry moved
	// to another position is caught without any outside evidence.
	Index  int64
	Time   time.Time // kept in UTC to the nanosecond
	Actor  string    // "sender:<id>", "resident:<id>", "operator", "system"
	Action string    // "deliver", "read", "login", ...
	Object string    // "letter:<id>", "resident:<id>", ...
	// Detail is optional: a short statement that the action alone does
	// not make (a reason, a version). Empty means none.
	Detail string
}

// Limits of the entry encoding. They bound what a decoder of stored bytes
// reads, not what the store needs: ids are 32 bytes.
const (
	// MaxFieldSize is the longest Actor, Action, Object or Detail, in bytes.
	MaxFieldSize = 1024
	// MaxEntrySize is the longest encoded entry.
	MaxEntrySize = len(entryHeader) + 4*(len("detail ")+MaxFieldSize+1) + 128
	// MaxTreeSize bounds indexes and tree sizes (2^40 entries). tlog's
	// proof arithmetic does not terminate for trees above 2^62; a bound far
	// below keeps every decoder of untrusted sizes on the safe side.
	MaxTreeSize = int64(1) << 40
)

// entryHeader is the first line of an encoded entry: the format's version.
const entryHeader = "postkasse/v1/audit-entry\n"

// field names of the encoding, in their one order.
const (
	keyIndex  = "index "
	keyTime   = "time "
	keyActor  = "actor "
	keyAction = "action "
	keyObject = "object "
	keyDetail = "detail "
)

// validText reports whether s may be a field's value: not empty, at most
// MaxFieldSize bytes of UTF-8 without control characters, so that a value
// never spans lines and decodes in one way only.
func validText(s string) bool {
	if s == "" || len(s) > MaxFieldSize || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// timeLayout is RFC 3339 with the fraction of a second to the nanosecond,
// trailing zeros dropped (time.RFC3339Nano), always in UTC ("Z").
const timeLayout = time.RFC3339Nano

func (e Entry) check() error {
	switch {
	case e.Index < 0 || e.Index >= MaxTreeSize:
		return fmt.Errorf("index %d out of range: %w", e.Index, ErrEntryFormat)
	case e.Time.IsZero() || e.Time.UTC().Year() < 1 || e.Time.UTC().Year() > 9999:
		return fmt.Errorf("entry %d: time %v out of range: %w", e.Index, e.Time, ErrEntryFormat)
	case !validText(e.Actor):
		return fmt.Errorf("entry %d: actor %q: %w", e.Index, e.Actor, ErrEntryFormat)
	case !validText(e.Action):
		return fmt.Errorf("entry %d: action %q: %w", e.Index, e.Action, ErrEntryFormat)
	case !validText(e.Object):
		return fmt.Errorf("entry %d: object %q: %w", e.Index, e.Object, ErrEntryFormat)
	case e.Detail != "" && !validText(e.Detail):
		return fmt.Errorf("entry %d: detail %q: %w", e.Index, e.Detail, ErrEntryFormat)
	}
	return nil
}

// Encode returns the entry's canonical encoding, the bytes its leaf hash
// covers (see the package documentation). It fails with ErrEntryFormat for
// an entry that has no encoding: a negative index, a zero time, an empty
// actor, action or object, or a field with a control character.
func (e Entry) Encode() ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	var tb [64]byte
	ts := e.Time.UTC().AppendFormat(tb[:0], timeLayout)
	var ib [20]byte
	is := strconv.AppendInt(ib[:0], e.Index, 10)
	n := len(entryHeader) + len(keyIndex) + len(is) + 1 + len(keyTime) + len(ts) + 1 +
		len(keyActor) + len(e.Actor) + 1 + len(keyAction) + len(e.Action) + 1 +
		len(keyObject) + len(e.Object) + 1
	if e.Detail != "" {
		n += len(keyDetail) + len(e.Detail) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, entryHeader...)
	b = append(append(append(b, keyIndex...), is...), '\n')
	b = append(append(append(b, keyTime...), ts...), '\n')
	b = append(append(append(b, keyActor...), e.Actor...), '\n')
	b = append(append(append(b, keyAction...), e.Action...), '\n')
	b = append(append(append(b, keyObject...), e.Object...), '\n')
	if e.Detail != "" {
		b = append(append(append(b, keyDetail...), e.Detail...), '\n')
	}
	return b, nil
}

// LeafHash returns the entry's leaf hash in the tree: tlog.RecordHash of
// its encoding (RFC 6962 §2.1: SHA-256 of 0x00 and the bytes).
func (e Entry) LeafHash() (tlog.Hash, error) {
	b, err := e.Encode()
	if err != nil {
		return tlog.Hash{}, err
	}
	return tlog.RecordHash(b), nil
}

// DecodeEntry decodes an encoded entry. It accepts only the canonical
// encoding, so an entry has one encoding and one leaf hash: anything else
// (another order, a leading zero, a time not in UTC, a trailing byte) is
// ErrEntryFormat.
func DecodeEntry(b []byte) (Entry, error) {
	if len(b) > MaxEntrySize {
		return Entry{}, fmt.Errorf("entry of %d bytes: %w", len(b), ErrEntryFormat)
	}
	rest, ok := bytes.CutPrefix(b, []byte(entryHeader))
	if !ok {
		return Entry{}, fmt.Errorf("no %q header: %w", entryHeader[:len(entryHeader)-1], ErrEntryFormat)
	}
	field := func(key string) (string, bool) {
		v, ok := bytes.CutPrefix(rest, []byte(key))
		if !ok {
			return "", false
		}
		line, after, ok := bytes.Cut(v, []byte{'\n'})
		if !ok {
			return "", false
		}
		rest = after
		return string(line), true
	}
	var e Entry
	index, ok1 := field(keyIndex)
	ts, ok2 := field(keyTime)
	actor, ok3 := field(keyActor)
	action, ok4 := field(keyAction)
	object, ok5 := field(keyObject)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return Entry{}, fmt.Errorf("fields missing or out of order: %w", ErrEntryFormat)
	}
	if len(rest) > 0 {
		detail, ok := field(keyDetail)
		if !ok {
			return Entry{}, fmt.Errorf("unexpected bytes after the object: %w", ErrEntryFormat)
		}
		e.Detail = detail
	}
	if len(rest) > 0 {
		return Entry{}, fmt.Errorf("unexpected bytes after the detail: %w", ErrEntryFormat)
	}
	var err error
	if e.Index, err = strconv.ParseInt(index, 10, 64); err != nil {
		return Entry{}, fmt.Errorf("index %q: %w", index, ErrEntryFormat)
	}
	if e.Time, err = time.Parse(timeLayout, ts); err != nil {
		return Entry{}, fmt.Errorf("time %q: %w", ts, ErrEntryFormat)
	}
	e.Time = e.Time.UTC()
	e.Actor, e.Action, e.Object = actor, action, object
	// The encoding is canonical iff encoding what was decoded gives the
	// same bytes: this catches "+5", "05", "2026-01-02T03:04:05.10Z",
	// "+01:00" and every other second spelling, in one place.
	again, err := e.Encode()
	if err != nil {
		return Entry{}, err
	}
	if !bytes.Equal(again, b) {
		return Entry{}, fmt.Errorf("entry %d is not in canonical form: %w", e.Index, ErrEntryFormat)
	}
	return e, nil
}
