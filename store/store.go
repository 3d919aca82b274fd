package store

import (
	"bytes"
	cryptorand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/microcosm-cc/bluemonday"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/postkasse/postkasse/crypto"
)

// Bucket names. The package doc describes each one's keys and values.
var (
	bucketMeta             = []byte("meta")
	bucketResidents        = []byte("residents")
	bucketResidentsByNID   = []byte("residents-by-nid")
	bucketSenders          = []byte("senders")
	bucketSenderCerts      = []byte("sender-certs")
	bucketLetters          = []byte("letters")
	bucketDocuments        = []byte("documents")
	bucketMailbox          = []byte("mailbox")
	bucketReferences       = []byte("references")
	bucketSenderLetters    = []byte("sender-letters")
	bucketSessions         = []byte("sessions")
	bucketAudit            = []byte("audit")
	keySchema              = []byte("schema")
	keySigningSeed         = []byte("signing-seed")
	keyCreated             = []byte("created")
	defaultOpenTimeout     = 2 * time.Second
	defaultMaxBatchLetters = 256
	defaultMaxBatchBytes   = 64 << 20
)

// Options configure a Store. The zero value is valid: real time, real
// randomness, the default Argon2id parameters and limits.
type Options struct {
	Clock   func() time.Time // default time.Now
	Rand    io.Reader        // default crypto/rand.Reader
	KDF     crypto.KDFParams // Argon2id parameters for new password wrappings
	Limits  Limits
	Timeout time.Duration // how long to wait for the database's file lock
	// Sessions bound how long a login lasts.
	SessionIdle     time.Duration // default 30 minutes without a request
	SessionLifetime time.Duration // default 12 hours in all
	// ActivationLifetime is how long an activation code from
	// EnrolResident stays valid; default 30 days.
	ActivationLifetime time.Duration
	// Logger gets what the store skips rather than fails on (a letter
	// that cannot be opened in an inbox, a failed sweep of sessions);
	// nil discards it.
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

// Store is Postkasse's domain and its persistence in one bbolt file.
// Every exported operation is one transaction that keeps the invariants
// the package doc lists. A Store is safe for concurrent use.
type Store struct {
	db              *bolt.DB
	clock           func() time.Time
	rand            io.Reader
	kdf             crypto.KDFParams
	limits          Limits
	signer          *crypto.Signer
	html            *bluemonday.Policy // sanitises HTML documents
	sessionIdle     time.Duration
	sessionLifetime time.Duration
	log             *slog.Logger
	// activationLifetime: Options.ActivationLifetime with its default.
	activationLifetime time.Duration

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
	commits    atomic.Int64
	hookQueued func() // Deliver queued a delivery
	hookBatch  func() // the committer took the first delivery of a batch
}

// Open opens (creating if needed) the database at path, brings its schema
// up to date and starts the delivery committer.
func Open(path string, opts Options) (*Store, error) {
	s := &Store{
		clock:           opts.Clock,
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
		s.sessionIdle = 30 * time.Minute
	}
	if s.sessionLifetime == 0 {
		s.sessionLifetime = 12 * time.Hour
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.activationLifetime = opts.ActivationLifetime; s.activationLifetime <= 0 {
		s.activationLifetime = DefaultActivationLifetime
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = defaultOpenTimeout
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: the database is in use by another process (is the server running?)", path)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s.db = db
	if err := s.upgrade(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var seed []byte
	if err := db.View(func(tx *bolt.Tx) error {
		seed = bytes.Clone(tx.Bucket(bucketMeta).Get(keySigningSeed))
		return nil
	}); err != nil {
		db.Close()
		return nil, err
	}
	if s.signer, err = crypto.NewSigner(seed); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: signing key: %w", path, err)
	}
	clear(seed)
	s.committer.Add(1)
	go s.commitLoop()
	return s, nil
}

// Close waits for deliveries in flight, stops the committer and closes the
// database. Deliveries that arrive after Close began get ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.inflight.Wait()
	s.closeOnce.Do(func() { close(s.closing) })
	s.committer.Wait()
	return s.db.Close()
}

// Check runs bbolt's consistency check and returns every problem it finds.
func (s *Store) Check() error {
	return s.db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.db.Path() }

// Limits returns the delivery limits in force.
func (s *Store) Limits() Limits { return s.limits }

// SigningKey returns the appliance's receipt verification key.
func (s *Store) SigningKey() []byte { return s.signer.PublicKey() }

// WriteBackup writes a consistent copy of the database to w (a bbolt file)
// and returns its size.
func (s *Store) WriteBackup(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
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

// update runs fn in a write transaction and maps storage failures to
// ErrUnavailable.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	return storageError(s.db.Update(fn))
}

// storageError wraps disk-level failures in ErrUnavailable, leaving the
// domain errors of a transaction's function as they are.
func storageError(err error) error {
	if err == nil {
		return nil
	}
	var errno syscall.Errno
	if errors.As(err, &errno) || errors.Is(err, berrors.ErrDatabaseNotOpen) || errors.Is(err, berrors.ErrTxClosed) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return b.Put(key, data)
}

// getJSON decodes the value at key into v; a missing key is ErrNotFound.
func getJSON(b *bolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

// appendAudit adds an entry to the audit log within tx.
func (s *Store) appendAudit(tx *bolt.Tx, at time.Time, actor, action, object string) error {
	b := tx.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	return putJSON(b, be64(seq), AuditEntry{Seq: seq, Time: at, Actor: actor, Action: action, Object: object})
}

// AuditLog returns the audit entries in order.
func (s *Store) AuditLog() ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAudit).ForEach(func(k, v []byte) error {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode audit entry %x: %w", k, err)
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

func be64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// deleteWhere deletes the entries of b for which match says yes and
// returns how many. It collects the keys first: bbolt's cursor must not
// walk a bucket that is being changed under it.
func deleteWhere(b *bolt.Bucket, match func(k, v []byte) (bool, error)) (int, error) {
	var doomed [][]byte
	err := b.ForEach(func(k, v []byte) error {
		ok, err := match(k, v)
		if ok {
			doomed = append(doomed, bytes.Clone(k))
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}
