package auditlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is the appliance's signed statement that its log had Size
// entries with root hash Hash.
type Checkpoint struct {
	// Origin names the log; it is the name of the key that signs it.
	Origin string
	Size   int64
	Hash   tlog.Hash
}

// MaxCheckpointSize bounds a signed checkpoint: ours is under 200 bytes;
// the rest leaves room for witnesses' cosignatures.
const MaxCheckpointSize = 16 << 10

// text is the checkpoint's note text (C2SP tlog-checkpoint): origin, size
// in decimal, root hash in standard base64, one per line.
func (c Checkpoint) text() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Hash[:]) + "\n"
}

// SignCheckpoint returns the signed checkpoint (a note) stating that the
// log had size entries with the given root hash. Its origin is s's key
// name.
func SignCheckpoint(s note.Signer, size int64, hash tlog.Hash) ([]byte, error) {
	if size < 0 || size > MaxTreeSize {
		return nil, fmt.Errorf("checkpoint size %d out of range: %w", size, ErrCheckpointFormat)
	}
	if !validKeyName(s.Name()) {
		return nil, fmt.Errorf("key name %q: %w", s.Name(), ErrCheckpointFormat)
	}
	c := Checkpoint{Origin: s.Name(), Size: size, Hash: hash}
	signed, err := note.Sign(&note.Note{Text: c.text()}, s)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	return signed, nil
}

// ParseCheckpoint verifies a signed checkpoint with v and returns what it
// states. It is strict: the note must carry a valid signature of v's key
// (other signatures, such as witnesses' cosignatures, are allowed), and its
// text must be exactly three lines: the origin, equal to v's key name; the
// size in decimal without leading zeros; the root hash in canonical
// standard base64. It fails with ErrCheckpointFormat, ErrCheckpointKey (not
// signed by v's key: another appliance's checkpoint, or a replaced key) or
// ErrCheckpointSignature (v's key, altered or forged).
func ParseCheckpoint(v note.Verifier, signed []byte) (Checkpoint, error) {
	if len(signed) > MaxCheckpointSize {
		return Checkpoint{}, fmt.Errorf("%d bytes, more than %d: %w", len(signed), MaxCheckpointSize, ErrCheckpointFormat)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			var by []string
			for _, s := range unverified.Note.UnverifiedSigs {
				by = append(by, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
			}
			return Checkpoint{}, fmt.Errorf("signed by %s, not by %s+%08x: %w", strings.Join(by, ", "), v.Name(), v.KeyHash(), ErrCheckpointKey)
		case errors.As(err, &invalid):
			return Checkpoint{}, fmt.Errorf("signature of %s+%08x: %w", invalid.Name, invalid.Hash, ErrCheckpointSignature)
		}
		return Checkpoint{}, fmt.Errorf("not a signed note (%v): %w", err, ErrCheckpointFormat)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		return Checkpoint{}, fmt.Errorf("text of %d lines, want origin, size and hash: %w", len(lines)-1, ErrCheckpointFormat)
	}
	var c Checkpoint
	if c.Origin = lines[0]; c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("origin %q is not %q: %w", c.Origin, v.Name(), ErrCheckpointFormat)
	}
	if c.Size, err = strconv.ParseInt(lines[1], 10, 64); err != nil || c.Size < 0 || c.Size > MaxTreeSize ||
		strconv.FormatInt(c.Size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("size %q: %w", lines[1], ErrCheckpointFormat)
	}
	if c.Hash, err = parseHash(lines[2]); err != nil {
		return Checkpoint{}, fmt.Errorf("root hash %q: %w", lines[2], ErrCheckpointFormat)
	}
	return c, nil
}

// parseHash decodes a hash in canonical standard base64 (RFC 4648 §4):
// 44 characters, "=" padded, unused bits zero.
func parseHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		return tlog.Hash{}, errors.New("not a base64 SHA-256 hash")
	}
	copy(h[:], b)
	return h, nil
}

// FileCheckpoint is one checkpoint read from a file of checkpoints: its
// first line's number (from 1), and what it states, or why it could not
// be read.
type FileCheckpoint struct {
	Line       int
	Checkpoint Checkpoint
	Err        error
}

// ParseCheckpointFile reads a file of signed checkpoints as
// AppendCheckpointFile writes it (each followed by an empty line), or a
// single signed checkpoint, and verifies each with v. A checkpoint that
// does not verify, including one torn by a crash in the middle of a write
// at the end of the file, is returned with its error; the others are
// still read.
func ParseCheckpointFile(v note.Verifier, data []byte) []FileCheckpoint {
	var out []FileCheckpoint
	for _, r := range splitNotes(data) {
		c, err := ParseCheckpoint(v, r.signed)
		out = append(out, FileCheckpoint{Line: r.line, Checkpoint: c, Err: err})
	}
	return out
}

