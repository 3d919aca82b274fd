package store

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/microcosm-cc/bluemonday"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/crypto/signing"
	"github.com/postkasse/postkasse/store/auditlog"
	"github.com/postkasse/postkasse/store/embedded"
	"github.com/postkasse/postkasse/store/storage"
)

const (
	defaultMaxBatchLetters = 256
	defaultMaxBatchBytes   = 64 << 20
	// Meta keys.
	keySigningSeed = "signing-seed"
)

// Options configure a Store. The zero value is valid: real time, real
// randomness, the default Argon2id parameters and limits.
type Options struct {
	Clock   func() time.Time // default time.Now
	Rand    io.Reader        // default crypto/rand.Reader
	KDF     crypto.KDFParams // Argon2id parameters for new password wrappings
	Limits  Limits
	Timeout time.Duration // how long Open waits for the database's file lock
	// ReadOnly makes Open open the file read-only, beside other readers
	// (the operator's listing commands, an auditor's check): changes
	// fail. A file of an older schema is refused rather than upgraded.
	ReadOnly bool
	// Sessions bound how long a login lasts (CheckSessionLifetimes).
	SessionIdle     time.Duration // default 30 minutes without a request
	SessionLifetime time.Duration // default 12 hours in all
	// ActivationLifetime is how long an activation code from
	// EnrolResident stays valid; default 30 days.
	ActivationLifetime time.Duration
	// Retention is the retention part of the terms of use: the store
	// applies it (RetentionDue, ApplyRetention) and tells residents of it
	// (InactivityStatus). Zero fields are the defaults; an invalid
	// policy fails New.
	Retention RetentionPolicy
	// Location is the appliance's time zone (jobs.time_zone): a grant of
	// access and a signature request end at midnight after their last
	// day there. Nil is UTC.
	Location *time.Location
	// Logger gets what the store skips rather than fails on (a letter
	// that cannot be opened in an inbox, a failed sweep of sessions), and
	// Open's engine the line that says its file was found damaged; nil
	// discards it.
	Logger *slog.Logger
}

// Limits bound what a sender may deliver.
type Limits struct {
	MaxDocuments    int   // documents per letter
	MaxDocumentSize int64 // bytes per document
	MaxLetterSize   int64 // bytes of all documents together
	MaxSubject      int   // bytes of the subject
	MaxBody         int   // bytes of the body
	MaxReference    int   // bytes of the senderReference
	MaxFileName     int   // bytes of a document's file name
	// MaxImportSize bounds the documents of one import (Mailbox.Import)
	// in all; 0 is the default, 2 GiB.
	MaxImportSize int64
}

// DefaultLimits returns the limits used when Options.Limits is zero.
func DefaultLimits() Limits {
	return Limits{
		MaxDocuments:    20,
		MaxDocumentSize: 10 << 20,
		MaxLetterSize:   25 << 20,
		MaxSubject:      200,
		MaxBody:         10_000,
		MaxReference:    128,
		MaxFileName:     255,
	}
}

