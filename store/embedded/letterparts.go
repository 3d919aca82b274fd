package embedded

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/storage"
)

// A letter's big byte fields are kept beside its record, in parts, since
// schema 15: the bucket letter-parts maps
//
//	letterID | uint16 field | uint16 part → at most documentPartMax bytes
//
// of the field (letterFields numbers them), the parts in order, as small
// documents are kept (documents.go). The record, in CBOR, is then the
// letter without those fields and with Parts, the size of each field kept
// beside it; reading the whole letter joins them back (letterParts.decode),
// and a part missing, out of order or of another size is ErrDamaged.
//
// Why: the sealed data key (ML-KEM-768 and X25519, about 1.2 KB) and the
// signed receipt's payload (about 0.8 KB) made a letter's record about
// 2.4 KB, and a record between about 2 and 4 KB takes a 4 KiB page of its
// own (bbolt puts at least two values on a leaf, and two do not fit one
// page). Without them a 2 KB letter's record is about 0.7 KB (its ids,
// reference, content hash, times, sealed subject and the CBOR field
// names), five to a page, and the parts fill letter-parts' pages to 95 %
// as letter ids grow; an inbox page, which reads the record only
// (lettersTx.Listed), reads less.
// docs/PERFORMANCE.md, "Small letters on disk", has the measurement.
//
// Records written before (every field in the record, JSON or CBOR) are
// read as they are and written in this form the next time they change. A
// tombstone (a deleted letter's record: no sealed field, its receipt)
// keeps everything in its record, so that deleting a letter leaves
// nothing of it beside its record.

// partedMin is the smallest field kept beside the record: a smaller one
// costs less in the record than a part's key and bbolt's header (about 52
// bytes).
const partedMin = 256

// Field numbers of letter-parts' keys: the fixed fields, then each grant's
// copy of the data key (delegateField + its index in DelegateKeys).
const (
	fieldSealedKey      = 0
	fieldReceiptPayload = 1
	fieldBody           = 2
	fieldStructured     = 3
	delegateField       = 0x100
)

// storedLetter is a letter's record as it is stored since schema 15.
type storedLetter struct {
	storage.Letter
	// Parts is the size of each field kept in letter-parts, by field
	// number; none for a record that keeps every field.
	Parts map[uint16]int `json:",omitempty"`
}

// letterFields returns the fields of l that may be kept beside its record,
// by field number. (Listing and Subject stay in the record: an inbox page
// reads the record alone.)
func letterFields(l *storage.Letter) map[uint16]*[]byte {
	fs := map[uint16]*[]byte{
		fieldSealedKey:      &l.SealedKey,
		fieldReceiptPayload: &l.Receipt.Payload,
		fieldBody:           &l.Body,
		fieldStructured:     &l.Structured,
	}
	for i := range l.DelegateKeys {
		if i >= 0x10000-delegateField {
			break // kept in the record
		}
		fs[uint16(delegateField+i)] = &l.DelegateKeys[i].SealedKey
	}
	return fs
}

// fieldPrefix is the start of a field's parts' keys.
func fieldPrefix(letterID []byte, field uint16) []byte {
	return binary.BigEndian.AppendUint16(bytes.Clone(letterID), field)
}

// letterParts keeps the letters table's big fields in letter-parts.
type letterParts struct{}

// put writes the fields of l that are kept beside its record at key, and
// deletes those of the stored ones it no longer has or has changed; a
// field stored as it is now is left alone. It returns the record to
// encode.
func (letterParts) put(tx *bolt.Tx, key []byte, l *storage.Letter) (any, error) {
	rec := storedLetter{Letter: *l}
	rec.DelegateKeys = append([]storage.DelegateKey(nil), l.DelegateKeys...)
	want := map[uint16][]byte{}
	if rec.Deleted.IsZero() {
		for f, p := range letterFields(&rec.Letter) {
			if len(*p) >= partedMin {
				want[f] = *p
				*p = nil
			}
		}
	}
	b := tx.Bucket(bucketLetterParts)
	for _, f := range storedFields(b, key) {
		prefix := fieldPrefix(key, f)
		if content, ok := readParts(b, prefix); ok && want[f] != nil && bytes.Equal(content, want[f]) {
			rec.setPart(f, len(content))
			delete(want, f)
			continue
		}
		if err := deletePrefix(b, prefix); err != nil {
			return nil, err
		}
	}
	for f, content := range want {
		if err := putParts(b, fieldPrefix(key, f), content); err != nil {
			return nil, err
		}
		rec.setPart(f, len(content))
	}
	return &rec, nil
}

