package store

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/postkasse/postkasse/store/auditlog"
	"github.com/postkasse/postkasse/store/storage"
)

// senderRecord is a sender as the engine stores it: a Sender. Everything
// about a sender is in clear.
type senderRecord = storage.Sender

// senderOf returns a copy that shares no slice with the record.
func senderOf(r *senderRecord) Sender {
	out := *r
	out.Certificates = append([]SenderCertificate(nil), r.Certificates...)
	return out
}

// CertificateFingerprint returns the SHA-256 of a certificate's DER in
// lowercase hex: the key that binds a certificate to a sender.
func CertificateFingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// ParseSenderKind validates a sender kind.
func ParseSenderKind(s string) (SenderKind, error) {
	switch k := SenderKind(s); k {
	case SenderPublic, SenderPrivate:
		return k, nil
	}
	return "", invalid("kind", "%q is neither public nor private", s)
}

// CheckSender checks a new sender's name, organisation number and kind
// as AddSender does, and returns the name as it will be stored (white
// space folded): the operator issues the sender's certificate with that
// name before registering it.
func CheckSender(name, org string, kind SenderKind) (string, error) {
	name = normaliseSpaces(name)
	if name == "" || len(name) > 200 || !utf8.ValidString(name) {
		return "", invalid("name", "between 1 and 200 bytes of text")
	}
	if _, err := CheckOrgNumber(org); err != nil {
		return "", err
	}
	if _, err := ParseSenderKind(string(kind)); err != nil {
		return "", err
	}
	return name, nil
}

