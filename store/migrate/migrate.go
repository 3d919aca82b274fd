// Package migrate copies a deployment from one storage engine to another
// (in practice from the embedded engine of one machine to the cluster
// engine of several) and compares the two, record by record and blob by
// blob. It works below the domain, on the storage seam: what it copies is
// what the engines store, sealed as it is, so it needs no key and the
// operator running it reads no mail.
//
// Copy refuses a target that holds anything: run twice, it never
// duplicates, and a copy cut short is started again on an emptied target.
// It never writes to the source. Leases and limits are not copied (they
// belong to the running nodes: who runs the jobs, the login throttle's
// and the senders' rate limits' state, which expires within the hour);
// everything else is, with the numbers of
// notifications and events (a sender's event cursor keeps its meaning)
// and the audit log entry by entry with its stored hashes (its checkpoints
// and receipts stay valid).
package migrate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/postkasse/postkasse/store/storage"
)

// ErrNotEmpty is Copy's refusal of a target that holds records already.
var ErrNotEmpty = errors.New("the target holds records already: migrate copies only into an empty database and bucket (to check a finished copy, compare it)")

// Report counts what was copied or compared, by kind of record.
type Report struct {
	Records   map[string]int
	Blobs     int
	BlobBytes int64
}

func (r Report) String() string {
	var b strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&b, "%s %d, ", k.name, r.Records[k.name])
	}
	fmt.Fprintf(&b, "letters %d, documents %d (%d bytes), audit entries %d", r.Records["letters"], r.Blobs, r.BlobBytes, r.Records["audit entries"])
	return b.String()
}

// chunk is how many records one transaction of the target writes.
const chunk = 500

// item is one record as a kind dumps it: its key and its JSON encoding.
type item struct {
	key string
	v   []byte
}

// kind is one kind of record: dump reads every record of a transaction
// in a stable order, load writes one.
type kind struct {
	name string
	dump func(tx storage.Tx, emit func(key string, v any) error) error
	load func(tx storage.Tx, key string, v []byte) error
}

// put decodes v into a new T and passes it on.
func put[T any](v []byte, fn func(*T) error) error {
	t := new(T)
	if err := json.Unmarshal(v, t); err != nil {
		return err
	}
	return fn(t)
}

