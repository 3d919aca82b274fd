package embedded

import (
	"bytes"
	"encoding/binary"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/storage"
)

// Bucket names. The package doc describes each one's keys and values.
var (
	bucketMeta           = []byte("meta")
	bucketResidents      = []byte("residents")
	bucketResidentsByNID = []byte("residents-by-nid")
	bucketSenders        = []byte("senders")
	bucketSenderCerts    = []byte("sender-certs")
	bucketLetters        = []byte("letters")
	bucketDocuments      = []byte("documents")
	bucketMailbox        = []byte("mailbox")
	bucketReferences     = []byte("references")
	bucketSenderLetters  = []byte("sender-letters")
	bucketSessions       = []byte("sessions")
	bucketAudit          = []byte("audit") // schema 1–5: the plain log, migrated by upgrade6
	bucketAuditLog       = []byte("audit-log")
	bucketAuditHashes    = []byte("audit-hashes")
	// Since schema 3.
	bucketTerms         = []byte("terms")
	bucketTermsAccepted = []byte("terms-accepted")
	bucketTermsNotices  = []byte("terms-notices")
	bucketRetention     = []byte("retention")
	bucketPreferences   = []byte("preferences")
	bucketOutbox        = []byte("outbox")
	bucketOutboxDue     = []byte("outbox-due")
	bucketJobRuns       = []byte("job-runs")
	// Since schema 5.
	bucketSessionsByResident = []byte("sessions-by-resident")
	// Since schema 7.
	bucketSupport           = []byte("support")
	bucketSupportByResident = []byte("support-by-resident")
	bucketSenderBlocks      = []byte("sender-blocks")
	bucketEvents            = []byte("events")
	bucketFolders           = []byte("folders")
	bucketMailboxFolders    = []byte("mailbox-folders")
	// Since schema 8.
	bucketLimits         = []byte("limits")
	bucketLimitsByExpiry = []byte("limits-by-expiry")
	// Since schema 9.
	bucketMailboxUnread      = []byte("mailbox-unread")
	bucketMailboxDue         = []byte("mailbox-due")
	bucketTombstones         = []byte("tombstones")
	bucketSearchIndexes      = []byte("search-indexes")
	bucketSessionsByExpiry   = []byte("sessions-by-expiry")
	bucketSessionsByLastSeen = []byte("sessions-by-last-seen")
	// Since schema 10.
	bucketCallbacks        = []byte("callbacks")
	bucketCallbackOutbox   = []byte("callback-outbox")
	bucketMailboxCounts    = []byte("mailbox-counts")
	bucketLettersScheduled = []byte("letters-scheduled")
	// Since schema 11.
	bucketPrint            = []byte("print")
	bucketPrintByReference = []byte("print-by-reference")
	bucketPrintPending     = []byte("print-pending")
	bucketPrintWaiting     = []byte("print-waiting")
	// Since schema 12.
	bucketReplies         = []byte("replies")
	bucketRepliesByLetter = []byte("replies-by-letter")
	bucketRepliesResident = []byte("replies-by-resident")
	// Since schema 13.
	bucketDelegations           = []byte("delegations")
	bucketDelegationsByGrantor  = []byte("delegations-by-grantor")
	bucketDelegationsByDelegate = []byte("delegations-by-delegate")
	// Since schema 15.
	bucketLetterParts = []byte("letter-parts")
)

// idSize is the length of every id: 128 bits in lowercase hex.
const idSize = 32

