package embedded

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/fxamacker/cbor/v2"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/storage"
)

// A table is one kind of record in one bucket, with the description of
// its indexes. The same description writes a record's index entries
// (put), deletes them (remove), and checks them (check), so the three can
// never disagree.
type table[R any] struct {
	name   string // for errors: "letter", "resident", …
	bucket []byte
	key    func(r *R) []byte // where a record is stored
	// setKey, for a record that does not hold its own key, sets it from
	// the key it was read from.
	setKey  func(r *R, k []byte)
	indexes []index[R]
	// counts is the bucket of the counters of the indexes that count
	// their entries (index.counter), if any: put and remove change a
	// counter exactly when they add or delete one of its entries, in the
	// same transaction, so a counter is always the number of its entries
	// (check verifies it).
	counts []byte
	// beside, for a table whose records keep some of their fields
	// outside the record (letters, since schema 15: letterParts), writes,
	// joins, deletes and checks them; nil for a table whose records are
	// whole.
	beside beside[R]
}

// beside keeps some of a record's fields outside its bucket, in the same
// transaction as the record.
type beside[R any] interface {
	// put writes r's fields kept beside its record at key, deletes the
	// stored ones r no longer has, and returns the record to encode.
	put(tx *bolt.Tx, key []byte, r *R) (any, error)
	// decode decodes the record data stored at key into r, joining its
	// fields kept beside it.
	decode(tx *bolt.Tx, key, data []byte, r *R) error
	// remove deletes the fields kept beside the record at key.
	remove(tx *bolt.Tx, key []byte) error
	// check reports what is kept beside no record.
	check(tx *bolt.Tx) []error
}

// An index is a bucket of entries that each record has zero or more of.
type index[R any] struct {
	bucket []byte
	// entries returns the record's entries in this index.
	entries func(r *R) []entry
	// owner returns the key of the record an entry belongs to (or false
	// for an entry of no record's shape).
	owner func(k, v []byte) ([]byte, bool)
	// counter, for an index whose entries are counted, returns the key
	// in the table's counts bucket of the counter an entry adds to (nil
	// for an entry of no counter's shape, which is not counted).
	counter func(k []byte) []byte
}

type entry struct{ key, value []byte }

// get decodes the record at key; none is storage.ErrNotFound.
func (t *table[R]) get(tx *bolt.Tx, key []byte) (*R, error) {
	v := tx.Bucket(t.bucket).Get(key)
	if v == nil {
		return nil, fmt.Errorf("%s %s: %w", t.name, printable(key), storage.ErrNotFound)
	}
	var r R
	if err := t.decode(tx, key, v, &r); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", t.name, printable(key), err)
	}
	t.keyed(&r, key)
	return &r, nil
}

// decode decodes the record data stored at key, with its fields kept
// beside it.
func (t *table[R]) decode(tx *bolt.Tx, key, data []byte, r *R) error {
	if t.beside != nil {
		return t.beside.decode(tx, key, data, r)
	}
	return decodeRecord(data, r)
}

func (t *table[R]) keyed(r *R, k []byte) {
	if t.setKey != nil {
		t.setKey(r, k)
	}
}

