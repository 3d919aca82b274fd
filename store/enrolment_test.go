package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/embedded"
	"github.com/postkasse/postkasse/store/storage"
)

// TestOperatorEnrolmentOpensNoMail (from the security review): the
// operator enrols a resident (EnrolResident, reached through `postkasse
// resident add` and the control socket) and is handed only an activation
// code. DESIGN.md: the recovery key is "shown once to the resident", and
// "there is no operator reset that gives the operator key access"; the
// promise is that the operator cannot read mail at rest or in backups.
//
// The test plays the operator: it keeps everything enrolment returned and
// takes a backup before activation (it holds no key pair at all, so no
// letter can have been sealed to a key the operator knows) and one after
// the resident activated the mailbox with their own password and got
// letters. Nothing the operator holds opens a letter from the backup
// alone, while the resident's password and recovery key do (so the
// attempt itself is sound).
//
// On the engine of the pass; on the cluster the operator's copy is what
// the database holds, read through the engine (a dump of it holds no
// more). TestOperatorEnrolmentOpensNoMailFile takes the embedded file's
// backups in both passes.
func TestOperatorEnrolmentOpensNoMail(t *testing.T) {
	t.Parallel()
	operatorEnrolmentOpensNoMail(t, openTestStore)
}

// TestOperatorEnrolmentOpensNoMailFile is TestOperatorEnrolmentOpensNoMail
// with the embedded engine's backups, in both passes.
func TestOperatorEnrolmentOpensNoMailFile(t *testing.T) {
	t.Parallel()
	operatorEnrolmentOpensNoMail(t, openEmbeddedStore)
}

// operatorCopy is what the operator holds of the database at one time:
// the resident's record and the letters' records.
type operatorCopy struct {
	resident residentRecord
	letters  map[string]letterRecord
}

