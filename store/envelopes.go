package store

import (
	"context"
	"fmt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// EnvelopeCounts says how the mail at rest is sealed: how many letters
// have their data key sealed in format 1 (X25519 alone, open to whoever
// breaks X25519 one day) and in format 2 (X25519 and ML-KEM-768), and how
// many active residents already have an ML-KEM-768 key (their new letters
// are sealed in v2) and how many have not signed in since envelope v2
// (theirs are still sealed in v1). Unknown counts sealed keys in neither
// format, which CheckInvariants reports as a fault.
type EnvelopeCounts struct {
	LettersV1, LettersV2, Unknown int
	ResidentsV2, ResidentsV1      int
}

// Envelopes counts the letters by the format of their sealed data key and
// the active residents by whether they have an ML-KEM-768 key. It reads
// no key and opens nothing: an operator or auditor may run it on a copy.
func (s *Store) Envelopes(ctx context.Context) (EnvelopeCounts, error) {
	var c EnvelopeCounts
	err := s.eng.View(ctx, func(tx storage.Tx) error {
		c = EnvelopeCounts{}
		if err := tx.Letters().All(func(rec *letterRecord) error {
			if rec.IsTombstone() {
				return nil // no data key left to count
			}
			switch crypto.SealedDataKeyVersion(rec.SealedKey) {
			case 1:
				c.LettersV1++
			case 2:
				c.LettersV2++
			default:
				c.Unknown++
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.Residents().All(func(rec *residentRecord) error {
			if rec.Status != ResidentActive && rec.Status != ResidentReserved {
				return nil
			}
			if len(rec.MLKEMPublicKey) == crypto.MLKEMPublicKeySize {
				c.ResidentsV2++
			} else {
				c.ResidentsV1++
			}
			return nil
		})
	})
	if err != nil {
		return EnvelopeCounts{}, fmt.Errorf("count envelopes: %w", err)
	}
	return c, nil
}
