package embedded

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// TestDecodeRecordReadsWhatEncodingJSONReads: for every kind of record a
// table keeps, filled at random in every field, decodeRecord (json v2)
// reads from encoding/json's bytes exactly what encoding/json reads; and
// from bytes encoding/json accepts though it never writes them (a name in
// another case, a name twice, invalid UTF-8) the same too.
func TestDecodeRecordReadsWhatEncodingJSONReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []any{storage.Resident{}, storage.Sender{}, storage.Letter{}, sessionRow{}, storage.Notification{},
		storage.TermsVersion{}, storage.JobRun{}, storage.SupportRequest{}, storage.Limit{}}
	for _, kind := range kinds {
		typ := reflect.TypeOf(kind)
		t.Run(typ.Name(), func(t *testing.T) {
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
