package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// BenchmarkDeliverEnvelope measures what the envelope v2 costs: Deliver as
// in BenchmarkDeliver, once to a resident with only an X25519 key (the
// data key sealed in v1) and once to one with X25519 and ML-KEM-768 (v2),
// for 2 KB and 100 KB letters from 1 and 32 senders. The two versions run
// one after the other in every round (-count), each with its own fsync
// baseline, so compare their ratio and cpu-us/letter round by round:
//
//	go test ./store -run '^$' -bench DeliverEnvelope -benchtime 400x -count 5
func BenchmarkDeliverEnvelope(b *testing.B) {
	benchDeliveryCases(b, func(b *testing.B, size, senders int) {
		for _, v := range []int{1, 2} {
			b.Run(fmt.Sprintf("envelope=v%d", v), func(b *testing.B) { benchDeliverTo(b, size, senders, v) })
		}
	})
}

// benchDropMLKEM takes the ML-KEM half of a resident's public key out of
// its record, so letters to the resident are sealed in v1, as they were to
// every resident before the upgrade.
func benchDropMLKEM(b *testing.B, s *Store, residentID string) {
	err := s.update(context.Background(), func(tx storage.Tx) error {
		rec, err := tx.Residents().Get(residentID)
		if err != nil {
			return err
		}
		rec.MLKEMPublicKey = nil
		return tx.Residents().Put(rec)
	})
	if err != nil {
		b.Fatal(err)
	}
}

// benchSealedKeySize returns the size of the sealed data key of a letter
// from the sender, and fails unless it is in the envelope version wanted.
func benchSealedKeySize(b *testing.B, s *Store, senderID string, envelope int) int {
	var n int
	err := s.view(context.Background(), func(tx storage.Tx) error {
		return tx.Letters().All(func(rec *letterRecord) error {
			if rec.SenderID != senderID || n != 0 {
				return nil
			}
			if v := crypto.SealedDataKeyVersion(rec.SealedKey); v != envelope {
				return fmt.Errorf("letter %s sealed in v%d, want v%d", rec.ID, v, envelope)
			}
			n = len(rec.SealedKey)
			return nil
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
