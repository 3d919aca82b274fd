package embedded_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store"
	"github.com/postkasse/postkasse/store/storage"
)

// TestEnvelopeV2Upgrade: residents activated before envelope v2 (the
// schema-4 file) get an ML-KEM-768 key at their next sign-in, with a new
// recovery key shown once that opens both halves; from then on their
// letters are sealed in v2, the v1 letters they had stay readable, and the
// counts an auditor reads say so. A second sign-in upgrades nothing.
func TestEnvelopeV2Upgrade(t *testing.T) {
	ctx := context.Background()
	eng := openSchema4(t)
	now := time.Date(2026, 11, 30, 9, 1, 0, 0, time.UTC)
	st, err := store.New(eng, store.Options{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	counts, err := st.Envelopes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.EnvelopeCounts{LettersV1: 3, ResidentsV1: 2}); counts != want {
		t.Fatalf("before: %+v, want %+v", counts, want)
	}

	const password = "correct horse battery staple"
	anna := store.NationalID{Country: "DK", Number: "0101900123"}
	sess, err := st.Login(context.Background(), anna.String(), password)
	if err != nil {
		t.Fatal(err)
	}
	if sess.NewRecoveryKey == nil {
		t.Fatal("the upgrading sign-in shows no new recovery key")
	}
	rk := *sess.NewRecoveryKey
	annaID := mustResident(t, st, anna)
	raw := residentRecord(t, st, annaID)
	if len(raw.MLKEMPublicKey) != crypto.MLKEMPublicKeySize {
		t.Fatalf("ML-KEM public key of %d bytes after the upgrade", len(raw.MLKEMPublicKey))
	}
	// The new recovery key opens a key pair with both halves, whose
	// public keys are the record's.
	priv, err := crypto.UnwrapWithRecoveryKey(raw.RecoveryWrap, rk)
	if err != nil {
		t.Fatalf("the new recovery key: %v", err)
	}
	if !priv.HasMLKEM() || string(priv.PublicKeys().MLKEM) != string(raw.MLKEMPublicKey) || !bytes.Equal(pubX(priv), raw.PublicKey) {
		t.Error("the recovery wrapping does not hold the upgraded key pair")
	}
	priv.Zero()

	// A letter delivered now is sealed in v2; Bo, not signed in since,
	// still gets v1.
	senders, err := st.Senders(context.Background())
	if err != nil || len(senders) == 0 {
		t.Fatalf("senders: %v, %v", senders, err)
	}
	bo := store.NationalID{Country: "DK", Number: "0202900124"}
	for _, to := range []store.NationalID{anna, bo} {
		if _, err := st.Deliver(context.Background(), senders[0].ID, store.Delivery{Recipient: to, Subject: "Ny ordning", SenderReference: "v2-" + to.Number,
			Documents: []store.DocumentInput{{Name: "brev.txt", ContentType: "text/plain", Content: []byte("Indhold " + to.Number)}}}); err != nil {
			t.Fatal(err)
		}
	}
	counts, err = st.Envelopes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.EnvelopeCounts{LettersV1: 4, LettersV2: 1, ResidentsV1: 1, ResidentsV2: 1}); counts != want {
		t.Errorf("after: %+v, want %+v", counts, want)
	}

	// Every letter, v1 and v2, opens in the upgraded session.
	mb, err := st.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := mb.Inbox(context.Background())
	if err != nil || len(inbox) != 3 {
		t.Fatalf("inbox: %d letters, %v", len(inbox), err)
	}
	for _, l := range inbox {
		if _, err := mb.Letter(context.Background(), l.ID); err != nil {
			t.Errorf("letter %q: %v", l.Subject, err)
		}
		if _, err := mb.Document(context.Background(), l.ID, 0); err != nil {
			t.Errorf("document of %q: %v", l.Subject, err)
		}
	}
	mb.Close()

	// The next sign-in upgrades nothing, and the checks pass.
	again, err := st.Login(context.Background(), anna.String(), password)
	if err != nil || again.NewRecoveryKey != nil {
		t.Errorf("second sign-in: %+v, %v", again, err)
	}
	if string(residentRecord(t, st, annaID).MLKEMPublicKey) != string(raw.MLKEMPublicKey) {
		t.Error("the second sign-in replaced the ML-KEM key")
	}
	if err := st.CheckInvariants(context.Background()); err != nil {
		t.Error(err)
	}
	if err := st.Check(context.Background()); err != nil {
		t.Error(err)
	}
}

