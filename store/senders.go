package store

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// senderRecord is a sender as stored in the senders bucket: a Sender's
// fields, as JSON. Everything about a sender is in clear.
type senderRecord Sender

// sender returns a copy that shares no slice with the record.
func (r *senderRecord) sender() Sender {
	out := Sender(*r)
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

// checkOrgNumber accepts an organisation number of 8 or 9 digits (a Danish
// CVR number or a Norwegian organisasjonsnummer).
func checkOrgNumber(org string) error {
	if len(org) < 8 || len(org) > 9 {
		return invalid("org", "an organisation number has 8 (CVR) or 9 digits")
	}
	for _, c := range []byte(org) {
		if c < '0' || c > '9' {
			return invalid("org", "an organisation number has only digits")
		}
	}
	return nil
}

// AddSender registers a sender. Its certificates are bound with
// BindCertificate.
func (s *Store) AddSender(name, org string, kind SenderKind) (Sender, error) {
	name = normaliseSpaces(name)
	if name == "" || len(name) > 200 || !utf8.ValidString(name) {
		return Sender{}, invalid("name", "between 1 and 200 bytes of text")
	}
	if err := checkOrgNumber(org); err != nil {
		return Sender{}, err
	}
	if _, err := ParseSenderKind(string(kind)); err != nil {
		return Sender{}, err
	}
	id, err := s.newID()
	if err != nil {
		return Sender{}, err
	}
	now := s.now()
	rec := senderRecord{ID: id, Name: name, OrgNumber: org, Kind: kind, Created: now}
	err = s.update(func(tx *bolt.Tx) error {
		senders := tx.Bucket(bucketSenders)
		err := senders.ForEach(func(k, _ []byte) error {
			other, err := getSender(tx, string(k))
			if err != nil {
				return err
			}
			if other.OrgNumber == org && !other.Revoked {
				return fmt.Errorf("sender with organisation number %s: %w", org, ErrExists)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := putJSON(senders, []byte(id), &rec); err != nil {
			return err
		}
		return s.appendAudit(tx, now, "operator", "add-sender", "sender:"+id)
	})
	if err != nil {
		return Sender{}, err
	}
	return rec.sender(), nil
}

// BindCertificate binds a client certificate to a sender, so that requests
// made with it act as that sender.
func (s *Store) BindCertificate(senderID string, cert *x509.Certificate) error {
	fp := CertificateFingerprint(cert)
	now := s.now()
	return s.update(func(tx *bolt.Tx) error {
		rec, err := getSender(tx, senderID)
		if err != nil {
			return err
		}
		if rec.Revoked {
			return fmt.Errorf("sender %s: %w", senderID, ErrSenderRevoked)
		}
		certs := tx.Bucket(bucketSenderCerts)
		if certs.Get([]byte(fp)) != nil {
			return fmt.Errorf("certificate %s: %w", fp, ErrExists)
		}
		if err := certs.Put([]byte(fp), []byte(senderID)); err != nil {
			return err
		}
		rec.Certificates = append(rec.Certificates, SenderCertificate{
			Fingerprint: fp, Serial: cert.SerialNumber.Text(16), NotAfter: cert.NotAfter.UTC(),
		})
		if err := putJSON(tx.Bucket(bucketSenders), []byte(senderID), rec); err != nil {
			return err
		}
		return s.appendAudit(tx, now, "operator", "bind-certificate", "sender:"+senderID)
	})
}

func getSender(tx *bolt.Tx, id string) (*senderRecord, error) {
	var rec senderRecord
	if err := getJSON(tx.Bucket(bucketSenders), []byte(id), &rec); err != nil {
		return nil, fmt.Errorf("sender %s: %w", id, err)
	}
	return &rec, nil
}

// activeSender returns the sender with id if it may deliver.
func activeSender(tx *bolt.Tx, id string) (*senderRecord, error) {
	rec, err := getSender(tx, id)
	if err != nil {
		return nil, err
	}
	if rec.Revoked {
		return nil, fmt.Errorf("sender %s: %w", id, ErrSenderRevoked)
	}
	return rec, nil
}

// SenderByCertificate returns the sender a client certificate is bound to.
// The caller has already verified the certificate against the sender CA;
// this checks that it is bound and that neither it nor its sender is
// revoked, so a revocation takes effect on the next request.
func (s *Store) SenderByCertificate(cert *x509.Certificate) (Sender, error) {
	fp := CertificateFingerprint(cert)
	var out Sender
	err := s.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketSenderCerts).Get([]byte(fp))
		if id == nil {
			return ErrUnknownSender
		}
		rec, err := activeSender(tx, string(id))
		if err != nil {
			return err
		}
		for _, c := range rec.Certificates {
			if c.Fingerprint == fp && c.Revoked {
				return fmt.Errorf("certificate %s: %w", fp, ErrSenderRevoked)
			}
		}
		out = rec.sender()
		return nil
	})
	return out, err
}

// Sender returns the sender with the given id.
func (s *Store) Sender(id string) (Sender, error) {
	var out Sender
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := getSender(tx, id)
		if err != nil {
			return err
		}
		out = rec.sender()
		return nil
	})
	return out, err
}

// Senders returns all senders.
func (s *Store) Senders() ([]Sender, error) {
	var out []Sender
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSenders)
		return b.ForEach(func(k, _ []byte) error {
			rec, err := getSender(tx, string(k))
			if err != nil {
				return err
			}
			out = append(out, rec.sender())
			return nil
		})
	})
	return out, err
}

// RevokeSender revokes a sender and all its certificates. Its letters stay
// in the mailboxes; it can deliver no more.
func (s *Store) RevokeSender(id string) error {
	now := s.now()
	return s.update(func(tx *bolt.Tx) error {
		rec, err := getSender(tx, id)
		if err != nil {
			return err
		}
		if rec.Revoked {
			return nil
		}
		rec.Revoked, rec.RevokedAt = true, now
		for i := range rec.Certificates {
			rec.Certificates[i].Revoked = true
		}
		if err := putJSON(tx.Bucket(bucketSenders), []byte(id), rec); err != nil {
			return err
		}
		return s.appendAudit(tx, now, "operator", "revoke-sender", "sender:"+id)
	})
}
