package embedded

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// TestDecodeRecordReadsWhatEncodingJSONReads: for every kind of record the
// engine keeps, filled at random in every field, decodeRecord (json v2)
// reads from encoding/json's bytes exactly what encoding/json reads; and
// from bytes encoding/json accepts though it never writes them (a name in
// another case, a name twice, invalid UTF-8) the same too.
func TestDecodeRecordReadsWhatEncodingJSONReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, kind := range recordKinds {
		typ := reflect.TypeOf(kind)
		t.Run(typ.String(), func(t *testing.T) {
			for range 50 {
				rec := reflect.New(typ)
				fill(rng, rec.Elem(), 0)
				data, err := json.Marshal(rec.Interface())
				if err != nil {
					t.Fatal(err)
				}
				same(t, typ, data)
			}
		})
	}
	// What encoding/json accepts though it never writes it.
	for _, data := range []string{
		`{"residentid":"a"}`,
		`{"Resident_ID":"a"}`,
		`{"resident-id":"a","Receipt":{"key_id":"k","KeyId":"j"}}`,
		`{"ResidentID":"a","residentId":"b"}`,
		`{"ResidentID":"a","ResidentID":"b"}`,
		"{\"ResidentID\":\"\xff\"}",
		`{"Receipt":{"payload":"AAAA","signature":"","keyId":"k"},"Unknown":1}`,
	} {
		same(t, reflect.TypeFor[storage.Letter](), []byte(data))
	}
	// A receipt that does not decode is refused by both.
	for _, data := range []string{`{"Receipt":{"payload":"***"}}`, `{"Receipt":{"signature":"%"}}`, `{"Receipt":[]}`} {
		var v1 storage.Letter
		if json.Unmarshal([]byte(data), &v1) == nil {
			t.Fatalf("encoding/json took %s", data)
		}
		var v2 storage.Letter
		if decodeRecord([]byte(data), &v2) == nil {
			t.Errorf("decodeRecord took %s", data)
		}
	}
}

// recordKinds are the types the engine stores as records: every table's
// and every simple value's.
var recordKinds = []any{storage.Resident{}, storage.Sender{}, storage.Letter{}, sessionRow{}, storage.Notification{},
	storage.TermsVersion{}, storage.JobRun{}, storage.SupportRequest{}, storage.Limit{}, storage.PrintLetter{},
	storage.Reply{}, storage.Delegation{}, storage.TermsAcceptance{}, storage.RetentionRecord{},
	storage.PreferencesRecord{}, []storage.SenderBlock{}, storage.Event{}, storage.Callback{}, []storage.Folder{},
	leaseRecord{}}

// TestRecordsInCBOR: every kind of record, filled at random in every
// field, is written in CBOR (never taken for JSON), and reads back as
// exactly what the same record written as JSON before schema 14 reads
// back as; a slice with nothing in it too.
func TestRecordsInCBOR(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, kind := range recordKinds {
		typ := reflect.TypeOf(kind)
		t.Run(typ.String(), func(t *testing.T) {
			for i := range 50 {
				rec := reflect.New(typ)
				if i > 0 {
					fill(rng, rec.Elem(), 0)
				}
				data, err := encodeRecord(rec.Interface())
				if err != nil {
					t.Fatal(err)
				}
				if isJSON(data) {
					t.Fatalf("CBOR taken for JSON: % x", data[:min(len(data), 8)])
				}
				old, err := json.Marshal(rec.Interface())
				if err != nil {
					t.Fatal(err)
				}
				if !isJSON(old) {
					t.Fatalf("JSON not taken for JSON: %.20s", old)
				}
				fromCBOR, fromJSON := reflect.New(typ), reflect.New(typ)
				if err := decodeRecord(data, fromCBOR.Interface()); err != nil {
					t.Fatalf("decode CBOR: %v", err)
				}
				if err := decodeRecord(old, fromJSON.Interface()); err != nil {
					t.Fatalf("decode JSON: %v", err)
				}
				// (A receipt's empty payload reads from JSON as an empty
				// slice and from CBOR as none: alike to every user.)
				nilEmpty(fromCBOR.Elem())
				nilEmpty(fromJSON.Elem())
				if !reflect.DeepEqual(fromCBOR.Interface(), fromJSON.Interface()) {
					a, b := fmt.Sprintf("%#v", fromCBOR.Elem()), fmt.Sprintf("%#v", fromJSON.Elem())
					i := 0
					for i < min(len(a), len(b)) && a[i] == b[i] {
						i++
					}
					t.Fatalf("read differently at %d:\nfrom CBOR …%.200s\nfrom JSON …%.200s", i, a[max(0, i-100):], b[max(0, i-100):])
				}
			}
		})
	}
}