// Store is Postkasse's domain over a storage engine. Every exported
// operation is one transaction that keeps the invariants the package doc
// lists. A Store is safe for concurrent use.
type Store struct {
	eng             storage.Engine
	clock           func() time.Time
	loc             *time.Location // Options.Location; UTC when not set
	rand            io.Reader
	kdf             crypto.KDFParams
	limits          Limits
	signer          *crypto.Signer
	callbackSigner  *crypto.CallbackSigner // derived from signer
	signing         *signing.Authority     // the signing CA (signing.go)
	html            *bluemonday.Policy     // sanitises HTML documents
	sessionIdle     time.Duration
	sessionLifetime time.Duration
	retention       RetentionPolicy // Options.Retention with its defaults
	log             *slog.Logger
	// activationLifetime: Options.ActivationLifetime with its default.
	activationLifetime time.Duration
	// limitsKey is the secret the limits' keys are derived under, read or
	// made by the first UpdateLimits (limits.go); limitsMu guards it.
	limitsMu  sync.Mutex
	limitsKey []byte
	// searches keeps the residents' search indexes opened by their
	// sessions (search.go).
	searches *searchCache
	// searchPerSearch is how many letters one search adds to an index
	// (maxIndexPerSearch; tests make it smaller).
	searchPerSearch int
	// hookIndexStore, for tests, runs before a search stores the index
	// it updated, so that a test can store another one first.
	hookIndexStore func()

	// Group commit: deliveries queue here; one goroutine commits all that
	// are waiting in one transaction, so concurrent senders share fsyncs.
	queue chan *pendingDelivery
	// sealing counts the deliveries between their checks and the queue;
	// the committer waits a little for them (commitLoop).
	sealing atomic.Int64
	// cpu holds a token for each delivery hashing and sealing: at most
	// GOMAXPROCS at once (Deliver).
	cpu chan struct{}
	// sealed keeps buffers of sealed documents for reuse (*[]byte).
	sealed    sync.Pool
	closing   chan struct{}
	closeOnce sync.Once
	inflight  sync.WaitGroup // deliveries between entering and leaving Deliver
	committer sync.WaitGroup
	mu        sync.RWMutex // guards closed against new deliveries
	closed    bool

	// For tests: commits counts the transactions commit ran. The hooks,
	// set before the first delivery, let a test hold the committer until
	// deliveries are queued, so batching is deterministic.
	commits atomic.Int64
	// committed counts the letters stored by the committer (CommitCounts).
	committed  atomic.Int64
	hookQueued func() // Deliver queued a delivery
	hookBatch  func() // the committer took the first delivery of a batch
	// hookLoginChecked, for tests, runs in Login between the password
	// check and the transaction that writes the session.
	hookLoginChecked func()
	// spendWork spends Argon2id work where a login has no wrapping to
	// open (crypto.SpendPasswordWork); tests count the work it is asked
	// for.
	spendWork func(password []byte, p crypto.KDFParams)
	// hookNoticeDelivered, for tests, runs in DeliverTermsNotice between
	// the delivery and the transaction that writes its marker.
	hookNoticeDelivered func()
}