// put stores r under its key and brings its index entries up to date:
// the entries the stored record had and r has not are deleted, r's new
// ones written. An old record that does not decode has its entries left;
// check reports them.
func (t *table[R]) put(tx *bolt.Tx, r *R) error {
	k := t.key(r)
	b := tx.Bucket(t.bucket)
	var err error
	var old *R
	if len(t.indexes) > 0 {
		if v := b.Get(k); v != nil {
			var o R
			if decodeRecord(v, &o) == nil {
				t.keyed(&o, k)
				old = &o
			}
		}
	}
	var stored any = r
	if t.beside != nil {
		if stored, err = t.beside.put(tx, k, r); err != nil {
			return fmt.Errorf("%s %s: %w", t.name, printable(k), err)
		}
	}
	data, err := encodeRecord(stored)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", t.name, printable(k), err)
	}
	if err := b.Put(k, data); err != nil {
		return err
	}
	for _, idx := range t.indexes {
		ib := tx.Bucket(idx.bucket)
		add := idx.entries(r)
		if old != nil {
			had := idx.entries(old)
			for _, e := range had {
				if !hasKey(add, e.key) && bytes.Equal(ib.Get(e.key), e.value) {
					if err := t.deleteEntry(tx, idx, ib, e.key); err != nil {
						return err
					}
				}
			}
			add = slicesDeleteFunc(add, func(e entry) bool { return hasEntry(had, e) && bytes.Equal(ib.Get(e.key), e.value) })
		}
		for _, e := range add {
			if err := t.putEntry(tx, idx, ib, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// putEntry writes an index entry; a new entry of a counted index adds one
// to its counter.
func (t *table[R]) putEntry(tx *bolt.Tx, idx index[R], ib *bolt.Bucket, e entry) error {
	if idx.counter != nil && !hasIndexKey(ib, e.key) {
		if err := t.count(tx, idx.counter(e.key), 1); err != nil {
			return err
		}
	}
	return ib.Put(e.key, e.value)
}

// deleteEntry deletes an index entry; an entry of a counted index that
// was there takes one from its counter.
func (t *table[R]) deleteEntry(tx *bolt.Tx, idx index[R], ib *bolt.Bucket, key []byte) error {
	if idx.counter != nil && hasIndexKey(ib, key) {
		if err := t.count(tx, idx.counter(key), -1); err != nil {
			return err
		}
	}
	return ib.Delete(key)
}

// count adds delta to the counter at key (none: not counted). A counter
// is stored while it is above zero, as a big-endian uint64. One that
// would fall below zero (it was damaged: check reports the difference)
// is deleted rather than failing the write.
func (t *table[R]) count(tx *bolt.Tx, key []byte, delta int64) error {
	if key == nil {
		return nil
	}
	b := tx.Bucket(t.counts)
	n := int64(decodeCount(b.Get(key))) + delta
	if n <= 0 {
		return b.Delete(key)
	}
	return b.Put(key, be64(uint64(n)))
}

// decodeCount reads a counter's value (0 for none or a malformed one).
func decodeCount(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// hasIndexKey reports whether an index holds key. (Get cannot say: it
// returns nil for an empty value written in the same transaction.)
func hasIndexKey(b *bolt.Bucket, key []byte) bool {
	k, _ := b.Cursor().Seek(key)
	return k != nil && bytes.Equal(k, key)
}

// remove deletes r and its index entries. An entry that now holds
// another value belongs to another record and stays.
func (t *table[R]) remove(tx *bolt.Tx, r *R) error {
	for _, idx := range t.indexes {
		ib := tx.Bucket(idx.bucket)
		for _, e := range idx.entries(r) {
			// (Get returns nil for an empty value written in this
			// transaction: the entry is there all the same.)
			if v := ib.Get(e.key); (v != nil || hasIndexKey(ib, e.key)) && bytes.Equal(v, e.value) {
				if err := t.deleteEntry(tx, idx, ib, e.key); err != nil {
					return err
				}
			}
		}
	}
	if t.beside != nil {
		if err := t.beside.remove(tx, t.key(r)); err != nil {
			return err
		}
	}
	return tx.Bucket(t.bucket).Delete(t.key(r))
}

// all calls fn for every record in key order. fn must not change the
// table's bucket.
func (t *table[R]) all(tx *bolt.Tx, fn func(*R) error) error {
	return tx.Bucket(t.bucket).ForEach(func(k, v []byte) error {
		var r R
		if err := t.decode(tx, k, v, &r); err != nil {
			return fmt.Errorf("decode %s %s: %w", t.name, printable(k), err)
		}
		t.keyed(&r, k)
		return fn(&r)
	})
}

// check reports every record stored under another key than its own or
// that does not decode, every index entry a record lacks, and every index
// entry that belongs to no record.
func (t *table[R]) check(tx *bolt.Tx) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	b := tx.Bucket(t.bucket)
	err := b.ForEach(func(k, v []byte) error {
		var r R
		if err := t.decode(tx, k, v, &r); err != nil {
			bad("%s %s: does not decode: %v", t.name, printable(k), err)
			return nil
		}
		t.keyed(&r, k)
		if own := t.key(&r); !bytes.Equal(own, k) {
			bad("%s %s: the record stored there is %s", t.name, printable(k), printable(own))
			return nil
		}
		for _, idx := range t.indexes {
			ib := tx.Bucket(idx.bucket)
			for _, e := range idx.entries(&r) {
				if v := ib.Get(e.key); v == nil || !bytes.Equal(v, e.value) {
					bad("%s %s: no entry %s in %s", t.name, printable(k), printable(e.key), idx.bucket)
				}
			}
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	for _, idx := range t.indexes {
		err := tx.Bucket(idx.bucket).ForEach(func(k, v []byte) error {
			ok := false
			if ownerKey, found := idx.owner(k, v); found {
				if data := b.Get(ownerKey); data != nil {
					var r R
					if decodeRecord(data, &r) == nil {
						t.keyed(&r, ownerKey)
						ok = hasEntry(idx.entries(&r), entry{k, v})
					}
				}
			}
			if !ok {
				bad("%s entry %s: belongs to no %s", idx.bucket, printable(k), t.name)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if t.beside != nil {
		errs = append(errs, t.beside.check(tx)...)
	}
	return append(errs, t.checkCounts(tx)...)
}

// checkCounts reports every counter of the counted indexes that differs
// from the number of its entries, and every counter missing.
func (t *table[R]) checkCounts(tx *bolt.Tx) []error {
	if t.counts == nil {
		return nil
	}
	var errs []error
	want := map[string]uint64{}
	for _, idx := range t.indexes {
		if idx.counter == nil {
			continue
		}
		err := tx.Bucket(idx.bucket).ForEach(func(k, _ []byte) error {
			if ck := idx.counter(k); ck != nil {
				want[string(ck)]++
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	err := tx.Bucket(t.counts).ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			errs = append(errs, fmt.Errorf("%s %s: malformed value %x", t.counts, printable(k), v))
		} else if n := decodeCount(v); n != want[string(k)] {
			errs = append(errs, fmt.Errorf("%s %s: %d, the index holds %d", t.counts, printable(k), n, want[string(k)]))
		}
		delete(want, string(k))
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		errs = append(errs, fmt.Errorf("%s %s: missing, the index holds %d", t.counts, printable([]byte(k)), want[k]))
	}
	return errs
}

func hasKey(es []entry, key []byte) bool {
	for _, e := range es {
		if bytes.Equal(e.key, key) {
			return true
		}
	}
	return false
}

func hasEntry(es []entry, want entry) bool {
	for _, e := range es {
		if bytes.Equal(e.key, want.key) && bytes.Equal(e.value, want.value) {
			return true
		}
	}
	return false
}

func slicesDeleteFunc(es []entry, del func(entry) bool) []entry {
	out := es[:0:0]
	for _, e := range es {
		if !del(e) {
			out = append(out, e)
		}
	}
	return out
}

// printable shows a key in errors: as text when it is printable ASCII,
// else in hex.
func printable(k []byte) string {
	for _, c := range k {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%x", k)
		}
	}
	return string(k)
}

// Records are encoded in CBOR (RFC 8949) since schema 14, and were JSON
// before. Both are encodings of the same storage structs, by their field
// names (and their json tags' names and omitempty/omitzero), so a field
// is defined once: CBOR keeps []byte fields as byte strings where JSON
// made them base64, a third larger (a 2 KB letter's record: about 3.5 KB
// of JSON, 2.4 KB of CBOR; docs/PERFORMANCE.md, "Small letters on disk").
// Records written as JSON stay as they are until they are next written,
// and are read: decodeRecord tells them apart by their first byte.
//
// Times are written as RFC 3339 text with nanoseconds and the offset, as
// JSON wrote them, so that a time reads back as it did from JSON (its
// zone's offset, its nanoseconds).
var (
	recordEncoding = mustEncMode(cbor.EncOptions{
		Time: cbor.TimeRFC3339Nano,
		// Maps' keys in order, so one record always has one encoding.
		Sort: cbor.SortBytewiseLexical,
	})
	recordDecoding = mustDecMode(cbor.DecOptions{
		// encoding/json wrote invalid UTF-8 as U+FFFD, so a record never
		// held it; one written in CBOR keeps it, and it reads back.
		UTF8: cbor.UTF8DecodeInvalid,
	})
)

func mustEncMode(o cbor.EncOptions) cbor.EncMode {
	m, err := o.EncMode()
	if err != nil {
		panic(err) // the options above are constant
	}
	return m
}

func mustDecMode(o cbor.DecOptions) cbor.DecMode {
	m, err := o.DecMode()
	if err != nil {
		panic(err) // the options above are constant
	}
	return m
}

// encodeRecord encodes a record (or a simple value) as it is stored:
// CBOR.
func encodeRecord(v any) ([]byte, error) { return recordEncoding.Marshal(v) }

// isJSON reports whether a stored value was written as JSON (before
// schema 14): encoding/json wrote a struct as an object, a slice as an
// array or null. A CBOR value of a struct or a slice begins with a map's
// or an array's head (0x80–0xbf) or null (0xf6), never with '{', '[' or
// 'n' (in CBOR, text strings of 27 and 14 bytes and a byte string of 27,
// which no record is).
func isJSON(data []byte) bool {
	return len(data) > 0 && (data[0] == '{' || data[0] == '[' || data[0] == 'n')
}

// decodeRecord decodes a stored record or simple value, in CBOR or as
// encoding/json wrote it before schema 14. Every read of a record goes
// through it.
//
// JSON is read with the faster decoder of github.com/go-json-experiment/json
// (json v2: a page of 50 letters decodes in about a third of the time;
// measured in PERFORMANCE.md, "The inbox page under a bulk send"). The
// records were written by encoding/json from the same types, so the names
// match exactly; v2's refusals of names in another case and of names
// given twice, right for the sender API's input, would only refuse what
// encoding/json accepted, so they are turned off to read exactly what it
// reads (and names match case-insensitively as strings.EqualFold does,
// not also ignoring "_" and "-" as v2's folding would).
func decodeRecord(data []byte, v any) error {
	if !isJSON(data) {
		return recordDecoding.Unmarshal(data, v)
	}
	return jsonv2.Unmarshal(data, v, jsonv2.MatchCaseInsensitiveNames(true), jsonv1.MatchCaseSensitiveDelimiter(true),
		jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

// DecodeRecord decodes a record of the file as the engine reads it, in
// either encoding: for tests and tools that read the file raw (the domain
// reads through the storage seam).
func DecodeRecord(data []byte, v any) error { return decodeRecord(data, v) }

// EncodeRecord encodes a record as the engine writes it: for tests that
// write the file raw.
func EncodeRecord(v any) ([]byte, error) { return encodeRecord(v) }

// Simple values: records without indexes, under a key the caller gives.

func getValue(b *bolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return storage.ErrNotFound
	}
	if err := decodeRecord(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", printable(key), err)
	}
	return nil
}

func putValue(b *bolt.Bucket, key []byte, v any) error {
	data, err := encodeRecord(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", printable(key), err)
	}
	return b.Put(key, data)
}

// getOrZero decodes the value at key into v, leaving v as it is when the
// key is missing.
func getOrZero(b *bolt.Bucket, key []byte, v any) error {
	if err := getValue(b, key, v); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}
