package memo

import (
	"bytes"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParse: Parse never panics and never returns both a message and an
// error, or neither; its errors are the package's own (the input is in
// memory, so there is no reader error); and a message it returns keeps
// every rule and limit: a version, a lower-case v4 UUID, texts within
// MeMo's lengths, 1 to MaxDocuments documents of at most MaxDocumentSize
// bytes with a main one first, at most MaxActions actions of the API's
// types with https links and real dates. Parsing the same input twice
// gives the same message. Seeded with every file in testdata.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<Message xmlns="https://DigitalPost.dk/MeMo-1" memoVersion="1.2"><MessageHeader/></Message>`))
	f.Add([]byte("\ufeff<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>"))
	limits := Limits{MaxSize: 64 << 10, MaxDepth: 12, MaxDocuments: 5, MaxDocumentSize: 16 << 10, MaxActions: 5}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := Parse(bytes.NewReader(in), limits)
		if (m == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v: want a message or an error", m, err)
		}
		if err != nil {
			var inv *InvalidError
			var uns *UnsupportedError
			switch {
			case errors.As(err, &inv):
				if inv.Element == "" || inv.Reason == "" {
					t.Fatalf("%#v names no element or reason", inv)
				}
			case errors.As(err, &uns):
				if uns.Element == "" {
					t.Fatalf("%#v names no element", uns)
				}
			case errors.Is(err, ErrTooLarge):
			default:
				t.Fatalf("Parse: an error of no known kind: %v", err)
			}
			return
		}
		checkMessage(t, m, limits)
		again, err := Parse(bytes.NewReader(in), limits)
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("a second Parse of the same input = %+v, %v; the first %+v", again, err, m)
		}
	})
}

func checkMessage(t *testing.T, m *Message, l Limits) {
	t.Helper()
	if m.Version != "1.1" && m.Version != "1.2" {
		t.Errorf("version %q", m.Version)
	}
	if len(m.UUID) != 36 || m.UUID != strings.ToLower(m.UUID) || m.UUID[14] != '4' {
		t.Errorf("UUID %q", m.UUID)
	}
	for _, s := range []string{m.Label, m.SenderID, m.RecipientCPR} {
		if s == "" || utf8.RuneCountInString(s) > 256 || !utf8.ValidString(s) || strings.TrimSpace(s) != s {
			t.Errorf("text %q: empty, too long, not UTF-8 or not trimmed", s)
		}
	}
	if len(m.Documents) == 0 || len(m.Documents) > l.MaxDocuments {
		t.Fatalf("%d documents", len(m.Documents))
	}
	if m.Documents[0].Role != RoleMain {
		t.Errorf("the first document is %q", m.Documents[0].Role)
	}
	for _, d := range m.Documents {
		if d.Name == "" || d.ContentType == "" || int64(len(d.Content)) > l.MaxDocumentSize {
			t.Errorf("document %q %q of %d bytes", d.Name, d.ContentType, len(d.Content))
		}
		if d.Role != RoleMain && d.Role != RoleAdditional && d.Role != RoleTechnical {
			t.Errorf("role %q", d.Role)
		}
	}
	if len(m.Actions) > l.MaxActions {
		t.Errorf("%d actions", len(m.Actions))
	}
	for _, a := range m.Actions {
		switch a.Type {
		case ActionAppointment:
			if a.At.IsZero() {
				t.Errorf("appointment %+v without a time", a)
			}
		case ActionLink, ActionPay, ActionSign:
			if a.URL == "" || !a.At.IsZero() {
				t.Errorf("%s action %+v without a url, or with a time", a.Type, a)
			}
		default:
			t.Errorf("action type %q", a.Type)
		}
		if a.URL != "" {
			if u, err := url.Parse(a.URL); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
				t.Errorf("url %q", a.URL)
			}
		}
		if a.Deadline != "" {
			if _, err := time.Parse(time.DateOnly, a.Deadline); err != nil {
				t.Errorf("deadline %q", a.Deadline)
			}
		}
	}
}
