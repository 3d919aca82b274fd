package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/cluster"
	"github.com/postkasse/postkasse/store/embedded"
	"github.com/postkasse/postkasse/store/storage"
)

// schema1Buckets are the buckets schema version 1 made, written out here
// so the test does not depend on today's upgrade code.
var schema1Buckets = []string{"meta", "residents", "residents-by-nid", "senders", "sender-certs",
	"letters", "documents", "mailbox", "references", "sessions", "audit"}

// writeRawDB makes a bbolt file by hand with fn.
func writeRawDB(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func schemaBytes(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// writeSchema1 writes a database as schema version 1 left it, with one
// letter, and returns the signing seed.
func writeSchema1(t *testing.T, path, senderID, letterID string) []byte {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	writeRawDB(t, path, func(tx *bolt.Tx) error {
		for _, name := range schema1Buckets {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		meta := tx.Bucket([]byte("meta"))
		if err := meta.Put([]byte("schema"), schemaBytes(1)); err != nil {
			return err
		}
		if err := meta.Put([]byte("signing-seed"), seed); err != nil {
			return err
		}
		if err := meta.Put([]byte("created"), []byte("2026-01-01T00:00:00Z")); err != nil {
			return err
		}
		// One resident with one letter, as schema 1 wrote them.
		const residentID = "7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e"
		// Its key pair and the letter's data key sealed in format 1, as
		// schema 1's code made them.
		priv, err := crypto.GenerateKeyPair(rand.Reader)
		if err != nil {
			return err
		}
		dk, err := crypto.NewDataKey(rand.Reader)
		if err != nil {
			return err
		}
		defer dk.Zero()
		sealedKey, err := crypto.SealDataKey(rand.Reader, dk, priv.Public(),
			crypto.Binding{LetterID: letterID, RecipientID: residentID, SenderID: senderID})
		if err != nil {
			return err
		}
		public := priv.Public()
		resident, err := json.Marshal(map[string]any{
			"ID": residentID, "Country": "DK", "NationalID": "0101701234", "Name": "Old Resident",
			"Status": "active", "Created": "2026-01-01T00:00:00Z", "PublicKey": public[:],
		})
		if err != nil {
			return err
		}
		delivered := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
		letter, err := json.Marshal(map[string]any{
			"ID": letterID, "ResidentID": residentID, "SenderID": senderID, "SenderReference": "ref-1",
			"Type": "letter", "DeliveredAt": delivered, "ReadAt": time.Time{}, "SealedKey": sealedKey,
		})
		if err != nil {
			return err
		}
		mailbox := binary.BigEndian.AppendUint64(append([]byte(residentID), 0), uint64(delivered.UnixNano()))
		for _, put := range []struct{ bucket, key, value string }{
			{"residents", residentID, string(resident)},
			{"residents-by-nid", "0101701234", residentID},
			{"letters", letterID, string(letter)},
			{"mailbox", string(mailbox) + letterID, ""},
			{"references", senderID + "\x00ref-1", letterID},
		} {
			if err := tx.Bucket([]byte(put.bucket)).Put([]byte(put.key), []byte(put.value)); err != nil {
				return err
			}
		}
		return nil
	})
	return seed
}

// TestUpgradeFromSchema1 opens an embedded file as schema 1 left it: it
// is upgraded, backfilled and keeps its signing key, and opening it again
// changes nothing. (The cluster's migrations that backfill:
// TestSchema3Backfill and TestSchema4Counts in store/cluster.)
func TestUpgradeFromSchema1(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "postkasse.db")
	const senderID, letterID = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e", "1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e"
	seed := writeSchema1(t, path, senderID, letterID)

	s := openEmbeddedStoreAt(t, path, testOptions(newFakeClock()))
	var version int
	var indexed bool
	err := s.testDB(t).View(func(tx *bolt.Tx) error {
		version = readSchema(tx)
		if b := tx.Bucket(bucketSenderLetters); b != nil {
			indexed = b.Get(referenceKey(senderID, letterID)) != nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if version != embedded.SchemaVersion() || embedded.SchemaVersion() < 2 {
		t.Errorf("schema %d after upgrade, want %d", version, embedded.SchemaVersion())
	}
	if !indexed {
		t.Error("the sender-letters index was not backfilled")
	}
	if counts := countKeys(t, s); counts["sender-letters"] != 1 {
		t.Errorf("sender-letters has %d keys, want 1", counts["sender-letters"])
	}
	// The upgrade kept the appliance's signing key.
	if want := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey); !bytes.Equal(s.SigningKey(), want) {
		t.Error("the upgrade replaced the signing key")
	}
	// The old letter is there for its sender.
	if st, err := s.LetterStatus(context.Background(), senderID, letterID); err != nil || st.ID != letterID {
		t.Errorf("LetterStatus of the old letter = %+v, %v", st, err)
	}
	closeTestStore(t, s)

	// Opening again changes nothing.
	before := fileDigest(t, path)
	s = openEmbeddedStoreAt(t, path, testOptions(newFakeClock()))
	if d := digest(t, s); d != before {
		t.Error("opening an up-to-date database changed it")
	}
}

// fileDigest is digest of a closed database file.
func fileDigest(t *testing.T, path string) string {
	t.Helper()
	s, err := Open(path, testOptions(newFakeClock()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return digest(t, s)
}

// TestNewDatabase: a new database of the engine of the pass is at its
// engine's schema version and has the appliance's signing seed.
// TestNewDatabaseFile checks the embedded file's buckets.
func TestNewDatabase(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, testOptions(newFakeClock()))
	if err := s.view(context.Background(), func(tx storage.Tx) error {
		seed, err := tx.Meta().Get(keySigningSeed)
		if err != nil || len(seed) != ed25519.SeedSize {
			t.Errorf("signing seed of %d bytes, %v", len(seed), err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if onEmbedded(s) {
		if err := s.testDB(t).View(func(tx *bolt.Tx) error {
			if v := readSchema(tx); v != embedded.SchemaVersion() {
				t.Errorf("new database has schema %d, want %d", v, embedded.SchemaVersion())
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return
	}
	if n := clusterCount(t, s, "schema_version", fmt.Sprintf("version = %d", cluster.SchemaVersion())); n != 1 {
		t.Errorf("new database: %d rows of schema_version at %d, want 1", n, cluster.SchemaVersion())
	}
}

// TestNewDatabaseFile: a new embedded file has the current schema, the
// signing seed, its creation time, and every bucket.
func TestNewDatabaseFile(t *testing.T) {
	t.Parallel()
	s := openEmbeddedStore(t, testOptions(newFakeClock()))
	err := s.testDB(t).View(func(tx *bolt.Tx) error {
		if v := readSchema(tx); v != embedded.SchemaVersion() {
			t.Errorf("new database has schema %d, want %d", v, embedded.SchemaVersion())
		}
		meta := tx.Bucket(bucketMeta)
		if len(meta.Get([]byte(keySigningSeed))) != ed25519.SeedSize {
			t.Error("no signing seed")
		}
		if _, err := time.Parse(time.RFC3339, string(meta.Get([]byte("created")))); err != nil {
			t.Errorf("created: %v", err)
		}
		// The plain audit bucket of schema 1–5 became the log (schema 6).
		buckets := slices.DeleteFunc(slices.Clone(schema1Buckets), func(b string) bool { return b == "audit" })
		for _, name := range append(buckets, "sender-letters", "audit-log", "audit-hashes") {
			if tx.Bucket([]byte(name)) == nil {
				t.Errorf("no bucket %s", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		write func(t *testing.T, path string)
		want  string // in the error
	}{
		{"newer schema", func(t *testing.T, path string) {
			writeSchema1(t, path, "s", "l")
			writeRawDB(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("meta")).Put([]byte("schema"), schemaBytes(99))
			})
		}, "database schema version 99 is newer than this program's"},
		{"unrelated buckets", func(t *testing.T, path string) {
			writeRawDB(t, path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("widgets"))
				if err != nil {
					return err
				}
				return b.Put([]byte("a"), []byte("b"))
			})
		}, "not a Postkasse database"},
		{"meta bucket without a schema version", func(t *testing.T, path string) {
			writeSchema1(t, path, "s", "l")
			writeRawDB(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("meta")).Delete([]byte("schema"))
			})
		}, "no schema version"},
		{"garbled schema version", func(t *testing.T, path string) {
			writeSchema1(t, path, "s", "l")
			writeRawDB(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("2"))
			})
		}, "no schema version"},
		{"random bytes", func(t *testing.T, path string) {
			b := make([]byte, 64<<10)
			if _, err := rand.Read(b); err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, b)
		}, "open "},
		{"a short text file", func(t *testing.T, path string) {
			writeFile(t, path, []byte("hello, world\n"))
		}, "open "},
		{"a text file of many pages", func(t *testing.T, path string) {
			writeFile(t, path, bytes.Repeat([]byte("postkasse "), 10000))
		}, "open "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "postkasse.db")
			tt.write(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, testOptions(newFakeClock()))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %q, want it to say %q", err, tt.want)
			}
			// A refused file is left as it was.
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Error("Open changed the file it refused")
			}
		})
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOpenEmptyFile(t *testing.T) {
	t.Parallel()
	// A zero-length file (say, made by touch) becomes a new database.
	path := filepath.Join(t.TempDir(), "postkasse.db")
	writeFile(t, path, nil)
	s := openEmbeddedStoreAt(t, path, testOptions(newFakeClock()))
	if _, err := s.AddSender(context.Background(), "Aarhus Kommune", "55133018", SenderPublic); err != nil {
		t.Fatal(err)
	}
}

// TestOpenInUse: a second Open of an embedded file in use fails, saying
// so. (The cluster engine is opened by many nodes at once by design:
// TestNodesStartTogether and TestTwoNodesDeliver in store/cluster.)
func TestOpenInUse(t *testing.T) {
	t.Parallel()
	s := openEmbeddedStore(t, testOptions(newFakeClock()))
	opts := testOptions(newFakeClock())
	opts.Timeout = 50 * time.Millisecond
	other, err := Open(s.Path(), opts)
	if err == nil {
		other.Close()
		t.Fatal("a second Open of the same file succeeded")
	}
	if !strings.Contains(err.Error(), "in use") {
		t.Errorf("Open: %q, want it to say the database is in use", err)
	}
}

// TestBackup: WriteBackup writes a copy of the embedded file that opens
// as the same database. (The cluster engine is backed up by its
// database's and bucket's own means; docs/OPERATORS.md.)
func TestBackup(t *testing.T) {
	t.Parallel()
	f := newEmbeddedFixture(t)
	res, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "backup-1"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := f.s.WriteBackup(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != n {
		t.Fatalf("backup of %d bytes, WriteBackup said %d (%v)", fi.Size(), n, err)
	}
	b := openEmbeddedStoreAt(t, path, testOptions(f.clock))
	if digest(t, b) != digest(t, f.s) {
		t.Error("the backup differs from the database")
	}
	mb := mustLogin(t, b, f.nid, testPassword)
	if l, err := mb.Letter(context.Background(), res.Letter.ID); err != nil || l.Subject != testDelivery(f.nid, "").Subject {
		t.Errorf("letter from the backup = %q, %v", l.Subject, err)
	}
}