func operatorEnrolmentOpensNoMail(t *testing.T, openStore func(testing.TB, Options) *Store) {
	t.Helper()
	clock := newFakeClock()
	s := openStore(t, testOptions(clock))
	nid := testNID(t, 7)
	resident, code, err := s.EnrolResident(context.Background(), nid, "Anna Andersen")
	if err != nil {
		t.Fatal(err)
	}
	sender := mustSender(t, s, "Aarhus Kommune", "55133018", SenderPublic)
	const secretSubject = "Psychiatric assessment of your child"
	d := testDelivery(nid, "ref-1")
	d.Subject = secretSubject

	backup := func(name string) *bolt.DB {
		t.Helper()
		var buf bytes.Buffer
		if _, err := s.WriteBackup(context.Background(), &buf); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	readResident := func(db *bolt.DB) residentRecord {
		t.Helper()
		var rec residentRecord
		if err := db.View(func(tx *bolt.Tx) error {
			return embedded.DecodeRecord(tx.Bucket(bucketResidents).Get([]byte(resident.ID)), &rec)
		}); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	// copyOf returns the operator's copy: a backup of the embedded file,
	// or the cluster's records read through the engine.
	copyOf := func(name string) operatorCopy {
		t.Helper()
		c := operatorCopy{letters: map[string]letterRecord{}}
		if !onEmbedded(s) {
			if err := s.view(context.Background(), func(tx storage.Tx) error {
				rec, err := tx.Residents().Get(resident.ID)
				if err != nil {
					return err
				}
				c.resident = *rec
				return tx.Letters().All(func(l *storage.Letter) error {
					c.letters[l.ID] = *l
					return nil
				})
			}); err != nil {
				t.Fatal(err)
			}
			return c
		}
		db := backup(name)
		c.resident = readResident(db)
		if err := db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketLetters)
			if n := b.Stats().KeyN; n != 0 && name == "before.db" {
				t.Errorf("the backup before activation holds %d letters", n)
			}
			return b.ForEach(func(k, _ []byte) error {
				l, err := embedded.RawLetter(tx, string(k))
				if err != nil {
					return err
				}
				c.letters[string(k)] = *l
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		return c
	}

	// Before activation: no key pair, so nothing can be sealed to the
	// mailbox; a letter is refused and the backup holds no letter.
	if _, err := s.Deliver(context.Background(), sender.ID, d); !errors.Is(err, ErrRecipientNotDigital) {
		t.Fatalf("delivery to a pending mailbox: %v, want ErrRecipientNotDigital", err)
	}
	before := copyOf("before.db")
	rec := before.resident
	if rec.Status != ResidentPending || rec.PublicKey != nil || rec.PasswordWrap != nil || rec.RecoveryWrap != nil {
		t.Fatalf("the backup before activation has a key pair or wrapping: %+v", rec)
	}
	if n := len(before.letters); n != 0 {
		t.Errorf("the backup before activation holds %d letters", n)
	}

	// The resident activates the mailbox with a password of their own and
	// gets mail.
	const residentPassword = "only the resident knows this"
	recoveryKey, err := s.Activate(context.Background(), nid.String(), code, residentPassword)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Deliver(context.Background(), sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	// The code is spent: the operator cannot activate (again) with it.
	if _, err := s.Activate(context.Background(), nid.String(), code, "the operator's own password"); err != ErrBadActivation {
		t.Errorf("a second activation with the operator's code: %v, want ErrBadActivation", err)
	}

	// Offline, with the backup after activation and the enrolment output.
	after := copyOf("after.db")
	rec = after.resident
	if rec.ActivationHash != nil {
		t.Error("the activation code's hash outlived the activation")
	}
	letter, ok := after.letters[res.Letter.ID]
	if !ok {
		t.Fatalf("the backup after activation lacks the letter")
	}
	open := func(priv *crypto.PrivateKey) string {
		defer priv.Zero()
		dk, err := priv.OpenDataKey(letter.SealedKey, letterBinding(&letter))
		if err != nil {
			return ""
		}
		defer dk.Zero()
		subject, err := dk.OpenField("subject", letter.Subject)
		if err != nil {
			return ""
		}
		return string(subject)
	}

	// Everything the operator could try with what enrolment gave them:
	// the code as typed, in its canonical and raw forms, as a password and
	// as (or hashed into) a recovery key.
	raw, ok := parseActivationCode(code)
	if !ok {
		t.Fatalf("the enrolment's code %q does not parse", code)
	}
	guesses := [][]byte{[]byte(code), []byte(activationEncoding.EncodeToString(raw)), raw, activationHash(raw)}
	for _, g := range guesses {
		if priv, err := crypto.UnwrapWithPassword(rec.PasswordWrap, g); err == nil {
			if got := open(priv); got == secretSubject {
				t.Errorf("the activation code (%q) opens the resident's letter from a backup as a password", g)
			}
		}
		var asKey crypto.RecoveryKey
		copy(asKey[:], g)
		for _, rk := range []crypto.RecoveryKey{asKey, sha256.Sum256(g)} {
			if priv, err := crypto.UnwrapWithRecoveryKey(rec.RecoveryWrap, rk); err == nil {
				if got := open(priv); got == secretSubject {
					t.Errorf("the activation code (%q) opens the resident's letter from a backup as a recovery key", g)
				}
			}
		}
	}

	// What only the resident holds does open it: the attempt above is a
	// real one.
	priv, err := crypto.UnwrapWithPassword(rec.PasswordWrap, []byte(residentPassword))
	if err != nil {
		t.Fatalf("the resident's password: %v", err)
	}
	if got := open(priv); got != secretSubject {
		t.Errorf("the resident's password opens %q, want the letter's subject", got)
	}
	priv, err = crypto.UnwrapWithRecoveryKey(rec.RecoveryWrap, recoveryKey)
	if err != nil {
		t.Fatalf("the resident's recovery key: %v", err)
	}
	if got := open(priv); got != secretSubject {
		t.Errorf("the resident's recovery key opens %q, want the letter's subject", got)
	}
}