// residentRecord reads a resident's record as the engine stores it.
func residentRecord(t *testing.T, st *store.Store, id string) *storage.Resident {
	t.Helper()
	var rec *storage.Resident
	if err := st.Engine().View(context.Background(), func(tx storage.Tx) error {
		var err error
		rec, err = tx.Residents().Get(id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return rec
}

func pubX(k *crypto.PrivateKey) []byte { p := k.Public(); return p[:] }

// TestUpgradeLosesNoKey: the ML-KEM half a sign-in adds is never lost
// again. A session opened before the upgrade holds the key pair without
// it; the upgrading sign-in ends that session, and a password change, a
// new recovery key and a recovery made afterwards all wrap the key pair
// with both halves, so a letter sealed in v2 after the upgrade stays
// readable through all of them and the ML-KEM public key never changes.
func TestUpgradeLosesNoKey(t *testing.T) {
	eng := openSchema4(t)
	now := time.Date(2026, 11, 30, 9, 1, 0, 0, time.UTC)
	st, err := store.New(eng, store.Options{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const password = "correct horse battery staple"
	anna := store.NationalID{Country: "DK", Number: "0101900123"}
	annaID := mustResident(t, st, anna)

	oldToken := preUpgradeSession(t, st, annaID, password, now)
	// A folder of the resident's own, its name sealed with a key derived
	// from the key pair without its ML-KEM half.
	if mb, err := st.OpenSession(context.Background(), oldToken); err != nil {
		t.Fatalf("the pre-upgrade session before the upgrade: %v", err)
	} else {
		if _, err := mb.CreateFolder(context.Background(), "Skat og SKAT"); err != nil {
			t.Fatal(err)
		}
		mb.Close()
	}

	// The upgrading sign-in ends it.
	sess, err := st.Login(context.Background(), anna.String(), password)
	if err != nil || sess.NewRecoveryKey == nil {
		t.Fatalf("upgrading sign-in: %+v, %v", sess, err)
	}
	mlkem := residentRecord(t, st, annaID).MLKEMPublicKey
	if _, err := st.OpenSession(context.Background(), oldToken); !errors.Is(err, store.ErrSessionExpired) {
		t.Errorf("the pre-upgrade session after the upgrade: %v, want ErrSessionExpired", err)
	}

	// A letter sealed in v2.
	senders, err := st.Senders(context.Background())
	if err != nil || len(senders) == 0 {
		t.Fatalf("senders: %v, %v", senders, err)
	}
	res, err := st.Deliver(context.Background(), senders[0].ID, store.Delivery{Recipient: anna, Subject: "Efter opgraderingen", SenderReference: "v2-after",
		Documents: []store.DocumentInput{{Name: "brev.txt", ContentType: "text/plain", Content: []byte("Sendt efter opgraderingen")}}})
	if err != nil {
		t.Fatal(err)
	}
	readable := func(step, token string) {
		t.Helper()
		mb, err := st.OpenSession(context.Background(), token)
		if err != nil {
			t.Fatalf("%s: open session: %v", step, err)
		}
		defer mb.Close()
		if _, err := mb.Document(context.Background(), res.Letter.ID, 0); err != nil {
			t.Errorf("%s: the v2 letter: %v", step, err)
		}
		if got := residentRecord(t, st, annaID).MLKEMPublicKey; !bytes.Equal(got, mlkem) {
			t.Errorf("%s: the ML-KEM public key changed", step)
		}
		if folders, err := mb.Folders(context.Background()); err != nil || len(folders) != 3 || folders[2].Name != "Skat og SKAT" {
			t.Errorf("%s: folders %+v, %v", step, folders, err)
		}
	}
	readable("after the upgrade", sess.Token)

	// Change the password, then sign in with the new one.
	mb, err := st.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	const next = "a new and longer passphrase"
	if err := mb.ChangePassword(context.Background(), password, next, false); err != nil {
		t.Fatal(err)
	}
	rk, err := mb.NewRecoveryKey(context.Background(), next)
	if err != nil {
		t.Fatal(err)
	}
	mb.Close()
	again, err := st.Login(context.Background(), anna.String(), next)
	if err != nil || again.NewRecoveryKey != nil {
		t.Fatalf("sign-in after the change: %+v, %v", again, err)
	}
	readable("after a password change", again.Token)

	// Recover with the recovery key made on request.
	rec, err := st.Recover(context.Background(), anna.String(), rk, "recovered passphrase here")
	if err != nil {
		t.Fatal(err)
	}
	readable("after a recovery", rec.Token)
	if err := st.CheckInvariants(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestInFlightOldSessionSealsNothing: a request of a pre-upgrade session
// that passed OpenSession before an upgrading sign-in elsewhere committed
// cannot seal a folder name afterwards with the key pair without its
// ML-KEM half (which the upgraded account could never open again): the
// write checks the session is still current. Found by review.
func TestInFlightOldSessionSealsNothing(t *testing.T) {
	ctx := context.Background()
	eng := openSchema4(t)
	now := time.Date(2026, 11, 30, 9, 1, 0, 0, time.UTC)
	st, err := store.New(eng, store.Options{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const password = "correct horse battery staple"
	anna := store.NationalID{Country: "DK", Number: "0101900123"}
	annaID := mustResident(t, st, anna)
	inflight, err := st.OpenSession(ctx, preUpgradeSession(t, st, annaID, password, now))
	if err != nil {
		t.Fatal(err)
	}
	defer inflight.Close()
	sess, err := st.Login(ctx, anna.String(), password)
	if err != nil || sess.NewRecoveryKey == nil {
		t.Fatalf("upgrading sign-in: %+v, %v", sess, err)
	}
	if _, err := inflight.CreateFolder(ctx, "Skilsmisse"); !errors.Is(err, store.ErrSessionExpired) {
		t.Errorf("a folder made by the in-flight pre-upgrade request: %v, want ErrSessionExpired", err)
	}
	mb, err := st.OpenSession(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if _, err := mb.CreateFolder(ctx, "Skat"); err != nil {
		t.Fatal(err)
	}
	if f, err := mb.Folders(ctx); err != nil || len(f) != 3 || f[2].Name != "Skat" || f[2].Unreadable {
		t.Errorf("folders after the upgrade: %+v, %v", f, err)
	}
}

// preUpgradeSession stores a session from before envelope v2 for a
// schema-4 resident: the key pair without its ML-KEM half, wrapped for
// the session as the login of the time did, and returns its token.
func preUpgradeSession(t *testing.T, st *store.Store, residentID, password string, now time.Time) string {
	t.Helper()
	key, err := crypto.UnwrapWithPassword(residentRecord(t, st, residentID).PasswordWrap, []byte(password))
	if err != nil || key.HasMLKEM() {
		t.Fatalf("the schema-4 resident's key: %v (ML-KEM half: %v)", err, err == nil && key.HasMLKEM())
	}
	defer key.Zero()
	raw := make([]byte, 16+crypto.SessionSecretSize)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	wrap, err := crypto.WrapForSession(rand.Reader, key, raw[16:], raw[:16])
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Engine().Update(context.Background(), func(tx storage.Tx) error {
		return tx.Sessions().Put(raw[:16], &storage.Session{ResidentID: residentID, Wrap: wrap, Created: now, LastSeen: now, Expires: now.Add(time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}