type noteRecord struct {
	line   int
	signed []byte
}

// splitNotes splits data into signed notes. A note is text lines, an
// empty line, and signature lines ("— " prefix); it ends at the next
// empty line, at a line that is not a signature line, or at the end. A
// note torn by a crash (text without signatures) is returned as it is,
// and fails to parse, without swallowing the note after it.
func splitNotes(data []byte) []noteRecord {
	var out []noteRecord
	start, startLine, inSigs := -1, 0, false
	flush := func(end int) {
		if start >= 0 && end > start {
			out = append(out, noteRecord{line: startLine, signed: data[start:end]})
		}
		start, inSigs = -1, false
	}
	line := 0
	for off := 0; off < len(data); {
		line++
		next := len(data)
		if end := bytes.IndexByte(data[off:], '\n'); end >= 0 {
			next = off + end + 1
		}
		text := data[off:next]
		empty := len(text) == 1
		switch {
		case start < 0 && empty:
			// Blank lines between notes.
		case start < 0:
			start, startLine = off, line
		case !inSigs && empty:
			inSigs = true
		case !inSigs || bytes.HasPrefix(text, []byte("— ")):
			// A line of text or a signature.
		case empty:
			flush(off)
		default:
			// Not a signature after the signatures (or after a torn
			// note's text): the next note starts here.
			flush(off)
			start, startLine = off, line
		}
		off = next
	}
	flush(len(data))
	return out
}

// AppendCheckpointFile appends a signed checkpoint and an empty line to
// the file at path (made if missing, mode 0644: checkpoints are not
// secret) and fsyncs it, and its directory when the file is new. If the
// file does not end with an empty line (a write torn by a crash), it first
// ends the torn record, so the new checkpoint reads on its own.
//
// The file is a copy of the checkpoints outside the database: keep it on
// another disk or let something ship it off the machine.
func AppendCheckpointFile(path string, signed []byte) (err error) {
	if len(signed) == 0 || signed[len(signed)-1] != '\n' || bytes.Contains(signed, []byte("\n\n\n")) {
		return fmt.Errorf("append checkpoint to %s: not a signed note: %w", path, ErrCheckpointFormat)
	}
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("append checkpoint: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("append checkpoint to %s: %w", path, cerr)
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("append checkpoint: %w", err)
	}
	var prefix []byte
	if size := st.Size(); size > 0 {
		var tail [2]byte
		k := min(size, 2)
		if _, err := f.ReadAt(tail[2-k:], size-k); err != nil {
			return fmt.Errorf("append checkpoint to %s: read its end: %w", path, err)
		}
		switch {
		case tail == [2]byte{'\n', '\n'}:
		case tail[1] == '\n':
			prefix = []byte("\n")
		default:
			prefix = []byte("\n\n")
		}
	}
	rec := make([]byte, 0, len(prefix)+len(signed)+1)
	rec = append(append(append(rec, prefix...), signed...), '\n')
	if _, err := f.Write(rec); err != nil {
		return fmt.Errorf("append checkpoint to %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("append checkpoint to %s: %w", path, err)
	}
	if created {
		if err := syncDir(filepath.Dir(path)); err != nil {
			return fmt.Errorf("append checkpoint to %s: %w", path, err)
		}
	}
	return nil
}

// syncDir fsyncs a directory, so that a file made in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// PostCheckpoint POSTs a signed checkpoint to a witness: an HTTP(S)
// endpoint that keeps what it is sent (Content-Type text/plain; the body
// is the note). Any 2xx answer is success; anything else is an error
// wrapping ErrWitness. The caller logs a failure and goes on: a witness
// that is down must never stop the appliance. ctx and client's timeout
// bound the call.
func PostCheckpoint(ctx context.Context, client *http.Client, witness string, signed []byte) error {
	u, err := url.Parse(witness)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("witness URL %q: want http(s)://host/…: %w", witness, ErrWitness)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(signed))
	if err != nil {
		return fmt.Errorf("post checkpoint to %s: %w", u.Redacted(), err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post checkpoint to %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	// Read a little of the answer so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post checkpoint to %s: answered %s: %w", u.Redacted(), resp.Status, ErrWitness)
	}
	return nil
}