// kinds are every kind of record but the letters with their documents
// and the audit log, which are copied apart.
var kinds = []kind{
	{"meta", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Meta().All(func(k string, v []byte) error { return emit(k, v) })
	}, func(tx storage.Tx, k string, v []byte) error {
		return put(v, func(b *[]byte) error { return tx.Meta().Put(k, *b) })
	}},
	{"residents", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Residents().All(func(r *storage.Resident) error { return emit(r.ID, r) })
	}, func(tx storage.Tx, _ string, v []byte) error {
		return put(v, tx.Residents().Put)
	}},
	{"senders", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Senders().All(func(s *storage.Sender) error { return emit(s.ID, s) })
	}, func(tx storage.Tx, _ string, v []byte) error {
		return put(v, tx.Senders().Put)
	}},
	{"folders", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Folders().All(func(r string, f []storage.Folder) error { return emit(r, f) })
	}, func(tx storage.Tx, k string, v []byte) error {
		return put(v, func(f *[]storage.Folder) error { return tx.Folders().Put(k, *f) })
	}},
	{"sessions", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Sessions().All(func(id []byte, s *storage.Session) error { return emit(string(id), s) })
	}, func(tx storage.Tx, k string, v []byte) error {
		return put(v, func(s *storage.Session) error { return tx.Sessions().Put([]byte(k), s) })
	}},
	{"notifications", func(tx storage.Tx, emit func(string, any) error) error {
		var err error
		if e := tx.Outbox().All(func(n *storage.Notification) bool {
			err = emit(n.ResidentID+"/"+strconv.FormatUint(n.Seq, 10), n)
			return err == nil
		}); e != nil {
			return e
		}
		return err
	}, func(tx storage.Tx, _ string, v []byte) error {
		return put(v, tx.Outbox().Put)
	}},
	{"terms versions", func(tx storage.Tx, emit func(string, any) error) error {
		all, err := tx.Terms().All()
		for _, t := range all {
			if err := emit(strconv.Itoa(t.Version), t); err != nil {
				return err
			}
		}
		return err
	}, func(tx storage.Tx, _ string, v []byte) error {
		return put(v, tx.Terms().Put)
	}},
	{"terms acceptances", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Terms().Acceptances(func(r string, a *storage.TermsAcceptance) error { return emit(r, a) })
	}, func(tx storage.Tx, k string, v []byte) error {
		return put(v, func(a *storage.TermsAcceptance) error { return tx.Terms().PutAcceptance(k, a) })
	}},
	{"terms notices", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Terms().Notices(func(version int, r, letter string) error {
			return emit(strconv.Itoa(version)+"/"+r, letter)
		})
	}, func(tx storage.Tx, k string, v []byte) error {
		version, resident, ok := strings.Cut(k, "/")
		n, err := strconv.Atoi(version)
		if !ok || err != nil {
			return fmt.Errorf("terms notice %q: not version/resident", k)
		}
		return put(v, func(letter *string) error { return tx.Terms().PutNotice(n, resident, *letter) })
	}},
	{"retention", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Retention().All(func(r string, rec *storage.RetentionRecord) error { return emit(r, rec) })
	}, func(tx storage.Tx, k string, v []byte) error {
		return put(v, func(r *storage.RetentionRecord) error { return tx.Retention().Put(k, r) })
	}},
	{"preferences", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Preferences().All(func(r string) error {
			p, err := tx.Preferences().Get(r)
			if err != nil {
				return err
			}
			return emit(r, p)
		})
	}, func(tx storage.Tx, k string, v []byte) error {
		return put(v, func(p *storage.PreferencesRecord) error { return tx.Preferences().Put(k, p) })
	}},
	{"job runs", func(tx storage.Tx, emit func(string, any) error) error {
		all, err := tx.JobRuns().All()
		for _, r := range all {
			if err := emit(r.Job, r); err != nil {
				return err
			}
		}
		return err
	}, func(tx storage.Tx, _ string, v []byte) error {
		return put(v, tx.JobRuns().Put)
	}},
	{"support requests", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Support().All(func(r *storage.SupportRequest) error { return emit(r.ID, r) })
	}, func(tx storage.Tx, _ string, v []byte) error {
		return put(v, tx.Support().Put)
	}},
	{"delegations", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Delegations().All(func(d *storage.Delegation) error { return emit(d.ID, d) })
	}, func(tx storage.Tx, _ string, v []byte) error {
		return put(v, tx.Delegations().Put)
	}},
	{"sender blocks", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.SenderBlocks().All(func(r string, b []storage.SenderBlock) error { return emit(r, b) })
	}, func(tx storage.Tx, k string, v []byte) error {
		return put(v, func(b *[]storage.SenderBlock) error { return tx.SenderBlocks().Put(k, *b) })
	}},
	{"search indexes", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.SearchIndexes().All(func(r string, ix *storage.SearchIndex) error { return emit(r, ix) })
	}, func(tx storage.Tx, k string, v []byte) error {
		return put(v, func(ix *storage.SearchIndex) error { return tx.SearchIndexes().Put(k, ix) })
	}},
	{"events", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Events().All(func(e *storage.Event) error { return emit(e.SenderID+"/"+strconv.FormatUint(e.Seq, 10), e) })
	}, func(tx storage.Tx, _ string, v []byte) error {
		return put(v, tx.Events().Put)
	}},
	{"callbacks", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Callbacks().All(func(c *storage.Callback) error { return emit(c.SenderID, c) })
	}, func(tx storage.Tx, _ string, v []byte) error {
		return put(v, tx.Callbacks().Put)
	}},
	{"print queue", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Print().All(func(p *storage.PrintLetter) error { return emit(p.ID, p) })
	}, func(tx storage.Tx, _ string, v []byte) error {
		return put(v, tx.Print().Put)
	}},
	{"replies", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Replies().All(func(r *storage.Reply) error { return emit(r.ID, r) })
	}, func(tx storage.Tx, _ string, v []byte) error {
		return put(v, tx.Replies().Put)
	}},
	{"callback outbox", func(tx storage.Tx, emit func(string, any) error) error {
		return tx.Callbacks().All(func(c *storage.Callback) error {
			evs, err := tx.Callbacks().Queued(c.SenderID, math.MaxInt32)
			for _, e := range evs {
				if err := emit(e.SenderID+"/"+strconv.FormatUint(e.Seq, 10), e); err != nil {
					return err
				}
			}
			return err
		})
	}, func(tx storage.Tx, _ string, v []byte) error {
		return put(v, tx.Callbacks().Queue)
	}},
}

