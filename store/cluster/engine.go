package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/postkasse/postkasse/store/storage"
)

// Config says where the engine keeps its records and blobs.
type Config struct {
	// DatabaseURL is a PostgreSQL URL (postgres://user:password@host:port/db?...).
	DatabaseURL string
	// Blobs is the S3-compatible object store.
	Blobs BlobConfig
	// ReadOnly opens the engine for reading only (the auditor's check
	// and audit verify): the schema is not upgraded but must be this
	// code's, every session with the database is read-only
	// (default_transaction_read_only), and Update fails.
	ReadOnly bool
}

// BlobConfig names an S3-compatible bucket and how to reach it.
type BlobConfig struct {
	// Endpoint is the store's URL: http://host:port or https://host:port.
	Endpoint string
	Bucket   string
	Region   string // "us-east-1" when empty
	// AccessKey and SecretKey are the credentials. They are never logged
	// or put in an error.
	AccessKey string
	SecretKey string
}

// Engine is the cluster engine. Its methods are safe for concurrent use.
type Engine struct {
	pool     *pgxpool.Pool
	blobs    *blobStore
	closed   chan struct{}
	readOnly bool
	// upgraded lists what Open's schema upgrade did, for the log.
	upgraded []string
}

// ErrReadOnly: a change asked of an engine opened with Config.ReadOnly.
var ErrReadOnly = errors.New("the cluster engine is open read-only")

// maxAttempts is how often Update runs fn before it gives up on
// serialisation failures. Every change appends to the one audit log, so
// two nodes' group commits conflict whenever they overlap: one of them
// wins each time, and the other runs again after a random pause.
const maxAttempts = 30

// Open connects to the database and the bucket, checks both, and brings
// the database's schema up to this code's. Each problem is one line that
// names what to fix (never a password or secret).
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %s", redactURLError(err))
	}
	if cfg.ReadOnly {
		pcfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("database at %s: %s", pcfg.ConnConfig.Host, redactURLError(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database at %s:%d (database %q, user %q): %s", pcfg.ConnConfig.Host, pcfg.ConnConfig.Port,
			pcfg.ConnConfig.Database, pcfg.ConnConfig.User, describePgError(err))
	}
	blobs, err := openBlobs(ctx, cfg.Blobs)
	if err != nil {
		pool.Close()
		return nil, err
	}
	blobs.readOnly = cfg.ReadOnly
	e := &Engine{pool: pool, blobs: blobs, closed: make(chan struct{}), readOnly: cfg.ReadOnly}
	if cfg.ReadOnly {
		if err := e.checkSchema(ctx); err != nil {
			pool.Close()
			return nil, err
		}
		return e, nil
	}
	if err := e.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return e, nil
}

// redactURLError returns err's text without the URL it may quote (pgx's
// parse errors may name the password).
func redactURLError(err error) string {
	s := err.Error()
	if i := strings.Index(s, "postgres"); i >= 0 && strings.Contains(s[i:], "@") {
		return "cannot parse the URL (check its form: postgres://user:password@host:port/database)"
	}
	return s
}

// describePgError says in one line why the database refused or could not
// be reached.
func describePgError(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01", "28000":
			return "authentication failed (check the user and password)"
		case "3D000":
			return "the database does not exist (create it, or fix the URL)"
		}
		return pgErr.Message + " (SQLSTATE " + pgErr.Code + ")"
	}
	var netErr *net.OpError
	if errors.As(err, &netErr) {
		return "cannot connect: " + netErr.Err.Error()
	}
	return err.Error()
}

// View runs fn in a read-only transaction on one snapshot.
func (e *Engine) View(ctx context.Context, fn func(storage.Tx) error) error {
	if err := e.live(ctx); err != nil {
		return err
	}
	ptx, err := e.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return unavailable(err)
	}
	defer ptx.Rollback(context.WithoutCancel(ctx))
	t := &tx{ctx: ctx, tx: ptx, e: e}
	if err := fn(t); err != nil {
		return mapFnError(err)
	}
	return nil
}

// Update runs fn in a SERIALIZABLE transaction, again after a
// serialisation failure or deadlock, and commits it.
func (e *Engine) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if err := e.live(ctx); err != nil {
		return err
	}
	if e.readOnly {
		return ErrReadOnly
	}
	var last error
	for attempt := range maxAttempts {
		if attempt > 0 {
			// 1, 2, 4 … 32 ms and then 32 ms, each plus up to as much
			// again at random, so that two losers do not meet again.
			pause := time.Duration(1<<min(attempt-1, 5)) * time.Millisecond
			pause += rand.N(pause)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
		}
		t, err := e.try(ctx, fn)
		if err == nil {
			e.blobs.removeAll(context.WithoutCancel(ctx), t.deletedBlobs)
			return nil
		}
		if !retryable(err) {
			return mapFnError(err)
		}
		last = err
	}
	return fmt.Errorf("%w: %d attempts failed on conflicts with other transactions: %v", storage.ErrUnavailable, maxAttempts, last)
}

// try runs fn once in a transaction and commits it.
func (e *Engine) try(ctx context.Context, fn func(storage.Tx) error) (*tx, error) {
	ptx, err := e.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return nil, err
	}
	t := &tx{ctx: ctx, tx: ptx, e: e, writable: true}
	if err := fn(t); err != nil {
		ptx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	if err := ptx.Commit(ctx); err != nil {
		return nil, commitError{err}
	}
	return t, nil
}

// commitError marks a failed commit: not fn's error, so never passed on
// as it is.
type commitError struct{ err error }

func (c commitError) Error() string { return "commit: " + c.err.Error() }
func (c commitError) Unwrap() error { return c.err }

// retryable says whether err is a serialisation failure or deadlock, after
// which the transaction may run again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// mapFnError passes fn's own errors on unchanged and makes a failure to
// reach or use the database storage.ErrUnavailable.
func mapFnError(err error) error {
	var ce commitError
	if errors.As(err, &ce) {
		return unavailable(ce.err)
	}
	if isUnavailable(err) {
		return unavailable(err)
	}
	return err
}

// isUnavailable says whether err means the database could not be reached
// or used (as opposed to a refused statement or fn's own error).
func isUnavailable(err error) bool {
	if errors.Is(err, storage.ErrUnavailable) {
		return false // already marked
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "53", "57", "58", "XX":
			return true
		}
		return false
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	// A server that goes away in the middle of an answer leaves the
	// connection at io.ErrUnexpectedEOF (or EOF between answers).
	return errors.As(err, &netErr) || errors.As(err, &connErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, pgx.ErrTxClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "closed pool")
}

func unavailable(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, storage.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %v", storage.ErrUnavailable, err)
}

// live checks that the engine is open and ctx not done.
func (e *Engine) live(ctx context.Context) error {
	select {
	case <-e.closed:
		return storage.ErrClosed
	default:
	}
	return ctx.Err()
}

// Blobs keeps sealed document content in the bucket.
func (e *Engine) Blobs() storage.Blobs { return e.blobs }

// Close closes the connections; transactions in progress finish first.
func (e *Engine) Close() error {
	select {
	case <-e.closed:
		return nil
	default:
	}
	close(e.closed)
	e.pool.Close()
	return nil
}

// newMinio makes the S3 client of a BlobConfig.
func newMinio(c BlobConfig) (*minio.Client, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("object store endpoint %q: want http://host:port or https://host:port", c.Endpoint)
	}
	region := c.Region
	if region == "" {
		region = "us-east-1"
	}
	return minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       region,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   3,
	})
}
