package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// RevokeCertificate revokes one client certificate, named by its
// fingerprint (CertificateFingerprint), and returns the sender it was
// bound to. The sender and its other certificates stay active: this is
// for a lost or leaked key, after which the operator issues a new one.
// SenderByCertificate refuses the certificate from the next request on.
// Revoking a revoked certificate changes nothing; an unknown fingerprint is
// ErrNotFound.
func (s *Store) RevokeCertificate(fingerprint string) (Sender, error) {
	now := s.now()
	var out Sender
	err := s.update(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketSenderCerts).Get([]byte(fingerprint))
		if id == nil {
			return fmt.Errorf("certificate %s: %w", fingerprint, ErrNotFound)
		}
		rec, err := getSender(tx, string(id))
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
				out = rec.sender()
				return nil
			}
			rec.Certificates[i].Revoked = true
		}
		if !found {
			// sender-certs names the sender, so its record lists the
			// certificate: anything else is a broken invariant.
			return fmt.Errorf("certificate %s: bound to sender %s, which does not list it", fingerprint, rec.ID)
		}
		if err := putJSON(tx.Bucket(bucketSenders), []byte(rec.ID), rec); err != nil {
			return err
		}
		out = rec.sender()
		return s.appendAudit(tx, now, "operator", "revoke-certificate", "sender:"+rec.ID)
	})
	if err != nil {
		return Sender{}, err
	}
	return out, nil
}