// nilEmpty sets every empty slice in v to nil.
func nilEmpty(v reflect.Value) {
	switch v.Kind() {
	case reflect.Slice:
		if v.Len() == 0 {
			if v.CanSet() {
				v.Set(reflect.Zero(v.Type()))
			}
			return
		}
		for i := range v.Len() {
			nilEmpty(v.Index(i))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			nilEmpty(v.Elem())
		}
	case reflect.Struct:
		if _, ok := v.Interface().(time.Time); ok {
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				nilEmpty(v.Field(i))
			}
		}
	}
}

// TestRecordInCBORIsSmaller: a letter's record in CBOR is smaller than in
// JSON by at least its byte fields' base64 (a third of their size).
func TestRecordInCBORIsSmaller(t *testing.T) {
	l := storage.Letter{ID: strings.Repeat("a", 32), SealedKey: make([]byte, 1200), Subject: make([]byte, 60),
		Receipt: storage.Receipt{Payload: make([]byte, 800), Signature: make([]byte, 64), KeyID: "k"}}
	c, err := encodeRecord(&l)
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(&l)
	if err != nil {
		t.Fatal(err)
	}
	if len(c) > len(j)-(1200+60+800+64)/3 {
		t.Errorf("CBOR %d bytes, JSON %d", len(c), len(j))
	}
}

// TestDamagedCBORRecord: a CBOR record cut short, or with a field of the
// wrong type, does not decode (an error, never a panic or a record half
// read that passes), and a table's check reports it.
func TestDamagedCBORRecord(t *testing.T) {
	l := storage.Letter{ID: strings.Repeat("b", 32), ResidentID: strings.Repeat("c", 32), SealedKey: []byte("key")}
	data, err := encodeRecord(&l)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"cut short":        data[:len(data)-2],
		"a byte more":      append(bytes.Clone(data), 0),
		"a string for int": mustEncode(t, map[string]any{"ID": l.ID, "Size": "large"}),
		"an array":         mustEncode(t, []int{1, 2}),
	} {
		var got storage.Letter
		if err := decodeRecord(bad, &got); err == nil {
			t.Errorf("%s: decoded as %+v", name, got)
		}
	}
}

func mustEncode(t *testing.T, v any) []byte {
	t.Helper()
	data, err := encodeRecord(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// FuzzDecodeRecord: whatever a damaged or hostile file holds, decoding a
// record returns an error or a record, never a panic.
func FuzzDecodeRecord(f *testing.F) {
	l := storage.Letter{ID: strings.Repeat("d", 32), SealedKey: []byte("key"), Documents: []storage.DocumentRecord{{Size: 3}},
		Receipt: storage.Receipt{Payload: []byte("{}")}}
	c, err := encodeRecord(&l)
	if err != nil {
		f.Fatal(err)
	}
	j, err := json.Marshal(&l)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c)
	f.Add(j)
	f.Add([]byte{0xf6})
	f.Add([]byte("null"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var l storage.Letter
		_ = decodeRecord(data, &l)
		var s []storage.Folder
		_ = decodeRecord(data, &s)
	})
}

// same checks that decodeRecord and encoding/json read data alike.
func same(t *testing.T, typ reflect.Type, data []byte) {
	t.Helper()
	v1, v2 := reflect.New(typ), reflect.New(typ)
	if err := json.Unmarshal(data, v1.Interface()); err != nil {
		t.Fatalf("encoding/json: %v: %s", err, data)
	}
	if err := decodeRecord(data, v2.Interface()); err != nil {
		t.Fatalf("decodeRecord: %v: %s", err, data)
	}
	if !reflect.DeepEqual(v1.Interface(), v2.Interface()) {
		t.Errorf("%s read differently:\nencoding/json %+v\ndecodeRecord  %+v\nfrom %s", typ, v1.Elem(), v2.Elem(), data)
	}
}

// fill sets every exported field of v at random, zero now and then (as
// omitempty and omitzero leave them out).
func fill(rng *rand.Rand, v reflect.Value, depth int) {
	if rng.IntN(6) == 0 && depth > 0 {
		return // the zero value
	}
	switch v.Interface().(type) {
	case time.Time:
		at := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9))
		if rng.IntN(2) == 0 {
			at = at.In(time.FixedZone("", 3600))
		}
		v.Set(reflect.ValueOf(at))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(randomText(rng))
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(rng.Int64N(1<<40) - 1<<39)
	case reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Uint8:
		v.SetUint(rng.Uint64N(200))
	case reflect.Float64:
		v.SetFloat(rng.Float64() * 1000)
	case reflect.Slice:
		n := rng.IntN(4)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fill(rng, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range rng.IntN(3) {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(rng, k, depth+1)
			fill(rng, e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(rng, p.Elem(), depth+1)
		v.Set(p)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(rng, v.Field(i), depth+1)
			}
		}
	}
}