// dump reads every record of a kind from an engine.
func dump(ctx context.Context, e storage.Engine, k kind) ([]item, error) {
	var out []item
	err := e.View(ctx, func(tx storage.Tx) error {
		out = out[:0]
		return k.dump(tx, func(key string, v any) error {
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			out = append(out, item{key, b})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", k.name, err)
	}
	return out, nil
}

// Empty reports whether an engine holds no record that Copy would write.
func Empty(ctx context.Context, e storage.Engine) (bool, error) {
	empty := true
	stop := errors.New("not empty")
	err := e.View(ctx, func(tx storage.Tx) error {
		if n, err := tx.Audit().Size(); err != nil || n > 0 {
			empty = false
			return err
		}
		for _, k := range kinds {
			err := k.dump(tx, func(string, any) error { return stop })
			if errors.Is(err, stop) {
				empty = false
				return nil
			} else if err != nil {
				return err
			}
		}
		err := tx.Letters().All(func(*storage.Letter) error { return stop })
		if errors.Is(err, stop) {
			empty = false
			return nil
		}
		return err
	})
	return empty, err
}

// Copy copies every record and blob of from into to, which must be empty
// (ErrNotEmpty otherwise). progress, if not nil, is told each kind as it
// is copied. Copy reads from in transactions of its own, so from must not
// change meanwhile: stop the appliance first. Compare afterwards.
func Copy(ctx context.Context, from, to storage.Engine, progress func(kind string, n int)) (Report, error) {
	rep := Report{Records: map[string]int{}}
	if progress == nil {
		progress = func(string, int) {}
	}
	empty, err := Empty(ctx, to)
	if err != nil {
		return rep, fmt.Errorf("look at the target: %w", err)
	}
	if !empty {
		return rep, ErrNotEmpty
	}
	for _, k := range kinds {
		items, err := dump(ctx, from, k)
		if err != nil {
			return rep, err
		}
		for part := range slices.Chunk(items, chunk) {
			err := to.Update(ctx, func(tx storage.Tx) error {
				for _, it := range part {
					if err := k.load(tx, it.key, it.v); err != nil {
						return fmt.Errorf("%s %s: %w", k.name, it.key, err)
					}
				}
				return nil
			})
			if err != nil {
				return rep, fmt.Errorf("write %s: %w", k.name, err)
			}
		}
		rep.Records[k.name] = len(items)
		progress(k.name, len(items))
	}
	if err := copyLetters(ctx, from, to, &rep); err != nil {
		return rep, err
	}
	progress("letters", rep.Records["letters"])
	if err := copyAudit(ctx, from, to, &rep); err != nil {
		return rep, err
	}
	progress("audit entries", rep.Records["audit entries"])
	return rep, nil
}

// letterIDs returns the ids of every letter of an engine.
func letterIDs(ctx context.Context, e storage.Engine) ([]string, error) {
	var ids []string
	err := e.View(ctx, func(tx storage.Tx) error {
		ids = ids[:0]
		return tx.Letters().All(func(l *storage.Letter) error { ids = append(ids, l.ID); return nil })
	})
	return ids, err
}

// copyLetters copies the letters a chunk at a time: their documents'
// blobs first, then the records that refer to them, in one transaction.
func copyLetters(ctx context.Context, from, to storage.Engine, rep *Report) error {
	ids, err := letterIDs(ctx, from)
	if err != nil {
		return fmt.Errorf("read letters: %w", err)
	}
	for part := range slices.Chunk(ids, 50) {
		type doc struct {
			index   int
			content io.ReadCloser
		}
		letters := make([]*storage.Letter, 0, len(part))
		docs := map[string][]doc{}
		err := from.View(ctx, func(tx storage.Tx) error {
			for _, id := range part {
				l, err := tx.Letters().Get(id)
				if err != nil {
					return err
				}
				letters = append(letters, l)
				for i := range l.Documents {
					has, err := tx.Documents().Has(id, i)
					if err != nil {
						return err
					}
					if !has {
						continue
					}
					rc, err := tx.Documents().Open(id, i)
					if err != nil {
						return err
					}
					docs[id] = append(docs[id], doc{i, rc})
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read letters: %w", err)
		}
		blobs := map[string][]storage.Blob{}
		var written []storage.Blob
		for _, l := range letters {
			for _, d := range docs[l.ID] {
				b, err := to.Blobs().Write(ctx, l.ID, d.index, d.content)
				d.content.Close()
				if err != nil {
					to.Blobs().Discard(ctx, written)
					return fmt.Errorf("write document %d of letter %s: %w", d.index, l.ID, err)
				}
				blobs[l.ID] = append(blobs[l.ID], b)
				written = append(written, b)
				rep.Blobs++
				rep.BlobBytes += b.Size()
			}
		}
		err = to.Update(ctx, func(tx storage.Tx) error {
			for _, l := range letters {
				if err := tx.Letters().Put(l); err != nil {
					return fmt.Errorf("letter %s: %w", l.ID, err)
				}
				if bs := blobs[l.ID]; len(bs) > 0 {
					if err := tx.Documents().Put(l.ID, bs); err != nil {
						return fmt.Errorf("documents of letter %s: %w", l.ID, err)
					}
				}
			}
			return nil
		})
		if err != nil {
			to.Blobs().Discard(ctx, written)
			return fmt.Errorf("write letters: %w", err)
		}
		rep.Records["letters"] += len(letters)
	}
	return nil
}

// copyAudit copies the audit log entry by entry, then its stored hashes.
func copyAudit(ctx context.Context, from, to storage.Engine, rep *Report) error {
	var entries [][]byte
	var hashes []tlog.Hash
	err := from.View(ctx, func(tx storage.Tx) error {
		size, err := tx.Audit().Size()
		if err != nil {
			return err
		}
		entries = entries[:0]
		if err := tx.Audit().Entries(func(index int64, encoded []byte) error {
			if index != int64(len(entries)) {
				return fmt.Errorf("entry %d where %d was expected", index, len(entries))
			}
			entries = append(entries, bytes.Clone(encoded))
			return nil
		}); err != nil {
			return err
		}
		if int64(len(entries)) != size {
			return fmt.Errorf("%d entries in a log of size %d", len(entries), size)
		}
		n := tlog.StoredHashCount(size)
		indexes := make([]int64, n)
		for i := range indexes {
			indexes[i] = int64(i)
		}
		hashes, err = tx.Audit().ReadHashes(indexes)
		return err
	})
	if err != nil {
		return fmt.Errorf("read the audit log: %w", err)
	}
	next := int64(0)
	for part := range slices.Chunk(entries, chunk) {
		err := to.Update(ctx, func(tx storage.Tx) error {
			for i, e := range part {
				if err := tx.Audit().PutEntry(next+int64(i), e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("write the audit log: %w", err)
		}
		next += int64(len(part))
	}
	start := int64(0)
	for part := range slices.Chunk(hashes, chunk) {
		if err := to.Update(ctx, func(tx storage.Tx) error { return tx.Audit().PutHashes(start, part) }); err != nil {
			return fmt.Errorf("write the audit log's hashes: %w", err)
		}
		start += int64(len(part))
	}
	rep.Records["audit entries"] = len(entries)
	return nil
}

// Compare compares every record and blob of two engines, as Copy copies
// them, and returns every difference it finds (at most a hundred) as one
// error, or nil when they hold the same.
func Compare(ctx context.Context, a, b storage.Engine) (Report, error) {
	rep := Report{Records: map[string]int{}}
	var diffs []string
	differ := func(format string, args ...any) {
		if len(diffs) < 100 {
			diffs = append(diffs, fmt.Sprintf(format, args...))
		}
	}
	for _, k := range kinds {
		x, err := dump(ctx, a, k)
		if err != nil {
			return rep, err
		}
		y, err := dump(ctx, b, k)
		if err != nil {
			return rep, err
		}
		compareItems(k.name, x, y, differ)
		rep.Records[k.name] = len(x)
	}
	if err := compareLetters(ctx, a, b, &rep, differ); err != nil {
		return rep, err
	}
	if err := compareAudit(ctx, a, b, &rep, differ); err != nil {
		return rep, err
	}
	if len(diffs) > 0 {
		return rep, fmt.Errorf("the copy differs:\n  %s", strings.Join(diffs, "\n  "))
	}
	return rep, nil
}

func compareItems(name string, x, y []item, differ func(string, ...any)) {
	ym := make(map[string][]byte, len(y))
	for _, it := range y {
		ym[it.key] = it.v
	}
	for _, it := range x {
		v, ok := ym[it.key]
		switch {
		case !ok:
			differ("%s %s: missing", name, it.key)
		case !bytes.Equal(v, it.v):
			differ("%s %s: differs", name, it.key)
		}
		delete(ym, it.key)
	}
	for k := range ym {
		differ("%s %s: not in the source", name, k)
	}
}

func compareLetters(ctx context.Context, a, b storage.Engine, rep *Report, differ func(string, ...any)) error {
	ids, err := letterIDs(ctx, a)
	if err != nil {
		return err
	}
	other, err := letterIDs(ctx, b)
	if err != nil {
		return err
	}
	if len(other) != len(ids) {
		differ("letters: %d in the source, %d in the copy", len(ids), len(other))
	}
	for part := range slices.Chunk(ids, 50) {
		for _, id := range part {
			x, xd, err := letterWithDigests(ctx, a, id)
			if err != nil {
				return err
			}
			y, yd, err := letterWithDigests(ctx, b, id)
			if errors.Is(err, storage.ErrNotFound) {
				differ("letter %s: missing", id)
				continue
			} else if err != nil {
				return err
			}
			if !bytes.Equal(x, y) {
				differ("letter %s: differs", id)
			}
			if !slices.Equal(xd, yd) {
				differ("letter %s: its documents differ", id)
			}
			rep.Records["letters"]++
			for _, d := range xd {
				if d.size >= 0 {
					rep.Blobs++
					rep.BlobBytes += d.size
				}
			}
		}
	}
	return nil
}

type digest struct {
	sum  [sha256.Size]byte
	size int64 // -1: not stored
}

// letterWithDigests returns a letter's record as JSON and the digest of
// each of its documents.
func letterWithDigests(ctx context.Context, e storage.Engine, id string) ([]byte, []digest, error) {
	var rec []byte
	var out []digest
	err := e.View(ctx, func(tx storage.Tx) error {
		l, err := tx.Letters().Get(id)
		if err != nil {
			return err
		}
		if rec, err = json.Marshal(l); err != nil {
			return err
		}
		out = out[:0]
		for i := range l.Documents {
			has, err := tx.Documents().Has(id, i)
			if err != nil {
				return err
			}
			if !has {
				out = append(out, digest{size: -1})
				continue
			}
			rc, err := tx.Documents().Open(id, i)
			if err != nil {
				return err
			}
			h := sha256.New()
			n, err := io.Copy(h, rc)
			rc.Close()
			if err != nil {
				return fmt.Errorf("document %d of letter %s: %w", i, id, err)
			}
			var d digest
			copy(d.sum[:], h.Sum(nil))
			d.size = n
			out = append(out, d)
		}
		return nil
	})
	return rec, out, err
}

func compareAudit(ctx context.Context, a, b storage.Engine, rep *Report, differ func(string, ...any)) error {
	read := func(e storage.Engine) (int64, [][]byte, tlog.Hash, error) {
		var size int64
		var entries [][]byte
		var root tlog.Hash
		err := e.View(ctx, func(tx storage.Tx) error {
			var err error
			if size, err = tx.Audit().Size(); err != nil {
				return err
			}
			entries = entries[:0]
			if err := tx.Audit().Entries(func(_ int64, enc []byte) error {
				entries = append(entries, bytes.Clone(enc))
				return nil
			}); err != nil {
				return err
			}
			if size > 0 {
				root, err = tlog.TreeHash(size, tx.Audit())
			}
			return err
		})
		return size, entries, root, err
	}
	sa, ea, ra, err := read(a)
	if err != nil {
		return fmt.Errorf("read the source's audit log: %w", err)
	}
	sb, eb, rb, err := read(b)
	if err != nil {
		return fmt.Errorf("read the copy's audit log: %w", err)
	}
	if sa != sb {
		differ("audit log: %d entries in the source, %d in the copy", sa, sb)
	}
	for i := range min(len(ea), len(eb)) {
		if !bytes.Equal(ea[i], eb[i]) {
			differ("audit entry %d: differs", i)
		}
	}
	if ra != rb {
		differ("audit log: the tree hashes differ")
	}
	rep.Records["audit entries"] = len(ea)
	return nil
}

// Digest returns a hash of every record and document an engine holds, as
// Copy copies them: two equal digests mean the same content (a test that
// a refused operation stored nothing uses it on either engine).
func Digest(ctx context.Context, e storage.Engine) (string, error) {
	h := sha256.New()
	write := func(parts ...[]byte) {
		for _, p := range parts {
			var n [8]byte
			for i := range n {
				n[i] = byte(uint64(len(p)) >> (56 - 8*i))
			}
			h.Write(n[:])
			h.Write(p)
		}
	}
	for _, k := range kinds {
		items, err := dump(ctx, e, k)
		if err != nil {
			return "", err
		}
		slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.key, b.key) })
		for _, it := range items {
			write([]byte(k.name), []byte(it.key), it.v)
		}
	}
	ids, err := letterIDs(ctx, e)
	if err != nil {
		return "", err
	}
	slices.Sort(ids)
	for _, id := range ids {
		rec, docs, err := letterWithDigests(ctx, e, id)
		if err != nil {
			return "", err
		}
		write([]byte("letter"), []byte(id), rec)
		for _, d := range docs {
			write(d.sum[:], []byte(strconv.FormatInt(d.size, 10)))
		}
	}
	err = e.View(ctx, func(tx storage.Tx) error {
		size, err := tx.Audit().Size()
		if err != nil {
			return err
		}
		write([]byte("audit"), []byte(strconv.FormatInt(size, 10)))
		return tx.Audit().Entries(func(_ int64, enc []byte) error { write(enc); return nil })
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}
