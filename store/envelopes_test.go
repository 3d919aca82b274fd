package store

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// TestNewMailboxSealsV2: a mailbox activated now has both public keys,
// its letters are sealed in v2 and open, and the counts say so.
func TestNewMailboxSealsV2(t *testing.T) {
	f := newFixture(t)
	res, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "ref-v2"))
	if err != nil {
		t.Fatal(err)
	}
	rec := rawLetter(t, f.s, res.Letter.ID)
	if v := crypto.SealedDataKeyVersion(rec.SealedKey); v != 2 {
		t.Errorf("sealed data key version %d, want 2", v)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	if l, err := mb.Letter(context.Background(), res.Letter.ID); err != nil || l.Subject != testDelivery(f.nid, "").Subject {
		t.Errorf("letter: %+v, %v", l, err)
	}
	c, err := f.s.Envelopes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (EnvelopeCounts{LettersV2: 1, ResidentsV2: 1}); c != want {
		t.Errorf("counts %+v, want %+v", c, want)
	}
}

// TestHalfKeyPairRefused: a resident record whose ML-KEM key is of the
// wrong length (or whose X25519 key is missing) gets no letter: the
// delivery fails with a clear error, nothing is stored, and
// CheckInvariants names the record. The record is damaged through the
// engine of the pass, and (the subtests "… in the file") straight in the
// embedded engine's file.
func TestHalfKeyPairRefused(t *testing.T) {
	for _, tt := range []struct {
		name   string
		damage func(*residentRecord)
		want   string
	}{
		{"short ML-KEM key", func(r *residentRecord) { r.MLKEMPublicKey = r.MLKEMPublicKey[:100] }, "ML-KEM public key of 100 bytes"},
		{"no X25519 key", func(r *residentRecord) { r.PublicKey = nil }, "X25519 public key of 0 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if err := f.s.update(context.Background(), func(tx storage.Tx) error {
				rec, err := tx.Residents().Get(f.resident.ID)
				if err != nil {
					return err
				}
				tt.damage(rec)
				return tx.Residents().Put(rec)
			}); err != nil {
				t.Fatal(err)
			}
			halfKeyPairRefused(t, f, tt.want)
		})
		t.Run(tt.name+" in the file", func(t *testing.T) {
			f := newEmbeddedFixture(t)
			err := f.s.testDB(t).Update(func(tx *bolt.Tx) error {
				rec, err := boltResident(tx, f.resident.ID)
				if err != nil {
					return err
				}
				tt.damage(rec)
				return putValue(tx.Bucket(bucketResidents), []byte(rec.ID), rec)
			})
			if err != nil {
				t.Fatal(err)
			}
			halfKeyPairRefused(t, f, tt.want)
		})
	}
}

// halfKeyPairRefused is TestHalfKeyPairRefused's delivery to the damaged
// record of f's resident, and the checks of it.
func halfKeyPairRefused(t *testing.T, f *fixture, want string) {
	t.Helper()
	before := digest(t, f.s)
	_, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "ref-half"))
	if !errors.Is(err, crypto.ErrFormat) || !strings.Contains(err.Error(), want) {
		t.Errorf("Deliver = %v, want crypto.ErrFormat naming %q", err, want)
	}
	if digest(t, f.s) != before {
		t.Error("the refused delivery changed the database")
	}
	if err := f.s.CheckInvariants(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("CheckInvariants = %v, want it to name %q", err, want)
	}
	closeTampered(t, f.s)
}

// TestInvariantWrappingFormat: CheckInvariants finds a wrapping that holds
// an older key pair than the record's public keys (the damage a wrapping
// of the session's key did before the upgrade could no longer be lost).
func TestInvariantWrappingFormat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	if err := f.s.CheckInvariants(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.s.update(ctx, func(tx storage.Tx) error {
		rec, err := tx.Residents().Get(f.resident.ID)
		if err != nil {
			return err
		}
		rec.RecoveryWrap = bytes.Clone(rec.RecoveryWrap)
		rec.RecoveryWrap[0] = 1 // format 1: the X25519 key alone
		return tx.Residents().Put(rec)
	}); err != nil {
		t.Fatal(err)
	}
	err := f.s.CheckInvariants(ctx)
	if err == nil || !strings.Contains(err.Error(), "the recovery wrapping is of format 1") {
		t.Errorf("CheckInvariants: %v", err)
	}
	closeTampered(t, f.s)
}