// randomText is a short string with Danish letters, quotes and escapes.
func randomText(rng *rand.Rand) string {
	parts := []string{"a", "Æ", "ø", "å", `"`, `\`, "<", "&", "\u2028", "\t", "1", " "}
	var b strings.Builder
	for range rng.IntN(8) {
		b.WriteString(parts[rng.IntN(len(parts))])
	}
	return b.String()
}

// BenchmarkLetterRecord measures encoding and decoding a 2 KB letter's
// record (a sealed key, subject, body, document name and receipt of the
// sizes BenchmarkCommit's letters have) in CBOR and, for the records
// written before schema 14, JSON; whole and as an inbox page lists it; and
// the record of schema 15, its sealed key and receipt payload kept beside
// it (cbor-parted: the record alone; BenchmarkLetterGet measures the read
// that joins them).
//
//	go test ./store/embedded -run '^$' -bench LetterRecord
func BenchmarkLetterRecord(b *testing.B) {
	at := time.Date(2026, 12, 3, 15, 45, 34, 544989000, time.UTC)
	l := storage.Letter{ID: strings.Repeat("a", 32), ResidentID: strings.Repeat("b", 32), SenderID: strings.Repeat("c", 32),
		SenderReference: "r-2999", Type: storage.TypeLetter, DeliveredAt: at, Size: 2048,
		ContentHash: "sha256:" + strings.Repeat("d", 64), SealedKey: make([]byte, 1171), Subject: make([]byte, 42),
		Body: make([]byte, 42), Documents: []storage.DocumentRecord{{Name: make([]byte, 46), ContentType: "application/pdf", Size: 2048}},
		Receipt: storage.Receipt{Payload: make([]byte, 805), Signature: make([]byte, 64), KeyID: strings.Repeat("e", 16)}}
	j, err := json.Marshal(&l)
	if err != nil {
		b.Fatal(err)
	}
	c, err := encodeRecord(&l)
	if err != nil {
		b.Fatal(err)
	}
	// The record as it is stored since schema 15, the sealed key and the
	// receipt's payload kept beside it (letterparts.go).
	parted := storedLetter{Letter: l, Parts: map[uint16]int{fieldSealedKey: len(l.SealedKey), fieldReceiptPayload: len(l.Receipt.Payload)}}
	parted.SealedKey, parted.Receipt.Payload = nil, nil
	p, err := encodeRecord(&parted)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("a letter's record: %d bytes of JSON, %d of CBOR, %d of CBOR with the big fields beside it", len(j), len(c), len(p))
	b.Run("encode=json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(&l); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode=cbor", func(b *testing.B) {
		for b.Loop() {
			if _, err := encodeRecord(&l); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, f := range []struct {
		name string
		data []byte
	}{{"json", j}, {"cbor", c}, {"cbor-parted", p}} {
		b.Run("decode="+f.name, func(b *testing.B) {
			for b.Loop() {
				var r storage.Letter
				if err := decodeRecord(f.data, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("listed="+f.name, func(b *testing.B) {
			for b.Loop() {
				var r listedLetter
				if err := decodeRecord(f.data, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
