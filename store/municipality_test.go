package store

import (
	"context"
	"errors"
	"testing"
)

// TestMunicipality: the municipality is named by id or organisation
// number and must be an active public sender; anything else is refused
// with ErrNoMunicipality or ErrNotFound.
func TestMunicipality(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	private := mustSender(t, f.s, "Elselskabet A/S", "25313763", SenderPrivate)
	revoked := mustSender(t, f.s, "Gammel Kommune", "29189838", SenderPublic)
	if err := f.s.RevokeSender(context.Background(), revoked.ID); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{f.sender.ID, f.sender.OrgNumber, " " + f.sender.OrgNumber + " "} {
		if got, err := f.s.Municipality(context.Background(), ref); err != nil || got.ID != f.sender.ID {
			t.Errorf("Municipality(%q) = %s, %v", ref, got.ID, err)
		}
	}
	for _, tt := range []struct {
		ref  string
		want error
	}{
		{"", ErrNoMunicipality},
		{private.OrgNumber, ErrNoMunicipality},
		{private.ID, ErrNoMunicipality},
		{revoked.ID, ErrNoMunicipality},
		{revoked.OrgNumber, ErrNotFound}, // by number only active senders are found
		{"12345678", ErrNotFound},
	} {
		if _, err := f.s.Municipality(context.Background(), tt.ref); !errors.Is(err, tt.want) {
			t.Errorf("Municipality(%q) = %v, want %v", tt.ref, err, tt.want)
		}
	}
}

// TestAddSenderWithCertificate: a sender is registered with its
// certificate in one transaction; a certificate bound already refuses the
// whole registration, leaving nothing.
func TestAddSenderWithCertificate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cert := newTestCert(t, "Elselskabet A/S")
	snd, err := f.s.AddSender(context.Background(), "Elselskabet  A/S", "25313763", SenderPrivate, cert)
	if err != nil {
		t.Fatal(err)
	}
	if snd.Name != "Elselskabet A/S" || len(snd.Certificates) != 1 || snd.Certificates[0].Fingerprint != CertificateFingerprint(cert) {
		t.Errorf("sender %+v", snd)
	}
	if got, err := f.s.SenderByCertificate(context.Background(), cert); err != nil || got.ID != snd.ID {
		t.Errorf("SenderByCertificate = %s, %v", got.ID, err)
	}
	// The counts of the embedded file's buckets ("audit-log" since schema
	// 6), and on either engine the digest of everything stored.
	before, beforeDigest := countKeys(t, f.s), digest(t, f.s)
	if _, err := f.s.AddSender(context.Background(), "Andet Firma", "29189838", SenderPrivate, cert); !errors.Is(err, ErrExists) {
		t.Errorf("AddSender with a bound certificate: %v, want ErrExists", err)
	}
	if after := countKeys(t, f.s); after["senders"] != before["senders"] || after["audit"] != before["audit"] || after["audit-log"] != before["audit-log"] {
		t.Errorf("a refused registration stored something: %v → %v", before, after)
	}
	if digest(t, f.s) != beforeDigest {
		t.Error("a refused registration changed the database")
	}
}