func (r *storedLetter) setPart(f uint16, size int) {
	if r.Parts == nil {
		r.Parts = map[uint16]int{}
	}
	r.Parts[f] = size
}

// storedFields returns the field numbers of the parts stored at key, in
// order; a key of another length is skipped (Check reports it).
func storedFields(b *bolt.Bucket, key []byte) []uint16 {
	var fs []uint16
	c := b.Cursor()
	for k, _ := c.Seek(key); k != nil && bytes.HasPrefix(k, key); k, _ = c.Next() {
		if len(k) != len(key)+4 {
			continue
		}
		if f := binary.BigEndian.Uint16(k[len(key):]); len(fs) == 0 || fs[len(fs)-1] != f {
			fs = append(fs, f)
		}
	}
	return fs
}

// decode decodes the record data stored at key into l and joins the
// fields kept beside it. A record stored under another letter's id is
// decoded without them: its reader refuses it (lettersTx.Get), Check
// reports it.
func (letterParts) decode(tx *bolt.Tx, key, data []byte, l *storage.Letter) error {
	var rec storedLetter
	if err := decodeRecord(data, &rec); err != nil {
		return err
	}
	*l = rec.Letter
	if len(rec.Parts) == 0 || l.ID != string(key) {
		return nil
	}
	fs := letterFields(l)
	b := tx.Bucket(bucketLetterParts)
	for f, size := range rec.Parts {
		p := fs[f]
		if p == nil || len(*p) > 0 {
			return fmt.Errorf("letter %s field %d: %w: the record has no such field kept beside it", key, f, ErrDamaged)
		}
		content, ok := readParts(b, fieldPrefix(key, f))
		if !ok || len(content) != size {
			return fmt.Errorf("letter %s field %d: %w: its parts are not whole (%d of %d bytes)", key, f, ErrDamaged, len(content), size)
		}
		*p = content
	}
	return nil
}

// remove deletes every part kept beside the record at key.
func (letterParts) remove(tx *bolt.Tx, key []byte) error {
	return deletePrefix(tx.Bucket(bucketLetterParts), key)
}

// check reports every part of letter-parts that no record names: of no
// letter, or of a field its letter's record does not keep beside it. (A
// record's parts missing or damaged are reported by the letters table's
// check, which joins them.)
func (letterParts) check(tx *bolt.Tx) []error {
	var errs []error
	lettersB := tx.Bucket(bucketLetters)
	var lastID []byte
	var parts map[uint16]int
	err := tx.Bucket(bucketLetterParts).ForEach(func(k, _ []byte) error {
		if len(k) != partKeySize {
			errs = append(errs, fmt.Errorf("%s %x: not a part's key", bucketLetterParts, k))
			return nil
		}
		id := k[:idSize]
		if !bytes.Equal(id, lastID) {
			lastID, parts = bytes.Clone(id), nil
			var rec struct{ Parts map[uint16]int }
			if v := lettersB.Get(id); v != nil && decodeRecord(v, &rec) == nil {
				parts = rec.Parts
			}
		}
		if f := binary.BigEndian.Uint16(k[idSize:]); parts[f] == 0 {
			errs = append(errs, fmt.Errorf("%s %s field %d part %d: belongs to no letter's record", bucketLetterParts, id, f, binary.BigEndian.Uint16(k[idSize+2:])))
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}

// RawLetter reads a letter's record from the file as the engine does, its
// fields kept beside it joined: for tests and tools that read the file raw
// (the domain reads through storage.Letters).
func RawLetter(btx *bolt.Tx, id string) (*storage.Letter, error) {
	return letters.get(btx, []byte(id))
}