func be32(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
func be64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// join makes a compound key: a | 0x00 | b.
func join(a string, b ...byte) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

// afterZero returns what follows the first 0x00 of k, skipping n bytes.
func afterZero(k []byte, skip int) ([]byte, bool) {
	i := bytes.IndexByte(k, 0)
	if i < 0 || len(k) < i+1+skip {
		return nil, false
	}
	return k[i+1+skip:], true
}

var residents = &table[storage.Resident]{
	name:   "resident",
	bucket: bucketResidents,
	key:    func(r *storage.Resident) []byte { return []byte(r.ID) },
	indexes: []index[storage.Resident]{{
		// residents-by-nid: national id digits → residentID.
		bucket:  bucketResidentsByNID,
		entries: func(r *storage.Resident) []entry { return []entry{{[]byte(r.NationalID), []byte(r.ID)}} },
		owner:   func(_, v []byte) ([]byte, bool) { return v, true },
	}},
}

var senders = &table[storage.Sender]{
	name:   "sender",
	bucket: bucketSenders,
	key:    func(s *storage.Sender) []byte { return []byte(s.ID) },
	indexes: []index[storage.Sender]{{
		// sender-certs: certificate fingerprint → senderID, for every
		// certificate ever bound (revoked ones too: the record says so).
		bucket: bucketSenderCerts,
		entries: func(s *storage.Sender) []entry {
			out := make([]entry, len(s.Certificates))
			for i, c := range s.Certificates {
				out[i] = entry{[]byte(c.Fingerprint), []byte(s.ID)}
			}
			return out
		},
		owner: func(_, v []byte) ([]byte, bool) { return v, true },
	}},
}

// mailboxKey: residentID | 0x00 | uint64 deliveredAt (Unix ns) | letterID.
func mailboxKey(residentID string, at time.Time, letterID string) []byte {
	k := join(residentID)
	k = binary.BigEndian.AppendUint64(k, uint64(at.UnixNano()))
	return append(k, letterID...)
}

func referenceKey(senderID, ref string) []byte { return join(senderID, []byte(ref)...) }

// folderPrefix is the start of a folder's keys in mailbox-folders:
// residentID | 0x00 | folder | 0x00.
func folderPrefix(residentID, folder string) []byte {
	return append(join(residentID, []byte(folder)...), 0)
}

// folderKey: folderPrefix | uint64 delivery time (Unix ns) | letterID.
func folderKey(residentID, folder string, at time.Time, letterID string) []byte {
	k := folderPrefix(residentID, folder)
	k = binary.BigEndian.AppendUint64(k, uint64(at.UnixNano()))
	return append(k, letterID...)
}

var letters = &table[storage.Letter]{
	name:   "letter",
	bucket: bucketLetters,
	key:    func(l *storage.Letter) []byte { return []byte(l.ID) },
	// mailbox-counts: countKey → uint64, the entries of mailbox-folders,
	// mailbox-unread and mailbox-due of each resident and folder, since
	// schema 10.
	counts: bucketMailboxCounts,
	// letter-parts: the big fields, since schema 15 (letterparts.go).
	beside: letterParts{},
	indexes: []index[storage.Letter]{{
		bucket: bucketMailbox,
		entries: func(l *storage.Letter) []entry {
			if !l.InMailbox() {
				return nil
			}
			return []entry{{mailboxKey(l.ResidentID, l.DeliveredAt, l.ID), nil}}
		},
		owner: func(k, _ []byte) ([]byte, bool) { return afterZero(k, 8) },
	}, {
		bucket: bucketReferences,
		entries: func(l *storage.Letter) []entry {
			return []entry{{referenceKey(l.SenderID, l.SenderReference), []byte(l.ID)}}
		},
		owner: func(_, v []byte) ([]byte, bool) { return v, true },
	}, {
		bucket:  bucketSenderLetters,
		entries: func(l *storage.Letter) []entry { return []entry{{join(l.SenderID, []byte(l.ID)...), nil}} },
		owner:   func(k, _ []byte) ([]byte, bool) { return afterZero(k, 0) },
	}, {
		// mailbox-folders: folderKey → empty, since schema 7.
		bucket: bucketMailboxFolders,
		entries: func(l *storage.Letter) []entry {
			if !l.InMailbox() {
				return nil
			}
			return []entry{{folderKey(l.ResidentID, l.Folder, l.DeliveredAt, l.ID), nil}}
		},
		owner:   folderKeyOwner,
		counter: folderKeyCounter(countLetters),
	}, {
		// mailbox-unread: folderKey → empty, for each unread letter
		// (storage.Letter.Unread), since schema 9.
		bucket: bucketMailboxUnread,
		entries: func(l *storage.Letter) []entry {
			if !l.Unread() {
				return nil
			}
			return []entry{{folderKey(l.ResidentID, l.Folder, l.DeliveredAt, l.ID), nil}}
		},
		owner:   folderKeyOwner,
		counter: folderKeyCounter(countUnread),
	}, {
		// mailbox-due: dueKey → empty, for each letter with a due date
		// to act on (storage.Letter.Due), since schema 9.
		bucket: bucketMailboxDue,
		entries: func(l *storage.Letter) []entry {
			if l.Due() == "" {
				return nil
			}
			return []entry{{dueKey(l.ResidentID, l.Due(), l.ID), nil}}
		},
		owner: func(k, _ []byte) ([]byte, bool) {
			if len(k) != dueKeySize {
				return nil, false
			}
			return k[dueKeySize-idSize:], true
		},
		counter: func(k []byte) []byte {
			if len(k) != dueKeySize || k[idSize] != 0 {
				return nil
			}
			return countKey(string(k[:idSize]), countDue, "")
		},
	}, {
		// tombstones: residentID | 0x00 | letterID → empty, for a
		// tombstone only (since schema 9).
		bucket: bucketTombstones,
		entries: func(l *storage.Letter) []entry {
			if !l.IsTombstone() {
				return nil
			}
			return []entry{{join(l.ResidentID, []byte(l.ID)...), nil}}
		},
		owner: func(k, _ []byte) ([]byte, bool) { return afterZero(k, 0) },
	}, {
		// letters-scheduled: uint64 release time (Unix ns) | letterID →
		// residentID, for a scheduled letter only (since schema 10).
		bucket: bucketLettersScheduled,
		entries: func(l *storage.Letter) []entry {
			if !l.IsScheduled() {
				return nil
			}
			return []entry{{timeKey(l.ReleaseAt, []byte(l.ID)), []byte(l.ResidentID)}}
		},
		owner: afterTime,
	}},
}

// dueKey: residentID | 0x00 | due date (YYYY-MM-DD) | letterID.
func dueKey(residentID, due, letterID string) []byte {
	return append(join(residentID, []byte(due)...), letterID...)
}

// dueKeySize is the length of every dueKey.
const dueKeySize = idSize + 1 + len("2006-01-02") + idSize

// folderKeyOwner returns the letter id of a folderKey.
func folderKeyOwner(k, _ []byte) ([]byte, bool) {
	if len(k) < idSize+2 {
		return nil, false
	}
	i := bytes.IndexByte(k[idSize+1:], 0)
	if i < 0 || len(k) < idSize+1+i+1+8 {
		return nil, false
	}
	return k[idSize+1+i+1+8:], true
}

// The kinds of mailbox-counts' counters.
const (
	countLetters = 'l' // a folder's letters (mailbox-folders)
	countUnread  = 'u' // a folder's unread letters (mailbox-unread)
	countDue     = 'd' // the letters with a due date to act on (mailbox-due)
)

// countKey: residentID | 0x00 | kind | folder (none for countDue), so a
// resident's counters are together.
func countKey(residentID string, kind byte, folder string) []byte {
	return append(join(residentID, kind), folder...)
}

// folderKeyCounter returns the counter of kind of a folderKey's folder.
func folderKeyCounter(kind byte) func(k []byte) []byte {
	return func(k []byte) []byte {
		if len(k) < idSize+2 || k[idSize] != 0 {
			return nil
		}
		i := bytes.IndexByte(k[idSize+1:], 0)
		if i < 0 || len(k) < idSize+1+i+1+8 {
			return nil
		}
		return countKey(string(k[:idSize]), kind, string(k[idSize+1:idSize+1+i]))
	}
}

// sessionRow is a session with its id, which the record does not hold.
type sessionRow struct {
	ID []byte `json:"-"`
	storage.Session
}

var sessions = &table[sessionRow]{
	name:   "session",
	bucket: bucketSessions,
	key:    func(s *sessionRow) []byte { return s.ID },
	setKey: func(s *sessionRow, k []byte) { s.ID = bytes.Clone(k) },
	indexes: []index[sessionRow]{{
		// sessions-by-resident: residentID | sessionID → empty.
		bucket:  bucketSessionsByResident,
		entries: func(s *sessionRow) []entry { return []entry{{append([]byte(s.ResidentID), s.ID...), nil}} },
		owner: func(k, _ []byte) ([]byte, bool) {
			if len(k) <= idSize {
				return nil, false
			}
			return k[idSize:], true
		},
	}, {
		// sessions-by-expiry: uint64 expires (Unix ns) | sessionID → empty.
		bucket:  bucketSessionsByExpiry,
		entries: func(s *sessionRow) []entry { return []entry{{timeKey(s.Expires, s.ID), nil}} },
		owner:   afterTime,
	}, {
		// sessions-by-last-seen: uint64 last seen (Unix ns) | sessionID → empty.
		bucket:  bucketSessionsByLastSeen,
		entries: func(s *sessionRow) []entry { return []entry{{timeKey(s.LastSeen, s.ID), nil}} },
		owner:   afterTime,
	}},
}

// timeKey: uint64 t (Unix ns) | key, so that an index's keys are in the
// order of t.
func timeKey(t time.Time, key []byte) []byte {
	return append(be64(unixNanos(t)), key...)
}

// unixNanos is a time as the indexes by time order it: Unix nanoseconds,
// with times before 1970 (the zero time among them) first, as 0, and
// times past 2262 last, so that a time out of int64's range never sorts
// as another.
func unixNanos(t time.Time) uint64 {
	switch {
	case t.Before(time.Unix(0, 0)):
		return 0
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}

// afterTime is the owner of a timeKey entry: the key after the time.
func afterTime(k, _ []byte) ([]byte, bool) {
	if len(k) <= 8 {
		return nil, false
	}
	return k[8:], true
}

// outboxKey: residentID | uint64 sequence.
func outboxKey(residentID string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(residentID), seq)
}

var outbox = &table[storage.Notification]{
	name:   "notification",
	bucket: bucketOutbox,
	key:    func(n *storage.Notification) []byte { return outboxKey(n.ResidentID, n.Seq) },
	indexes: []index[storage.Notification]{{
		// outbox-due: uint64 next attempt (Unix ns) | outbox key → empty,
		// for pending notifications only.
		bucket: bucketOutboxDue,
		entries: func(n *storage.Notification) []entry {
			if n.State != storage.NotificationPending {
				return nil
			}
			k := binary.BigEndian.AppendUint64(nil, uint64(n.NextAttempt.UnixNano()))
			return []entry{{append(k, outboxKey(n.ResidentID, n.Seq)...), nil}}
		},
		owner: func(k, _ []byte) ([]byte, bool) {
			if len(k) < 8 {
				return nil, false
			}
			return k[8:], true
		},
	}},
}

var terms = &table[storage.TermsVersion]{
	name:   "terms version",
	bucket: bucketTerms,
	key:    func(t *storage.TermsVersion) []byte { return be32(uint32(t.Version)) },
}

var jobRuns = &table[storage.JobRun]{
	name:   "job run",
	bucket: bucketJobRuns,
	key:    func(r *storage.JobRun) []byte { return []byte(r.Job) },
}

var support = &table[storage.SupportRequest]{
	name:   "support request",
	bucket: bucketSupport,
	key:    func(r *storage.SupportRequest) []byte { return []byte(r.ID) },
	indexes: []index[storage.SupportRequest]{{
		// support-by-resident: residentID | requestID → empty.
		bucket:  bucketSupportByResident,
		entries: func(r *storage.SupportRequest) []entry { return []entry{{[]byte(r.ResidentID + r.ID), nil}} },
		owner: func(k, _ []byte) ([]byte, bool) {
			if len(k) <= idSize {
				return nil, false
			}
			return k[idSize:], true
		},
	}},
}

// expiryKey: uint64 expiry (Unix ns) | key, so the keys of limits-by-expiry
// are in the order the records expire.
func expiryKey(expires time.Time, key string) []byte {
	return timeKey(expires, []byte(key))
}

var limits = &table[storage.Limit]{
	name:   "limit",
	bucket: bucketLimits,
	key:    func(l *storage.Limit) []byte { return []byte(l.Key) },
	indexes: []index[storage.Limit]{{
		// limits-by-expiry: expiryKey → empty.
		bucket:  bucketLimitsByExpiry,
		entries: func(l *storage.Limit) []entry { return []entry{{expiryKey(l.Expires, l.Key), nil}} },
		owner: func(k, _ []byte) ([]byte, bool) {
			if len(k) < 8 {
				return nil, false
			}
			return k[8:], true
		},
	}},
}

var printLetters = &table[storage.PrintLetter]{
	name:   "print letter",
	bucket: bucketPrint,
	key:    func(p *storage.PrintLetter) []byte { return []byte(p.ID) },
	indexes: []index[storage.PrintLetter]{{
		// print-by-reference: senderID | 0x00 | reference → id.
		bucket: bucketPrintByReference,
		entries: func(p *storage.PrintLetter) []entry {
			return []entry{{referenceKey(p.SenderID, p.SenderReference), []byte(p.ID)}}
		},
		owner: func(_, v []byte) ([]byte, bool) { return v, true },
	}, {
		// print-pending: timeKey(QueuedAt, id) → empty, while queued and
		// not printed.
		bucket: bucketPrintPending,
		entries: func(p *storage.PrintLetter) []entry {
			if p.Printed() || p.Waiting() {
				return nil
			}
			return []entry{{timeKey(p.QueuedAt, []byte(p.ID)), nil}}
		},
		owner: func(k, _ []byte) ([]byte, bool) {
			if len(k) < 8 {
				return nil, false
			}
			return k[8:], true
		},
	}, {
		// print-waiting: timeKey(WaitUntil, id) → empty, while waiting.
		bucket: bucketPrintWaiting,
		entries: func(p *storage.PrintLetter) []entry {
			if p.Printed() || !p.Waiting() {
				return nil
			}
			return []entry{{timeKey(p.WaitUntil, []byte(p.ID)), nil}}
		},
		owner: func(k, _ []byte) ([]byte, bool) {
			if len(k) < 8 {
				return nil, false
			}
			return k[8:], true
		},
	}},
}

var replies = &table[storage.Reply]{
	name:   "reply",
	bucket: bucketReplies,
	key:    func(r *storage.Reply) []byte { return []byte(r.ID) },
	indexes: []index[storage.Reply]{{
		// replies-by-letter: letterID | 0x00 | timeKey(Created, id) → empty.
		bucket: bucketRepliesByLetter,
		// A message (no letter) has none.
		entries: func(r *storage.Reply) []entry {
			if r.LetterID == "" {
				return nil
			}
			return []entry{{replyLetterKey(r.LetterID, r.Created, r.ID), nil}}
		},
		owner: replyIndexOwner,
	}, {
		// replies-by-resident: residentID | 0x00 | timeKey(Created, id) → empty.
		bucket: bucketRepliesResident,
		entries: func(r *storage.Reply) []entry {
			return []entry{{replyLetterKey(r.ResidentID, r.Created, r.ID), nil}}
		},
		owner: replyIndexOwner,
	}},
}

// replyIndexOwner is the reply an entry of replies-by-letter or
// replies-by-resident belongs to.
func replyIndexOwner(k, _ []byte) ([]byte, bool) {
	i := bytes.IndexByte(k, 0)
	if i < 0 || len(k) < i+1+8 {
		return nil, false
	}
	return k[i+1+8:], true
}

// replyLetterKey is a reply's key in replies-by-letter (and, with the
// resident's id, in replies-by-resident).
func replyLetterKey(letterID string, created time.Time, id string) []byte {
	return append(join(letterID), timeKey(created, []byte(id))...)
}

// delegations: id → JSON storage.Delegation.
var delegations = &table[storage.Delegation]{
	name:   "delegation",
	bucket: bucketDelegations,
	key:    func(d *storage.Delegation) []byte { return []byte(d.ID) },
	indexes: []index[storage.Delegation]{{
		// delegations-by-grantor: grantorID | id → empty.
		bucket:  bucketDelegationsByGrantor,
		entries: func(d *storage.Delegation) []entry { return []entry{{[]byte(d.GrantorID + d.ID), nil}} },
		owner:   residentPrefixed,
	}, {
		// delegations-by-delegate: delegateID | id → empty.
		bucket:  bucketDelegationsByDelegate,
		entries: func(d *storage.Delegation) []entry { return []entry{{[]byte(d.DelegateID + d.ID), nil}} },
		owner:   residentPrefixed,
	}},
}

// residentPrefixed is the owner of an index entry keyed residentID | id.
func residentPrefixed(k, _ []byte) ([]byte, bool) {
	if len(k) <= idSize {
		return nil, false
	}
	return k[idSize:], true
}

// tableChecks check every table, for Check.
var tableChecks = []func(tx *bolt.Tx) []error{
	residents.check, senders.check, letters.check, sessions.check, outbox.check, terms.check, jobRuns.check,
	support.check, limits.check, printLetters.check, replies.check, delegations.check,
}