// AddSender registers a sender and binds the given client certificates
// to it, in one transaction: a sender is never stored without the
// certificates it was registered with. An organisation number that an
// active sender has is ErrExists; so is a certificate bound already.
func (s *Store) AddSender(ctx context.Context, name, org string, kind SenderKind, certs ...*x509.Certificate) (Sender, error) {
	name, err := CheckSender(name, org, kind)
	if err != nil {
		return Sender{}, err
	}
	id, err := s.newID()
	if err != nil {
		return Sender{}, err
	}
	now := s.now()
	rec := senderRecord{ID: id, Name: name, OrgNumber: org, Kind: kind, Created: now}
	for _, cert := range certs {
		rec.Certificates = append(rec.Certificates, certificateRecord(cert))
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		if _, err := activeSenderByOrg(tx, org); err == nil {
			return fmt.Errorf("sender with organisation number %s: %w", org, ErrExists)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		for _, c := range rec.Certificates {
			if err := certificateFree(tx, c.Fingerprint); err != nil {
				return err
			}
		}
		if err := tx.Senders().Put(&rec); err != nil {
			return err
		}
		if err := s.appendAudit(tx, now, operatorActor(ctx), "add-sender", "sender:"+id); err != nil {
			return err
		}
		for range rec.Certificates {
			if err := s.appendAudit(tx, now, operatorActor(ctx), "bind-certificate", "sender:"+id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Sender{}, err
	}
	return senderOf(&rec), nil
}

func certificateRecord(cert *x509.Certificate) SenderCertificate {
	return SenderCertificate{
		Fingerprint: CertificateFingerprint(cert), Serial: cert.SerialNumber.Text(16), NotAfter: cert.NotAfter.UTC(),
	}
}

// certificateFree is ErrExists when the fingerprint is bound to a sender.
func certificateFree(tx storage.Tx, fingerprint string) error {
	_, err := tx.Senders().ByCertificate(fingerprint)
	switch {
	case err == nil:
		return fmt.Errorf("certificate %s: %w", fingerprint, ErrExists)
	case errors.Is(err, ErrNotFound):
		return nil
	}
	return err
}

// BindCertificate binds a client certificate to a sender, so that requests
// made with it act as that sender.
func (s *Store) BindCertificate(ctx context.Context, senderID string, cert *x509.Certificate) error {
	now := s.now()
	return s.update(ctx, func(tx storage.Tx) error {
		rec, err := getSender(tx, senderID)
		if err != nil {
			return err
		}
		if rec.Revoked {
			return fmt.Errorf("sender %s: %w", senderID, ErrSenderRevoked)
		}
		c := certificateRecord(cert)
		if err := certificateFree(tx, c.Fingerprint); err != nil {
			return err
		}
		rec.Certificates = append(rec.Certificates, c)
		if err := tx.Senders().Put(rec); err != nil {
			return err
		}
		return s.appendAudit(tx, now, operatorActor(ctx), "bind-certificate", "sender:"+senderID)
	})
}

func getSender(tx storage.Tx, id string) (*senderRecord, error) {
	rec, err := tx.Senders().Get(id)
	if err != nil {
		return nil, fmt.Errorf("sender %s: %w", id, err)
	}
	return rec, nil
}

// activeSender returns the sender with id if it may deliver.
func activeSender(tx storage.Tx, id string) (*senderRecord, error) {
	rec, err := getSender(tx, id)
	if err != nil {
		return nil, err
	}
	if rec.Revoked {
		return nil, fmt.Errorf("sender %s: %w", id, ErrSenderRevoked)
	}
	return rec, nil
}

// activeSenderByOrg returns the sender that is not revoked with the
// organisation number (at most one is: AddSender sees to it).
func activeSenderByOrg(tx storage.Tx, org string) (*senderRecord, error) {
	var out *senderRecord
	err := tx.Senders().All(func(rec *senderRecord) error {
		if rec.OrgNumber == org && !rec.Revoked {
			out = rec
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fmt.Errorf("sender with organisation number %s: %w", org, ErrNotFound)
	}
	return out, nil
}

// SenderByCertificate returns the sender a client certificate is bound to.
// The caller has already verified the certificate against the sender CA;
// this checks that it is bound and that neither it nor its sender is
// revoked, so a revocation takes effect on the next request.
func (s *Store) SenderByCertificate(ctx context.Context, cert *x509.Certificate) (Sender, error) {
	fp := CertificateFingerprint(cert)
	var out Sender
	err := s.view(ctx, func(tx storage.Tx) error {
		rec, err := tx.Senders().ByCertificate(fp)
		if errors.Is(err, ErrNotFound) {
			return ErrUnknownSender
		} else if err != nil {
			return err
		}
		if rec.Revoked {
			return fmt.Errorf("sender %s: %w", rec.ID, ErrSenderRevoked)
		}
		for _, c := range rec.Certificates {
			if c.Fingerprint == fp && c.Revoked {
				return fmt.Errorf("certificate %s: %w", fp, ErrSenderRevoked)
			}
		}
		out = senderOf(rec)
		return nil
	})
	return out, err
}

// Sender returns the sender with the given id.
func (s *Store) Sender(ctx context.Context, id string) (Sender, error) {
	var out Sender
	err := s.view(ctx, func(tx storage.Tx) error {
		rec, err := getSender(tx, id)
		if err != nil {
			return err
		}
		out = senderOf(rec)
		return nil
	})
	return out, err
}

// SenderByOrgNumber returns the sender that is not revoked with the
// given organisation number.
func (s *Store) SenderByOrgNumber(ctx context.Context, org string) (Sender, error) {
	var out Sender
	err := s.view(ctx, func(tx storage.Tx) error {
		rec, err := activeSenderByOrg(tx, org)
		if err != nil {
			return err
		}
		out = senderOf(rec)
		return nil
	})
	return out, err
}

// senderIDPattern matches a sender id: 128 bits in lowercase hex.
var senderIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// SenderByRef returns the sender an operator names: by its id (32
// lowercase hex digits), else by its organisation number (the sender that
// is not revoked). It is the one place that resolves such a name.
func (s *Store) SenderByRef(ctx context.Context, ref string) (Sender, error) {
	if senderIDPattern.MatchString(ref) {
		return s.Sender(ctx, ref)
	}
	return s.SenderByOrgNumber(ctx, ref)
}

// Municipality returns the sender that delivers the appliance's own
// letters to every mailbox (the notices of new terms of use): the sender
// ref names (SenderByRef), which must be active and public, as the terms
// of use are the municipality's. It is the one place that rule lives.
func (s *Store) Municipality(ctx context.Context, ref string) (Sender, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return Sender{}, fmt.Errorf("no municipality sender configured: %w", ErrNoMunicipality)
	}
	snd, err := s.SenderByRef(ctx, ref)
	if err != nil {
		return Sender{}, fmt.Errorf("municipality sender %q: %w", ref, err)
	}
	if snd.Revoked || snd.Kind != SenderPublic {
		return Sender{}, fmt.Errorf("municipality sender %q (%s) must be an active public sender: %w", ref, snd.Name, ErrNoMunicipality)
	}
	return snd, nil
}

// Senders returns all senders.
func (s *Store) Senders(ctx context.Context) ([]Sender, error) {
	var out []Sender
	err := s.view(ctx, func(tx storage.Tx) error {
		return tx.Senders().All(func(rec *senderRecord) error {
			out = append(out, senderOf(rec))
			return nil
		})
	})
	return out, err
}

// RevokeSender revokes a sender and all its certificates, and removes its
// callback. Its letters stay in the mailboxes; it can deliver no more.
func (s *Store) RevokeSender(ctx context.Context, id string) error {
	now := s.now()
	return s.update(ctx, func(tx storage.Tx) error {
		rec, err := getSender(tx, id)
		if err != nil {
			return err
		}
		if rec.Revoked {
			return nil
		}
		rec.Revoked, rec.RevokedAt = true, now
		var fingerprints []string
		for i := range rec.Certificates {
			if !rec.Certificates[i].Revoked {
				fingerprints = append(fingerprints, rec.Certificates[i].Fingerprint)
			}
			rec.Certificates[i].Revoked = true
		}
		if err := tx.Senders().Put(rec); err != nil {
			return err
		}
		// A revoked sender is told nothing more.
		if err := tx.Callbacks().Delete(id); err != nil {
			return err
		}
		return s.appendAuditDetail(tx, now, operatorActor(ctx), "revoke-sender", "sender:"+id, certificatesDetail(fingerprints))
	})
}

// certificatesDetail is the audit detail of a revocation: the SHA-256
// fingerprints of the certificates it revoked, as many as the detail
// holds (auditlog.MaxFieldSize), then how many more.
func certificatesDetail(fingerprints []string) string {
	if len(fingerprints) == 0 {
		return ""
	}
	d := "certificates"
	for i, fp := range fingerprints {
		if len(d)+1+len(fp)+len(" and 1000 more") > auditlog.MaxFieldSize {
			return d + fmt.Sprintf(" and %d more", len(fingerprints)-i)
		}
		d += " " + fp
	}
	return d
}

// RevokeCertificate revokes one client certificate, named by its
// fingerprint (CertificateFingerprint), and returns the sender it was
// bound to. The sender and its other certificates stay active: this is
// for a lost or leaked key, after which the operator issues a new one.
// SenderByCertificate refuses the certificate from the next request on.
// Revoking a revoked certificate changes nothing; an unknown fingerprint is
// ErrNotFound.
func (s *Store) RevokeCertificate(ctx context.Context, fingerprint string) (Sender, error) {
	now := s.now()
	var out Sender
	err := s.update(ctx, func(tx storage.Tx) error {
		rec, err := tx.Senders().ByCertificate(fingerprint)
		if err != nil {
			return err
		}
		found := false
		for i := range rec.Certificates {
			if rec.Certificates[i].Fingerprint != fingerprint {
				continue
			}
			found = true
			if rec.Certificates[i].Revoked {
				out = senderOf(rec)
				return nil
			}
			rec.Certificates[i].Revoked = true
		}
		if !found {
			// The index names the sender, so its record lists the
			// certificate: anything else is a broken invariant.
			return fmt.Errorf("certificate %s: bound to sender %s, which does not list it", fingerprint, rec.ID)
		}
		if err := tx.Senders().Put(rec); err != nil {
			return err
		}
		out = senderOf(rec)
		return s.appendAuditDetail(tx, now, operatorActor(ctx), "revoke-certificate", "sender:"+rec.ID, certificatesDetail([]string{fingerprint}))
	})
	if err != nil {
		return Sender{}, err
	}
	return out, nil
}
