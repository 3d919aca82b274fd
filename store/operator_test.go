package store

import (
	"context"
	"errors"
	"testing"
)

func TestRevokeCertificate(t *testing.T) {
	s := openTestStore(t, testOptions(newFakeClock()))
	sender := mustSender(t, s, "Eksempelby Kommune", "29189846", SenderPublic)
	lost, kept := newTestCert(t, "lost"), newTestCert(t, "kept")
	if err := s.BindCertificate(context.Background(), sender.ID, lost); err != nil {
		t.Fatal(err)
	}
	if err := s.BindCertificate(context.Background(), sender.ID, kept); err != nil {
		t.Fatal(err)
	}
	fp := CertificateFingerprint(lost)
	got, err := s.RevokeCertificate(context.Background(), fp)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != sender.ID || got.Revoked {
		t.Fatalf("RevokeCertificate returned %+v", got)
	}
	for _, c := range got.Certificates {
		if c.Revoked != (c.Fingerprint == fp) {
			t.Errorf("certificate %s revoked=%v", c.Fingerprint, c.Revoked)
		}
	}
	if _, err := s.SenderByCertificate(context.Background(), lost); !errors.Is(err, ErrSenderRevoked) {
		t.Fatalf("the revoked certificate authenticates: %v", err)
	}
	if got, err := s.SenderByCertificate(context.Background(), kept); err != nil || got.ID != sender.ID {
		t.Fatalf("the other certificate: %+v %v", got, err)
	}

	// Again: no change, no second audit entry.
	before, err := s.AuditLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeCertificate(context.Background(), fp); err != nil {
		t.Fatal(err)
	}
	after, err := s.AuditLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("a repeated revocation added %d audit entries", len(after)-len(before))
	}
	if last := before[len(before)-1]; last.Action != "revoke-certificate" || last.Object != "sender:"+sender.ID {
		t.Fatalf("last audit entry %+v", last)
	}

	if _, err := s.RevokeCertificate(context.Background(), "00"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown fingerprint: %v", err)
	}
}
