package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/postkasse/postkasse/store/storage"
)

// Device is what a session notes of the browser that signed in: its
// User-Agent header and the client's address. The resident sees them
// among their sessions (Mailbox.Sessions), to tell their devices apart
// and to spot one that is not theirs. Neither is trusted for anything.
type Device struct {
	UserAgent string
	Address   string
}

// The lengths a session keeps of a device's User-Agent and address, in
// bytes: enough for every browser's header and an IPv6 address, not for
// whatever a client cares to send.
const (
	maxUserAgent = 256
	maxAddress   = 64
)

type deviceKey struct{}

// WithDevice returns ctx carrying the device a request comes from: a
// session that a sign-in under ctx starts (Login, Recover) notes it. The
// web layer sets it on every request, so every way of signing in notes
// it without being told.
func WithDevice(ctx context.Context, d Device) context.Context {
	return context.WithValue(ctx, deviceKey{}, d)
}

// deviceOf returns the device ctx carries (WithDevice), cut to the
// lengths a session keeps, as one line of printable text; none is the
// zero Device.
func deviceOf(ctx context.Context) Device {
	d, _ := ctx.Value(deviceKey{}).(Device)
	return Device{UserAgent: printableCut(d.UserAgent, maxUserAgent), Address: printableCut(d.Address, maxAddress)}
}

// printableCut returns s without invalid UTF-8 and control or format
// characters, cut to at most n bytes on a character's boundary.
func printableCut(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return strings.TrimSpace(s)
}

// SessionInfo is one of a resident's live sessions, as the resident sees
// it.
type SessionInfo struct {
	// Handle names the session to EndSession. It is derived from the
	// session's id by a hash, so a page that lists sessions shows no part
	// of any cookie.
	Handle    string
	UserAgent string // the User-Agent at sign-in, cut short; "" when unknown
	Address   string // the client's address at sign-in; "" when unknown
	Created   time.Time
	LastSeen  time.Time // to the minute (lastSeenGranularity)
	// Current: the session of the mailbox asking (this device).
	Current bool
}

// sessionHandle derives the handle of the session with the id: the first
// 128 bits of SHA-256 over a label and the id, in hex.
func sessionHandle(id []byte) string {
	h := sha256.New()
	h.Write([]byte("postkasse session handle v1\x00"))
	h.Write(id)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Sessions returns the owner's live sessions, the most recently seen
// first. Sessions past their lifetime or idle time that the sweep has not
// deleted yet are not listed: they open nothing.
func (m *Mailbox) Sessions(ctx context.Context) ([]SessionInfo, error) {
	now := m.s.now()
	var out []SessionInfo
	err := m.s.view(ctx, func(tx storage.Tx) error {
		ids, err := tx.Sessions().OfResident(m.resident.ID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			rec, err := tx.Sessions().Get(id)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				// A record that does not decode opens nothing; Check
				// reports it.
				m.s.log.Warn("list sessions: a session record does not decode", "resident", m.resident.ID, "err", err)
				continue
			}
			// A sign-in waiting for its second step is no session yet.
			if rec.ResidentID != m.resident.ID || rec.SecondStep != nil || m.s.expired(rec, now) {
				continue
			}
			out = append(out, SessionInfo{Handle: sessionHandle(id), UserAgent: rec.UserAgent, Address: rec.Address,
				Created: rec.Created, LastSeen: rec.LastSeen, Current: string(id) == m.sessionID})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	slices.SortStableFunc(out, func(a, b SessionInfo) int {
		if a.Current != b.Current { // this device first
			if a.Current {
				return -1
			}
			return 1
		}
		return b.LastSeen.Compare(a.LastSeen)
	})
	return out, nil
}

// EndSession ends one of the owner's sessions, named by its handle
// (SessionInfo.Handle): its wrapping of the private key is deleted, so its
// cookie opens nothing any more. A handle that names none of the owner's
// sessions (another resident's, one ended already) is ErrNotFound, and
// nothing changes. Ending the session of the mailbox itself signs this
// device out. Audited.
func (m *Mailbox) EndSession(ctx context.Context, handle string) error {
	now := m.s.now()
	return m.s.update(ctx, func(tx storage.Tx) error {
		ids, err := m.ownSessions(tx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ids, func(id []byte) bool { return sessionHandle(id) == handle })
		if i < 0 {
			return fmt.Errorf("session %.32q: %w", handle, ErrNotFound)
		}
		if err := tx.Sessions().Delete(ids[i]); err != nil {
			return err
		}
		return m.s.appendAudit(tx, now, "resident:"+m.resident.ID, "end-session", "resident:"+m.resident.ID)
	})
}

// EndOtherSessions ends every session of the owner but the mailbox's own,
// and any sign-in waiting for its second step, and returns how many
// sessions it ended. Audited when it ended any.
func (m *Mailbox) EndOtherSessions(ctx context.Context) (int, error) {
	now := m.s.now()
	var n int
	err := m.s.update(ctx, func(tx storage.Tx) error {
		n = 0
		ids, err := m.ownSessions(tx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if bytes.Equal(id, []byte(m.sessionID)) {
				continue
			}
			// A sign-in waiting for its second step goes too (whoever
			// gave the password there must start again), but it was no
			// session: not counted.
			rec, err := tx.Sessions().Get(id)
			waiting := err == nil && rec.SecondStep != nil
			if err := tx.Sessions().Delete(id); err != nil {
				return err
			}
			if !waiting {
				n++
			}
		}
		if n == 0 {
			return nil
		}
		return m.s.appendAuditDetail(tx, now, "resident:"+m.resident.ID, "end-other-sessions", "resident:"+m.resident.ID,
			fmt.Sprintf("%d sessions", n))
	})
	return n, err
}

// ownSessions returns the ids of the owner's sessions, in a write that
// acts on them: ErrSessionExpired when the mailbox's own session has
// ended meanwhile (another device ended it), so a device that was signed
// out can end no other.
func (m *Mailbox) ownSessions(tx storage.Tx) ([][]byte, error) {
	ids, err := tx.Sessions().OfResident(m.resident.ID)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(ids, func(id []byte) bool { return string(id) == m.sessionID }) {
		return nil, ErrSessionExpired
	}
	return ids, nil
}
