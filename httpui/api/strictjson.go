package api

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// decodeStrict decodes raw, one JSON value of a request (the "message"
// part of a delivery, the body of a bulk lookup), into v, a pointer to
// the request's struct. It is the only JSON decoder of the sender API and
// is strict where encoding/json is lenient, because a sender must never
// believe that something it sent was taken when it was not (issue 13):
//
//   - a member v does not know is refused, naming it ("notBefore" sent to
//     a version without it would otherwise be delivered at once);
//   - names match exactly: "NATIONALID" is an unknown member, not
//     "nationalId";
//   - a name given twice in one object is refused (encoding/json takes
//     the last, so a gateway that checks the first can be bypassed);
//   - invalid UTF-8 and lone surrogate escapes (\ud800) are refused, not
//     replaced with U+FFFD (the receipt's hash would cover text the
//     sender never sent), RFC 8259 §8.1 and §8.2;
//   - a second JSON value after the first is refused.
//
// whole names the request in errors about it as a whole. Errors are
// *store.InvalidError naming the field at fault as the API's documents
// name it: "recipient.nationalId", "nationalIds[3]".
func decodeStrict(raw []byte, v any, whole string) error {
	dec := jsontext.NewDecoder(bytes.NewReader(raw),
		jsontext.AllowDuplicateNames(false),
		jsontext.AllowInvalidUTF8(false),
	)
	err := json.UnmarshalDecode(dec, v,
		json.RejectUnknownMembers(true),
		json.MatchCaseInsensitiveNames(false),
	)
	if err != nil {
		return strictError(err, whole)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return invalidf(whole, "more than one JSON value")
	}
	return nil
}

// strictError makes a decoding error an invalid request naming the field.
func strictError(err error, whole string) error {
	var sem *json.SemanticError
	var syn *jsontext.SyntacticError
	switch {
	case errors.As(err, &sem) && errors.Is(sem.Err, json.ErrUnknownName):
		return invalidf(pointerField(sem.JSONPointer, whole), "unknown field (names are case-sensitive; the OpenAPI document lists the fields)")
	case errors.As(err, &sem) && sem.GoType != nil && sem.JSONPointer != "":
		return invalidf(pointerField(sem.JSONPointer, whole), "must be a JSON %s, not %s", jsonKindOf(sem.GoType), jsonKindName(sem.JSONKind))
	case errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return invalidf(pointerField(syn.JSONPointer, whole), "given more than once")
	case errors.As(err, &syn) && strings.Contains(syn.Err.Error(), "surrogate"):
		// The decoder's message quotes the input after the escape.
		return invalidf(pointerField(syn.JSONPointer, whole), "not valid JSON: a lone surrogate escape (RFC 8259 §8.2)")
	case errors.As(err, &syn) && syn.Err != nil && strings.Contains(syn.Err.Error(), "UTF-8"):
		return invalidf(pointerField(syn.JSONPointer, whole), "not valid JSON: %v", syn.Err)
	case errors.As(err, &syn) && syn.Err != nil:
		// Broken JSON is the whole value's fault, wherever it broke.
		return invalidf(whole, "not valid JSON: %v", syn.Err)
	}
	return invalidf(whole, "not valid JSON: %v", err)
}

// pointerField writes a JSON pointer (RFC 6901) as the API's documents
// name fields: /recipient/nationalId is recipient.nationalId and
// /nationalIds/3 is nationalIds[3]. The empty pointer is the whole value.
func pointerField(p jsontext.Pointer, whole string) string {
	if p == "" {
		return whole
	}
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// jsonKindOf names the JSON kind a Go type is decoded from.
func jsonKindOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "number"
}

// jsonKindName names a JSON kind as a sender would.
func jsonKindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 'n':
		return "null"
	}
	return "something else"
}