// Open opens (creating if needed) the database of the embedded engine at
// path, brings its schema up to date and starts the delivery committer.
// Close closes the engine too.
func Open(path string, opts Options) (*Store, error) {
	eng, err := embedded.Open(path, embedded.Options{Timeout: opts.Timeout, Clock: opts.Clock, ReadOnly: opts.ReadOnly, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	s, err := New(eng, opts)
	if err != nil {
		eng.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

// New starts the domain on an open engine: it makes the appliance's
// receipt key when the engine has none yet, and starts the delivery
// committer. Close closes the engine too.
func New(eng storage.Engine, opts Options) (*Store, error) {
	s := &Store{
		eng:             eng,
		clock:           opts.Clock,
		loc:             opts.Location,
		rand:            opts.Rand,
		kdf:             opts.KDF,
		limits:          opts.Limits,
		sessionIdle:     opts.SessionIdle,
		sessionLifetime: opts.SessionLifetime,
		log:             opts.Logger,
		html:            htmlPolicy(),
		queue:           make(chan *pendingDelivery, 1024),
		cpu:             make(chan struct{}, runtime.GOMAXPROCS(0)),
		closing:         make(chan struct{}),
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.rand == nil {
		s.rand = cryptorand.Reader
	}
	if s.kdf == (crypto.KDFParams{}) {
		s.kdf = crypto.DefaultKDFParams()
	}
	if s.limits == (Limits{}) {
		s.limits = DefaultLimits()
	}
	if s.sessionIdle == 0 {
		s.sessionIdle = DefaultSessionIdle
	}
	if s.sessionLifetime == 0 {
		s.sessionLifetime = DefaultSessionLifetime
	}
	if err := CheckSessionLifetimes(s.sessionIdle, s.sessionLifetime); err != nil {
		return nil, err
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.spendWork = crypto.SpendPasswordWork
	if s.activationLifetime = opts.ActivationLifetime; s.activationLifetime <= 0 {
		s.activationLifetime = DefaultActivationLifetime
	}
	s.searches = newSearchCache(defaultSearchCacheEntries, defaultSearchCacheBytes, s.sessionIdle, s.sessionLifetime)
	s.searchPerSearch = maxIndexPerSearch
	s.retention = opts.Retention.WithDefaults()
	if err := s.retention.Validate(); err != nil {
		return nil, fmt.Errorf("retention policy: %w", err)
	}
	seed, err := s.signingSeed(context.Background())
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if s.signer, err = crypto.NewSigner(seed); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	s.callbackSigner = s.signer.CallbackSigner()
	clear(seed)
	// A read-only store (an operator's check) of a database from before
	// signing has no signing CA and makes none: it signs nothing.
	if s.signing, err = s.signingAuthority(context.Background(), !opts.ReadOnly); err != nil && !(opts.ReadOnly && errors.Is(err, ErrNotFound)) {
		return nil, fmt.Errorf("signing CA: %w", err)
	}
	s.committer.Add(1)
	go s.commitLoop()
	return s, nil
}

// signingSeed returns the seed of the appliance's receipt key, made and
// stored the first time.
func (s *Store) signingSeed(ctx context.Context) ([]byte, error) {
	var seed []byte
	err := s.view(ctx, func(tx storage.Tx) error {
		var err error
		seed, err = tx.Meta().Get(keySigningSeed)
		return err
	})
	if !errors.Is(err, ErrNotFound) {
		return seed, err
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		if seed, err = tx.Meta().Get(keySigningSeed); err == nil {
			return nil
		}
		if seed, err = crypto.NewSigningSeed(s.rand); err != nil {
			return err
		}
		return tx.Meta().Put(keySigningSeed, seed)
	})
	return seed, err
}

// Close waits for deliveries in flight, stops the committer and closes the
// engine. Deliveries that arrive after Close began get ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.inflight.Wait()
	s.closeOnce.Do(func() { close(s.closing) })
	s.committer.Wait()
	return s.eng.Close()
}

// Check runs the engine's consistency check (its storage, every record's
// index entries) and returns every problem it finds.
func (s *Store) Check(ctx context.Context) error { return s.eng.Check(ctx) }

// Engine returns the storage engine the store runs on.
func (s *Store) Engine() storage.Engine { return s.eng }

// Path returns the database file's path, for an engine that has one.
func (s *Store) Path() string {
	if p, ok := s.eng.(interface{ Path() string }); ok {
		return p.Path()
	}
	return ""
}

// RetentionPolicy returns the retention policy the store applies, with
// its defaults.
func (s *Store) RetentionPolicy() RetentionPolicy { return s.retention }

// Limits returns the delivery limits in force.
func (s *Store) Limits() Limits { return s.limits }

// SigningKey returns the appliance's receipt verification key.
func (s *Store) SigningKey() []byte { return s.signer.PublicKey() }

// CallbackKey returns the key that verifies the signatures of callbacks
// (crypto.CallbackSigner).
func (s *Store) CallbackKey() []byte { return s.callbackSigner.PublicKey() }

// SignCallback signs a callback's body at the Unix time t and returns the
// signing key's id and the signature (over t "." body).
func (s *Store) SignCallback(t int64, body []byte) (keyID string, sig []byte) {
	return crypto.KeyID(s.callbackSigner.PublicKey()), s.callbackSigner.Sign(t, body)
}

// WriteBackup writes a consistent copy of the database to w and returns
// its size, for an engine that can (storage.Backuper). The copy holds no
// session: a session's wrapping of a private key, with a cookie captured
// at any time, would open the key from every backup kept, long after the
// session ended; a restored appliance asks everyone to sign in again.
func (s *Store) WriteBackup(ctx context.Context, w io.Writer) (int64, error) {
	b, ok := s.eng.(storage.Backuper)
	if !ok {
		return 0, errors.New("this storage engine makes no backup files: back up its database and object store")
	}
	return b.WriteBackup(ctx, w, func(tx storage.Tx) error {
		var ids [][]byte
		if err := tx.Sessions().All(func(id []byte, _ *sessionRecord) error {
			ids = append(ids, bytes.Clone(id))
			return nil
		}); err != nil {
			return err
		}
		for _, id := range ids {
			if err := tx.Sessions().Delete(id); err != nil {
				return err
			}
		}
		return nil
	})
}

// newID returns a random 128-bit id in lowercase hex.
func (s *Store) newID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", fmt.Errorf("read random id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// newLetterID returns a letter id: 128 bits in lowercase hex like newID's,
// of which the first 48 are the clock's Unix milliseconds and the other 80
// random. Letters' keys (in letters, documents, sender-letters) then
// mostly grow, so a commit appends to the right-most leaves of the B+tree
// instead of rewriting leaves all over it. That matters for the documents
// bucket: bbolt keeps at least two values per leaf however large they are,
// so inserting a 100 KB document at a random place rewrites its neighbours
// too (see docs/PERFORMANCE.md). The time in the id is within moments of
// the delivery time, which the sender and the resident are told anyway;
// the 80 random bits keep ids unguessable and unique.
func (s *Store) newLetterID() (string, error) {
	var b [16]byte
	ms := uint64(s.clock().UnixMilli())
	binary.BigEndian.PutUint64(b[:8], ms<<16) // 48 bits of milliseconds: good until the year 10889
	if _, err := io.ReadFull(s.rand, b[6:]); err != nil {
		return "", fmt.Errorf("read random id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// now returns the clock's time in UTC, rounded to the microsecond so that
// it survives JSON and compares equal after a round trip.
func (s *Store) now() time.Time { return s.clock().UTC().Round(time.Microsecond) }

// view runs fn in a read transaction.
func (s *Store) view(ctx context.Context, fn func(tx storage.Tx) error) error {
	return s.eng.View(ctx, fn)
}

// update runs fn in a write transaction. Storage failures are
// ErrUnavailable (the engine says so); fn's own errors come back as they
// are.
func (s *Store) update(ctx context.Context, fn func(tx storage.Tx) error) error {
	return s.eng.Update(ctx, fn)
}

// appendAudit adds an entry to the audit log within tx.
func (s *Store) appendAudit(tx storage.Tx, at time.Time, actor, action, object string) error {
	return s.appendAuditDetail(tx, at, actor, action, object, "")
}

// appendAuditDetail is appendAudit with the entry's detail (auditlog.Entry).
func (s *Store) appendAuditDetail(tx storage.Tx, at time.Time, actor, action, object, detail string) error {
	_, err := appendAuditEntry(tx, auditlog.Entry{Time: at, Actor: actor, Action: action, Object: object, Detail: detail})
	return err
}

// appendAuditEntry appends e to the tamper-evident log within tx, as its
// next entry, and returns its index.
func appendAuditEntry(tx storage.Tx, e auditlog.Entry) (int64, error) {
	size, err := tx.Audit().Size()
	if err != nil {
		return 0, err
	}
	e.Index = size
	var a auditlog.Appender
	if _, err := a.Append(tx.Audit(), e); err != nil {
		return 0, err
	}
	return size, nil
}

// AuditLog returns the audit entries in order.
func (s *Store) AuditLog(ctx context.Context) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.view(ctx, func(tx storage.Tx) error {
		return tx.Audit().Entries(func(index int64, encoded []byte) error {
			e, err := auditlog.DecodeEntry(encoded)
			if err != nil {
				return fmt.Errorf("audit entry %d: %w", index, err)
			}
			out = append(out, AuditEntry{Seq: uint64(e.Index) + 1, Time: e.Time, Actor: e.Actor, Action: e.Action,
				Object: e.Object, Detail: e.Detail})
			return nil
		})
	})
	return out, err
}

// BlobGrace is how old a blob that no letter refers to must be before
// SweepBlobs deletes it: far longer than any delivery takes between
// writing its blobs and committing the letter that refers to them (a
// delivery through the sender API writes each document's blob as soon as
// the document is read, and its request takes at most 5 minutes).
const BlobGrace = time.Hour

// SweepBlobs deletes the documents' blobs that no letter refers to, left
// by deliveries that crashed between writing them and committing, once
// they are older than BlobGrace, and returns how many. swept is false
// when the engine keeps documents inside its transactions (the embedded
// engine): it has nothing to sweep.
func (s *Store) SweepBlobs(ctx context.Context) (n int, swept bool, err error) {
	sw, ok := s.eng.(storage.Sweeper)
	if !ok {
		return 0, false, nil
	}
	n, err = sw.SweepBlobs(ctx, s.now().Add(-BlobGrace))
	if err != nil {
		return n, true, fmt.Errorf("sweep blobs: %w", err)
	}
	return n, true, nil
}

// CommitCounts returns how many group commits the committer has made and
// how many letters they stored since the store opened (their ratio is
// the mean batch size), for the metrics.
func (s *Store) CommitCounts() (commits, letters int64) {
	return s.commits.Load(), s.committed.Load()
}

// Ping runs an empty write transaction: the store answers and can write
// (the readiness check).
func (s *Store) Ping(ctx context.Context) error {
	return s.update(ctx, func(storage.Tx) error { return nil })
}

// AuditSize returns the number of entries in the audit log.
func (s *Store) AuditSize(ctx context.Context) (int64, error) {
	var n int64
	err := s.view(ctx, func(tx storage.Tx) error {
		var err error
		n, err = tx.Audit().Size()
		return err
	})
	return n, err
}
