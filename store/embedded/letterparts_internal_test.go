package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/storage"
)

// partsEngine opens an engine on a new file.
func partsEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := Open(filepath.Join(t.TempDir(), "postkasse.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// bytesOf returns n bytes that differ from the bytes of another seed.
func bytesOf(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// partsLetter is a letter whose big fields have the sizes given: sealed
// key, receipt payload, body, structured, and a delegate's key. (It has
// no documents: the documents' own forms are documents.go's.)
func partsLetter(n int, sizes ...int) *storage.Letter {
	at := time.Date(2026, 12, 3, 9, 0, n, 0, time.UTC)
	return &storage.Letter{
		ID: fmt.Sprintf("%032x", 0x1000+n), ResidentID: strings.Repeat("a", 32), SenderID: strings.Repeat("b", 32),
		SenderReference: fmt.Sprintf("ref-%d", n), Type: "letter", DeliveredAt: at, Size: 2048, ContentHash: "sha256:00",
		SealedKey: bytesOf(1, sizes[0]), Subject: bytesOf(2, 40),
		Receipt: storage.Receipt{Payload: bytesOf(3, sizes[1]), Signature: bytesOf(4, 64), KeyID: "k1"},
		Body:    bytesOf(5, sizes[2]), Structured: bytesOf(6, sizes[3]),
		DelegateKeys: []storage.DelegateKey{{DelegationID: "d1", DelegateID: "c1", SealedKey: bytesOf(7, sizes[4])}},
	}
}

// lettersParts returns letter-parts' keys and values, as text.
func lettersParts(t *testing.T, e *Engine) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := e.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLetterParts).ForEach(func(k, v []byte) error {
			out[fmt.Sprintf("%x", k)] = fmt.Sprintf("%x", v)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLetterPartsRoundTrip: a letter whose big fields are of every size
// around a part's and around partedMin reads back equal through Get, All
// and (its listed fields) Listed; the fields from partedMin up are beside
// the record, the smaller ones in it; the file passes Check.
func TestLetterPartsRoundTrip(t *testing.T) {
	e := partsEngine(t)
	ctx := context.Background()
	sizes := []int{0, 1, partedMin - 1, partedMin, documentPartMax - 1, documentPartMax, documentPartMax + 1, 1400, 5000}
	var want []*storage.Letter
	for i, n := range sizes {
		// Each field of another size, so that every size is in every field.
		l := partsLetter(i, n, sizes[(i+1)%len(sizes)], sizes[(i+2)%len(sizes)], sizes[(i+3)%len(sizes)], sizes[(i+4)%len(sizes)])
		want = append(want, l)
	}
	if err := e.Update(ctx, func(tx storage.Tx) error {
		for _, l := range want {
			if err := tx.Letters().Put(l); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.View(ctx, func(tx storage.Tx) error {
		var all []*storage.Letter
		if err := tx.Letters().All(func(l *storage.Letter) error { all = append(all, l); return nil }); err != nil {
			return err
		}
		if len(all) != len(want) {
			t.Errorf("All: %d letters, want %d", len(all), len(want))
		}
		for i, w := range want {
			got, err := tx.Letters().Get(w.ID)
			if err != nil {
				return err
			}
			if !equalLetters(got, w) {
				t.Errorf("letter %d: Get = %+v, want %+v", i, got, w)
			}
			if i < len(all) && !equalLetters(all[i], w) {
				t.Errorf("letter %d: All gives %+v, want %+v", i, all[i], w)
			}
			listed, err := tx.Letters().Listed(w.ID)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(listed, w.ListingFields()) {
				t.Errorf("letter %d: Listed = %+v, want %+v", i, listed, w.ListingFields())
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Which fields are beside their record.
	if err := e.db.View(func(tx *bolt.Tx) error {
		for _, w := range want {
			var rec storedLetter
			if err := decodeRecord(tx.Bucket(bucketLetters).Get([]byte(w.ID)), &rec); err != nil {
				return err
			}
			for f, p := range letterFields(w) {
				if beside := rec.Parts[f] > 0; beside != (len(*p) >= partedMin) {
					t.Errorf("letter %s field %d of %d bytes: beside the record %v", w.ID, f, len(*p), beside)
				}
				if rec.Parts[f] > 0 && len(*letterFields(&rec.Letter)[f]) != 0 {
					t.Errorf("letter %s field %d: both in the record and beside it", w.ID, f)
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.Check(ctx); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// equalLetters compares letters as stored: nil and empty byte fields are
// the same (a record does not tell them apart).
func equalLetters(a, b *storage.Letter) bool {
	ea, err1 := encodeRecord(a)
	eb, err2 := encodeRecord(b)
	return err1 == nil && err2 == nil && bytes.Equal(ea, eb)
}

// TestLetterPartsRewrite: writing a letter again leaves its unchanged
// fields' parts as they are and replaces a changed one's (a shorter one's
// old parts gone); a field that shrinks below partedMin moves into the
// record; the tombstone keeps its receipt in its record and leaves no part;
// deleting the record leaves no part.
func TestLetterPartsRewrite(t *testing.T) {
	e := partsEngine(t)
	ctx := context.Background()
	l := partsLetter(1, 1200, 800, 3000, 0, 1200)
	put := func(l *storage.Letter) {
		t.Helper()
		if err := e.Update(ctx, func(tx storage.Tx) error { return tx.Letters().Put(l) }); err != nil {
			t.Fatal(err)
		}
	}
	get := func() *storage.Letter {
		t.Helper()
		var got *storage.Letter
		if err := e.View(ctx, func(tx storage.Tx) error {
			var err error
			got, err = tx.Letters().Get(l.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	put(l)
	first := lettersParts(t, e)
	if len(first) != 2+2+5+2 {
		t.Fatalf("%d parts, want 11 (sealed key 2, receipt 2, body 5, delegate's key 2)", len(first))
	}

	// Read: the record changes, no part.
	l.ReadAt = l.DeliveredAt.Add(time.Hour)
	put(l)
	if now := lettersParts(t, e); !reflect.DeepEqual(now, first) {
		t.Error("marking the letter read changed its parts")
	}
	if got := get(); !equalLetters(got, l) {
		t.Errorf("after marking read: %+v", got)
	}

	// A shorter body (one part instead of five), a body below partedMin,
	// the delegate's key gone.
	for _, step := range []func(){
		func() { l.Body = bytesOf(9, 600) },
		func() { l.Body = bytesOf(9, 100) },
		func() { l.DelegateKeys = nil },
	} {
		step()
		put(l)
		if got := get(); !equalLetters(got, l) {
			t.Errorf("after a change: %+v, want %+v", got, l)
		}
		if err := e.Check(ctx); err != nil {
			t.Errorf("Check: %v", err)
		}
	}
	if n := len(lettersParts(t, e)); n != 4 {
		t.Errorf("%d parts left, want 4 (sealed key, receipt)", n)
	}

	// The tombstone: no sealed field, the receipt in its record.
	tomb := *l
	tomb.SealedKey, tomb.Subject, tomb.Body, tomb.Deleted = nil, nil, nil, l.DeliveredAt.Add(2*time.Hour)
	put(&tomb)
	if n := len(lettersParts(t, e)); n != 0 {
		t.Errorf("the tombstone left %d parts", n)
	}
	if got := get(); !equalLetters(got, &tomb) {
		t.Errorf("tombstone: %+v", got)
	}
	// Written again whole, then deleted.
	put(l)
	if err := e.Update(ctx, func(tx storage.Tx) error { return tx.Letters().Delete(l) }); err != nil {
		t.Fatal(err)
	}
	if n := len(lettersParts(t, e)); n != 0 {
		t.Errorf("deleting the letter left %d parts", n)
	}
	if err := e.Check(ctx); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// TestLetterPartsDamaged: a part missing, cut short, grown, out of order,
// or of another length's key, and a record that names a field it also
// holds, make reading the letter ErrDamaged (never a letter with a wrong
// field) and Check report it; a part of no record's field is reported by
// Check.
func TestLetterPartsDamaged(t *testing.T) {
	l := partsLetter(1, 1200, 800, 0, 0, 0)
	key := func(f uint16, part uint16) []byte {
		return append(fieldPrefix([]byte(l.ID), f), byte(part>>8), byte(part))
	}
	for _, tt := range []struct {
		name   string
		damage func(tx *bolt.Tx) error
		read   bool // reading the letter fails too
	}{
		{"a part missing", func(tx *bolt.Tx) error { return tx.Bucket(bucketLetterParts).Delete(key(fieldSealedKey, 1)) }, true},
		{"the first part missing", func(tx *bolt.Tx) error { return tx.Bucket(bucketLetterParts).Delete(key(fieldSealedKey, 0)) }, true},
		{"a field's parts all missing", func(tx *bolt.Tx) error {
			return deletePrefix(tx.Bucket(bucketLetterParts), fieldPrefix([]byte(l.ID), fieldReceiptPayload))
		}, true},
		{"a part cut short", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketLetterParts).Put(key(fieldSealedKey, 1), []byte("short"))
		}, true},
		{"a part more", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketLetterParts).Put(key(fieldSealedKey, 2), []byte("more"))
		}, true},
		{"a part after a gap", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketLetterParts).Put(key(fieldSealedKey, 3), []byte("gap"))
		}, true},
		{"a key of another length", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketLetterParts).Put(append(key(fieldSealedKey, 1), 0), []byte("x"))
		}, true},
		{"a part of a field the record keeps", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketLetterParts).Put(key(fieldBody, 0), []byte("body"))
		}, false},
		{"a part of no letter", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketLetterParts).Put(append(fieldPrefix([]byte(strings.Repeat("f", 32)), 0), 0, 0), []byte("x"))
		}, false},
		{"the record names a field it holds", func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketLetters)
			var rec storedLetter
			if err := decodeRecord(b.Get([]byte(l.ID)), &rec); err != nil {
				return err
			}
			rec.SealedKey = []byte("inline")
			return putValue(b, []byte(l.ID), &rec)
		}, true},
		{"the record names a field of no letter", func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketLetters)
			var rec storedLetter
			if err := decodeRecord(b.Get([]byte(l.ID)), &rec); err != nil {
				return err
			}
			rec.Parts[delegateField+5] = 10
			return putValue(b, []byte(l.ID), &rec)
		}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := partsEngine(t)
			ctx := context.Background()
			if err := e.Update(ctx, func(tx storage.Tx) error { return tx.Letters().Put(l) }); err != nil {
				t.Fatal(err)
			}
			if err := e.db.Update(tt.damage); err != nil {
				t.Fatal(err)
			}
			err := e.View(ctx, func(tx storage.Tx) error { _, err := tx.Letters().Get(l.ID); return err })
			if tt.read && !errors.Is(err, ErrDamaged) {
				t.Errorf("Get: %v, want ErrDamaged", err)
			}
			if !tt.read && err != nil {
				t.Errorf("Get: %v", err)
			}
			want := "belongs to no letter's record"
			if tt.read {
				want = ErrDamaged.Error()
			}
			if err := e.Check(ctx); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Check: %v, want %q", err, want)
			}
		})
	}
}

// TestLetterRecordsOfSchema14: records that keep every field, in CBOR as
// schema 14 wrote them and in JSON as before, are read whole, pass Check,
// and take the new form when written again.
func TestLetterRecordsOfSchema14(t *testing.T) {
	for _, tt := range []struct {
		name   string
		encode func(*storage.Letter) ([]byte, error)
	}{
		{"CBOR", func(l *storage.Letter) ([]byte, error) { return encodeRecord(l) }},
		{"JSON", func(l *storage.Letter) ([]byte, error) { return json.Marshal(l) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := partsEngine(t)
			ctx := context.Background()
			l := partsLetter(1, 1200, 800, 3000, 0, 1200)
			if err := e.Update(ctx, func(tx storage.Tx) error { return tx.Letters().Put(l) }); err != nil {
				t.Fatal(err)
			}
			// The record written as the older code did: whole, no parts.
			data, err := tt.encode(l)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.db.Update(func(tx *bolt.Tx) error {
				if err := deletePrefix(tx.Bucket(bucketLetterParts), []byte(l.ID)); err != nil {
					return err
				}
				return tx.Bucket(bucketLetters).Put([]byte(l.ID), data)
			}); err != nil {
				t.Fatal(err)
			}
			var got *storage.Letter
			if err := e.View(ctx, func(tx storage.Tx) error { got, err = tx.Letters().Get(l.ID); return err }); err != nil {
				t.Fatal(err)
			}
			if !equalLetters(got, l) {
				t.Errorf("Get = %+v, want %+v", got, l)
			}
			if err := e.Check(ctx); err != nil {
				t.Errorf("Check: %v", err)
			}
			got.ReadAt = got.DeliveredAt.Add(time.Hour)
			if err := e.Update(ctx, func(tx storage.Tx) error { return tx.Letters().Put(got) }); err != nil {
				t.Fatal(err)
			}
			if n := len(lettersParts(t, e)); n != 11 {
				t.Errorf("written again: %d parts, want 11", n)
			}
			var again *storage.Letter
			if err := e.View(ctx, func(tx storage.Tx) error { again, err = tx.Letters().Get(l.ID); return err }); err != nil {
				t.Fatal(err)
			}
			if !equalLetters(again, got) {
				t.Errorf("written again: %+v, want %+v", again, got)
			}
		})
	}
}

// BenchmarkLetterGet measures reading a whole 2 KB letter (the sizes of
// BenchmarkCommit's) in one read transaction: its record with every field
// in it (as schema 14 wrote it) and with its big fields beside it, joined
// (since schema 15).
//
//	go test ./store/embedded -run '^$' -bench LetterGet
func BenchmarkLetterGet(b *testing.B) {
	e, err := Open(filepath.Join(b.TempDir(), "postkasse.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	parted, whole := partsLetter(1, 1171, 805, 42, 0, 0), partsLetter(2, 1171, 805, 42, 0, 0)
	parted.DelegateKeys, whole.DelegateKeys = nil, nil
	if err := e.db.Update(func(tx *bolt.Tx) error {
		if err := letters.put(tx, parted); err != nil {
			return err
		}
		data, err := encodeRecord(whole)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketLetters).Put([]byte(whole.ID), data)
	}); err != nil {
		b.Fatal(err)
	}
	for _, l := range []struct {
		name string
		id   string
	}{{"whole", whole.ID}, {"parted", parted.ID}} {
		b.Run("record="+l.name, func(b *testing.B) {
			if err := e.db.View(func(tx *bolt.Tx) error {
				for b.Loop() {
					if _, err := letters.get(tx, []byte(l.id)); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// FuzzLetterParts: whatever a damaged or hostile file holds as a letter's
// record and as a part beside it, reading the letter returns an error or
// a letter, never a panic; a record that names a field kept beside it is
// read whole or refused.
func FuzzLetterParts(f *testing.F) {
	e, err := Open(filepath.Join(f.TempDir(), "postkasse.db"), Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer e.Close()
	l := partsLetter(1, 1200, 800, 0, 0, 0)
	l.DelegateKeys = nil
	var record, part []byte
	if err := e.db.Update(func(tx *bolt.Tx) error {
		if err := letters.put(tx, l); err != nil {
			return err
		}
		record = bytes.Clone(tx.Bucket(bucketLetters).Get([]byte(l.ID)))
		part = bytes.Clone(tx.Bucket(bucketLetterParts).Get(append(fieldPrefix([]byte(l.ID), fieldSealedKey), 0, 1)))
		return nil
	}); err != nil {
		f.Fatal(err)
	}
	f.Add(record, uint16(fieldSealedKey), uint16(1), part)
	f.Add(record, uint16(fieldReceiptPayload), uint16(2), []byte("x"))
	f.Add([]byte{0xa0}, uint16(fieldBody), uint16(0), []byte{})
	errRollback := errors.New("rolled back")
	f.Fuzz(func(t *testing.T, record []byte, field, n uint16, part []byte) {
		err := e.db.Update(func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketLetters).Put([]byte(l.ID), record); err != nil {
				return err
			}
			if err := tx.Bucket(bucketLetterParts).Put(binary.BigEndian.AppendUint16(fieldPrefix([]byte(l.ID), field), n), part); err != nil {
				return err
			}
			got, err := letters.get(tx, []byte(l.ID))
			if err == nil && got.ID == l.ID {
				var rec storedLetter
				if decodeRecord(record, &rec) != nil {
					t.Fatal("a record that does not decode was read")
				}
				for f, size := range rec.Parts {
					if p := letterFields(got)[f]; p == nil || len(*p) != size {
						t.Fatalf("field %d read with another size than its record names (%d)", f, size)
					}
				}
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
	})
}
