package store

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/crypto"
)

// TestReviewOperatorEnrolmentSecretsReadMailOffline (security review): the
// operator enrols a resident (AddResident, reached through `postkasse
// resident add` and the control socket) and is handed both the initial
// password and the recovery key. Nothing the resident can do afterwards
// (there is no password change and no new recovery key in the store)
// takes that power away, so whoever ran the enrolment can open every
// letter of the resident from a backup, offline, with no session and no
// audit entry. DESIGN.md: the recovery key is "shown once to the
// resident", and "there is no operator reset that gives the operator key
// access"; the promise is that the operator cannot read mail at rest or
// in backups.
//
// The test plays the operator: it keeps what AddResident returned, lets
// the resident log in and receive a letter, takes a backup, and opens the
// letter's subject from the backup alone. It must not succeed.
func TestReviewOperatorEnrolmentSecretsReadMailOffline(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := openTestStore(t, testOptions(clock))
	nid := testNID(t, 7)
	const initialPassword = "initial-password-from-the-operator"
	resident, recoveryKey, err := s.AddResident(nid, "Anna Andersen", initialPassword)
	if err != nil {
		t.Fatal(err)
	}
	sender := mustSender(t, s, "Aarhus Kommune", "55133018", SenderPublic)

	// The resident takes possession of the mailbox and gets mail.
	mb := mustLogin(t, s, nid, initialPassword)
	mb.Close()
	const secretSubject = "Psychiatric assessment of your child"
	d := testDelivery(nid, "ref-1")
	d.Subject = secretSubject
	res, err := s.Deliver(sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}

	// The operator's nightly backup.
	backup := filepath.Join(t.TempDir(), "backup.db")
	var buf bytes.Buffer
	if _, err := s.WriteBackup(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(backup, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	// Offline, with the backup and the enrolment printout only.
	db, err := bolt.Open(backup, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var resRec residentRecord
	var letter letterRecord
	if err := db.View(func(tx *bolt.Tx) error {
		if err := json.Unmarshal(tx.Bucket(bucketResidents).Get([]byte(resident.ID)), &resRec); err != nil {
			return err
		}
		return json.Unmarshal(tx.Bucket(bucketLetters).Get([]byte(res.Letter.ID)), &letter)
	}); err != nil {
		t.Fatal(err)
	}

	open := func(priv *crypto.PrivateKey) string {
		defer priv.Zero()
		dk, err := priv.OpenDataKey(letter.SealedKey, letter.binding())
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
	if priv, err := crypto.UnwrapWithRecoveryKey(resRec.RecoveryWrap, recoveryKey); err == nil {
		if got := open(priv); got == secretSubject {
			t.Errorf("the recovery key the operator was given at enrolment opens the resident's letter from a backup: %q", got)
		}
	}
	if priv, err := crypto.UnwrapWithPassword(resRec.PasswordWrap, []byte(initialPassword)); err == nil {
		if got := open(priv); got == secretSubject {
			t.Errorf("the initial password the operator chose at enrolment opens the resident's letter from a backup: %q", got)
		}
	}
}
