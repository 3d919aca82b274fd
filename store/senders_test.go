package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
)

func TestAddSender(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, testOptions(newFakeClock()))
	pub := mustSender(t, s, " Aarhus   Kommune ", "55133018", SenderPublic)
	if pub.Name != "Aarhus Kommune" || pub.OrgNumber != "55133018" || pub.Kind != SenderPublic || pub.ID == "" || pub.Revoked {
		t.Errorf("AddSender = %+v", pub)
	}
	priv := mustSender(t, s, "Fjordkraft AS", "976944801", SenderPrivate)
	if got, err := s.Sender(context.Background(), priv.ID); err != nil || got.Kind != SenderPrivate || got.OrgNumber != "976944801" {
		t.Errorf("Sender = %+v, %v", got, err)
	}
	all, err := s.Senders(context.Background())
	if err != nil || len(all) != 2 {
		t.Errorf("Senders = %+v, %v", all, err)
	}
	if _, err := s.Sender(context.Background(), "no-such-sender"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Sender(unknown): %v, want ErrNotFound", err)
	}
}

func TestAddSenderRefused(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, testOptions(newFakeClock()))
	mustSender(t, s, "Aarhus Kommune", "55133018", SenderPublic)
	before := digest(t, s)
	tests := []struct {
		name, sname, org string
		kind             SenderKind
		field            string
		want             error
	}{
		{"same organisation number", "Aarhus Kommune igen", "55133018", SenderPublic, "", ErrExists},
		{"empty name", "", "12345674", SenderPublic, "name", nil},
		{"blank name", "   ", "12345674", SenderPublic, "name", nil},
		{"long name", strings.Repeat("a", 201), "12345674", SenderPublic, "name", nil},
		{"name not UTF-8", "\xff\xfe", "12345674", SenderPublic, "name", nil},
		{"org 7 digits", "X", "1234567", SenderPublic, "org", nil},
		{"org 10 digits", "X", "1234567890", SenderPublic, "org", nil},
		{"org with letters", "X", "1234567a", SenderPublic, "org", nil},
		{"org with a space", "X", "1234 5678", SenderPublic, "org", nil},
		{"empty kind", "X", "12345674", "", "kind", nil},
		{"unknown kind", "X", "12345674", "government", "kind", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.AddSender(context.Background(), tt.sname, tt.org, tt.kind)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Errorf("AddSender: %v, want %v", err, tt.want)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != tt.field {
				t.Errorf("AddSender: %v, want an InvalidError for %s", err, tt.field)
			}
		})
	}
	if digest(t, s) != before {
		t.Error("a refused sender changed the database")
	}
}

func TestParseSenderKind(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{"public": true, "private": true, "": false, "Public": false, "other": false} {
		k, err := ParseSenderKind(in)
		if ok != (err == nil) || (ok && string(k) != in) {
			t.Errorf("ParseSenderKind(%q) = %q, %v", in, k, err)
		}
	}
}

func TestCertificates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.s
	cert := newTestCert(t, "aarhus")
	if _, err := s.SenderByCertificate(context.Background(), cert); !errors.Is(err, ErrUnknownSender) {
		t.Errorf("SenderByCertificate before binding: %v, want ErrUnknownSender", err)
	}
	if err := s.BindCertificate(context.Background(), f.sender.ID, cert); err != nil {
		t.Fatal(err)
	}
	got, err := s.SenderByCertificate(context.Background(), cert)
	if err != nil || got.ID != f.sender.ID {
		t.Fatalf("SenderByCertificate = %+v, %v", got, err)
	}
	if CertificateFingerprint(cert) != crypto.Fingerprint(cert) {
		t.Errorf("the store's fingerprint %s differs from crypto's %s", CertificateFingerprint(cert), crypto.Fingerprint(cert))
	}
	if len(got.Certificates) != 1 || got.Certificates[0].Fingerprint != CertificateFingerprint(cert) ||
		got.Certificates[0].Serial != cert.SerialNumber.Text(16) || !got.Certificates[0].NotAfter.Equal(cert.NotAfter) {
		t.Errorf("bound certificates %+v", got.Certificates)
	}
	// A second certificate for the same sender (renewal) works too.
	renewed := newTestCert(t, "aarhus")
	if err := s.BindCertificate(context.Background(), f.sender.ID, renewed); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SenderByCertificate(context.Background(), renewed); err != nil || got.ID != f.sender.ID {
		t.Errorf("SenderByCertificate(renewed) = %+v, %v", got, err)
	}

	other := mustSender(t, s, "Fjordkraft AS", "976944801", SenderPrivate)
	before := digest(t, s)
	if err := s.BindCertificate(context.Background(), other.ID, cert); !errors.Is(err, ErrExists) {
		t.Errorf("binding a certificate to a second sender: %v, want ErrExists", err)
	}
	if err := s.BindCertificate(context.Background(), "no-such-sender", newTestCert(t, "x")); !errors.Is(err, ErrNotFound) {
		t.Errorf("binding to an unknown sender: %v, want ErrNotFound", err)
	}
	if digest(t, s) != before {
		t.Error("a refused binding changed the database")
	}
	if _, err := s.SenderByCertificate(context.Background(), newTestCert(t, "stranger")); !errors.Is(err, ErrUnknownSender) {
		t.Errorf("SenderByCertificate(unknown): %v, want ErrUnknownSender", err)
	}
}

func TestRevokeSender(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.s
	cert := newTestCert(t, "aarhus")
	if err := s.BindCertificate(context.Background(), f.sender.ID, cert); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "before")); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	if err := s.RevokeSender(context.Background(), f.sender.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SenderByCertificate(context.Background(), cert); !errors.Is(err, ErrSenderRevoked) {
		t.Errorf("SenderByCertificate after revocation: %v, want ErrSenderRevoked", err)
	}
	got, err := s.Sender(context.Background(), f.sender.ID)
	if err != nil || !got.Revoked || !got.RevokedAt.Equal(f.clock.Now()) || !got.Certificates[0].Revoked {
		t.Errorf("Sender after revocation = %+v, %v", got, err)
	}
	before := digest(t, s)
	if _, err := s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "after")); !errors.Is(err, ErrSenderRevoked) {
		t.Errorf("Deliver after revocation: %v, want ErrSenderRevoked", err)
	}
	if err := s.BindCertificate(context.Background(), f.sender.ID, newTestCert(t, "aarhus")); !errors.Is(err, ErrSenderRevoked) {
		t.Errorf("BindCertificate after revocation: %v, want ErrSenderRevoked", err)
	}
	// Revoking twice is no error and changes nothing.
	if err := s.RevokeSender(context.Background(), f.sender.ID); err != nil {
		t.Errorf("second RevokeSender: %v", err)
	}
	if digest(t, s) != before {
		t.Error("refusals after revocation changed the database")
	}
	if err := s.RevokeSender(context.Background(), "no-such-sender"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeSender(unknown): %v, want ErrNotFound", err)
	}
	// The letter delivered before stays readable.
	mb := mustLogin(t, s, f.nid, testPassword)
	if inbox, err := mb.Inbox(context.Background()); err != nil || len(inbox) != 1 {
		t.Errorf("Inbox after revocation = %+v, %v", inbox, err)
	}
	// A revoked sender's organisation number may be registered again.
	if _, err := s.AddSender(context.Background(), "Aarhus Kommune", f.sender.OrgNumber, SenderPublic); err != nil {
		t.Errorf("AddSender with a revoked sender's number: %v", err)
	}
}
