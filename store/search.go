package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// Search over sealed mail (DESIGN.md, "Search never stores a plaintext
// index"). Each resident has one search index (searchindex.go), stored as
// one record (storage.SearchIndexes) sealed with the search key: a key
// derived from the resident's private key, like the listing key
// (listing.go) and for the same reasons — only whoever holds the private
// key can read the index or plant one, and a deleted account leaves
// nothing that derives it. The record holds, in clear, only a version
// number that changes at every replacement.
//
// The index is brought up to date by the searches themselves, while the
// resident is signed in (the server holds no key otherwise):
//
//   - The first search of a session on a node opens the stored index and
//     compares it with the mailbox's list of letters (ids only, no key
//     needed): letters not in it are opened, their words taken (subject,
//     sender, body, file names, the text of text, HTML and PDF
//     documents: searchtext.go) and merged, newest first, at most
//     maxIndexPerSearch a search (a mailbox of many thousands is indexed
//     over a few searches; SearchResult.Pending says how many are left);
//     letters deleted since are dropped.
//   - The opened index is kept in memory for the session (searchCache),
//     bounded in number and dropped at logout or when the session would
//     have expired; never written anywhere in clear. A later search reads
//     only the stored version: if another node (or another session)
//     replaced the index, it is opened again; otherwise only the letters
//     delivered after the index's watermark, less watermarkSlack, are
//     looked at.
//   - A changed index is sealed and stored in one transaction that first
//     checks the stored version is still the one it started from, so a
//     crash leaves the old index or the new one whole, and two nodes
//     updating at once do not lose each other's letters (the second
//     starts again). Adding a letter already in the index does nothing:
//     updating is idempotent.
//
// Deleted letters are never found: every letter a search finds is read
// again at query time, and one that no longer exists (or is another
// resident's, or held) is left out, and dropped from the index at its
// next update. A letter made inaccessible (held) stays in the index and
// is found again once it is released.
//
// When the key pair gains its ML-KEM half the search key changes: the old
// index no longer opens and is built again.

// searchPurpose names the search key among keys derived from a resident's
// private key.
const searchPurpose = "search-index"

// searchLabel binds a sealed index to its resident.
func searchLabel(residentID string) string { return "search-index/" + residentID }

// Bounds of a search.
const (
	// maxIndexPerSearch is how many letters one search adds to the index.
	maxIndexPerSearch = 1000
	// indexBatch is how many letters one read transaction opens.
	indexBatch = 100
	// watermarkSlack: a letter is looked for even if delivered this long
	// before the watermark, as deliveries on several nodes commit in
	// another order than the times they read.
	watermarkSlack = 10 * time.Minute
	maxQueryBytes  = 200
	maxQueryWords  = 10
	// MaxSearchResults is the most hits one page of results holds.
	MaxSearchResults = 100
)

// SearchQuery is a search of the mailbox: letters with all the words of
// Text (each word a prefix of one in the letter), newest first, that pass
// every filter set.
type SearchQuery struct {
	Text string
	// SenderID, when set, keeps the letters of that sender.
	SenderID string
	// Folder, when not nil, keeps the letters in that folder
	// (FolderInbox, FolderArchive or an own folder's id).
	Folder *string
	// From and To, when not zero, keep the letters delivered at or after
	// From and before To.
	From, To time.Time
	// Unread keeps only unread letters.
	Unread bool
	// After is the cursor of the page ("" for the first); Limit the most
	// hits (1 to MaxSearchResults).
	After string
	Limit int
}

// TextPart is a piece of a text shown in a result; Mark is set on the
// words the search matched.
type TextPart struct {
	Text string
	Mark bool
}

// SearchHit is a letter found.
type SearchHit struct {
	LetterSummary
	Folder string
	// Fields says where the words were found (FieldSubject…).
	Fields uint8
	// SubjectParts is the subject, and Snippet a part of the body around
	// the first word matched (or its beginning), in parts.
	SubjectParts []TextPart
	Snippet      []TextPart
	// FileNames are the names of the documents with a matched word.
	FileNames [][]TextPart
	// ReplySnippet is a part of the resident's reply to the letter around
	// the first word matched, when one was (FieldReply).
	ReplySnippet []TextPart
}

// SearchSender is a sender of letters in the index, for the sender filter.
type SearchSender struct {
	ID, Name string
}

// SearchResult is a page of hits.
type SearchResult struct {
	Hits []SearchHit
	// Next is the cursor of the next page; "" after the last.
	Next string
	// Pending is how many letters of the mailbox are not indexed yet:
	// the next searches index them.
	Pending int
	// Senders are the senders of the letters in the index, by name.
	Senders []SearchSender
}

// searchKey returns the resident's search key.
func (m *Mailbox) searchKey() (*crypto.DataKey, error) {
	if m.findKey == nil {
		k, err := m.key.DeriveDataKey(searchPurpose, m.resident.ID)
		if err != nil {
			return nil, err
		}
		m.findKey = k
	}
	return m.findKey, nil
}

// checkQuery checks a query and returns its words.
func checkQuery(q *SearchQuery) ([]string, error) {
	switch {
	case len(q.Text) > maxQueryBytes:
		return nil, invalid("q", "longer than %d bytes", maxQueryBytes)
	case !utf8.ValidString(q.Text):
		return nil, invalid("q", "not valid UTF-8")
	case q.Limit < 1 || q.Limit > MaxSearchResults:
		return nil, invalid("limit", "%d hits: 1 to %d", q.Limit, MaxSearchResults)
	case !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To):
		return nil, invalid("to", "the end is not after the start")
	}
	qwords := queryWords(q.Text)
	switch {
	case len(qwords) == 0:
		return nil, invalid("q", "no word to search for")
	case len(qwords) > maxQueryWords:
		return nil, invalid("q", "more than %d words", maxQueryWords)
	}
	return qwords, nil
}

// searchCursor is the place of a hit in the order of results.
func searchCursor(d indexDoc) string { return strconv.FormatInt(d.At, 10) + "-" + d.ID }

func parseSearchCursor(s string) (int64, string, error) {
	at, id, ok := strings.Cut(s, "-")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", invalid("after", "not a cursor of search results")
	}
	return n, id, nil
}

// Search searches the mailbox, bringing its index up to date first (see
// above). Another resident's letters are never in it.
func (m *Mailbox) Search(ctx context.Context, q SearchQuery) (SearchResult, error) {
	if err := m.gate(); err != nil {
		return SearchResult{}, err
	}
	qwords, err := checkQuery(&q)
	if err != nil {
		return SearchResult{}, err
	}
	var afterAt int64
	var afterID string
	if q.After != "" {
		if afterAt, afterID, err = parseSearchCursor(q.After); err != nil {
			return SearchResult{}, err
		}
	}
	entry := m.s.searches.entry(m.sessionID, m.resident.ID, m.s.now())
	entry.mu.Lock()
	defer entry.mu.Unlock()
	if err := m.refreshIndex(ctx, entry); err != nil {
		return SearchResult{}, err
	}
	ix := entry.ix
	m.s.searches.settle(m.sessionID, ix.memSize()+entry.replyBytes())
	out := SearchResult{Pending: entry.pending}

	// The candidates, newest first, after the cursor, by the filters the
	// index can answer.
	type candidate struct {
		doc    indexDoc
		fields uint8
	}
	var cands []candidate
	replies, err := m.replyTexts(ctx, entry)
	if err != nil {
		return SearchResult{}, err
	}
	m.s.searches.settle(m.sessionID, ix.memSize()+entry.replyBytes())
	matched := ix.matchWithReplies(qwords, replies)
	order := ix.newestFirst()
	if matched == nil {
		order = nil
	}
	for _, d := range order {
		fields := matched[d]
		if fields == 0 {
			continue
		}
		doc := ix.docs[d]
		at := time.Unix(0, doc.At)
		switch {
		case q.SenderID != "" && doc.SenderID != q.SenderID,
			!q.From.IsZero() && at.Before(q.From),
			!q.To.IsZero() && !at.Before(q.To),
			q.After != "" && (doc.At > afterAt || doc.At == afterAt && doc.ID >= afterID):
			continue
		}
		cands = append(cands, candidate{doc, fields})
	}

	// Each candidate is read again: a deleted letter is left out (and
	// dropped from the index), and so is a held one; the folder and
	// unread filters are the letter's state now.
	var gone []string
	err = m.s.view(ctx, func(tx storage.Tx) error {
		gone, out.Hits, out.Next = nil, nil, ""
		senders := map[string]*senderRecord{}
		for _, c := range cands {
			rec, err := tx.Letters().Get(c.doc.ID)
			if errors.Is(err, storage.ErrNotFound) {
				gone = append(gone, c.doc.ID)
				continue
			} else if err != nil {
				return err
			}
			switch {
			case rec.ResidentID != m.resident.ID, !rec.InMailbox():
				gone = append(gone, c.doc.ID)
				continue
			case rec.Hold != nil,
				q.Folder != nil && rec.Folder != *q.Folder,
				q.Unread && !(LetterSummary{ReadAt: rec.ReadAt, ReadMark: rec.ReadMark}).Unread():
				continue
			}
			if len(out.Hits) == q.Limit {
				out.Next = searchCursor(out.Hits[len(out.Hits)-1].doc())
				return nil
			}
			hit, err := m.searchHit(tx, rec, c.fields, qwords, senders)
			if err != nil {
				m.s.log.Error("search: a letter found cannot be opened", "resident", m.resident.ID, "letter", rec.ID, "err", err)
				continue
			}
			if c.fields&FieldReply != 0 {
				hit.ReplySnippet = replySnippet(replies[rec.ID], qwords)
			}
			out.Hits = append(out.Hits, hit)
		}
		return nil
	})
	if err != nil {
		return SearchResult{}, err
	}
	ix.markGone(gone...)
	out.Senders, err = m.searchSenders(ctx, ix)
	return out, err
}

// SearchSenders brings the index up to date, as a search does, and
// returns the senders of the letters in it (for a search form's filter).
func (m *Mailbox) SearchSenders(ctx context.Context) ([]SearchSender, error) {
	if err := m.gate(); err != nil {
		return nil, err
	}
	entry := m.s.searches.entry(m.sessionID, m.resident.ID, m.s.now())
	entry.mu.Lock()
	defer entry.mu.Unlock()
	if err := m.refreshIndex(ctx, entry); err != nil {
		return nil, err
	}
	m.s.searches.settle(m.sessionID, entry.ix.memSize()+entry.replyBytes())
	return m.searchSenders(ctx, entry.ix)
}

// doc returns the index's view of a hit, for its cursor.
func (h SearchHit) doc() indexDoc { return indexDoc{ID: h.ID, At: h.DeliveredAt.UnixNano()} }

// searchHit opens a letter found and marks the words matched.
func (m *Mailbox) searchHit(tx storage.Tx, rec *letterRecord, fields uint8, qwords []string, senders map[string]*senderRecord) (SearchHit, error) {
	dk, err := m.key.OpenDataKey(rec.SealedKey, letterBinding(rec))
	if err != nil {
		return SearchHit{}, fmt.Errorf("open letter %s: %w", rec.ID, err)
	}
	defer dk.Zero()
	sum, err := m.summary(tx, rec, dk, senders)
	if err != nil {
		return SearchHit{}, err
	}
	body, err := dk.OpenField("body", rec.Body)
	if err != nil {
		return SearchHit{}, fmt.Errorf("open letter %s body: %w", rec.ID, err)
	}
	hit := SearchHit{LetterSummary: sum, Folder: rec.Folder, Fields: fields,
		SubjectParts: markWords(sum.Subject, qwords), Snippet: snippet(string(body), qwords)}
	if fields&FieldFileName != 0 {
		for i, doc := range rec.Documents {
			name, err := dk.OpenField(fmt.Sprintf("document/%d/name", i), doc.Name)
			if err != nil {
				return SearchHit{}, fmt.Errorf("open letter %s document %d: %w", rec.ID, i, err)
			}
			if parts := markWords(string(name), qwords); slices.ContainsFunc(parts, func(p TextPart) bool { return p.Mark }) {
				hit.FileNames = append(hit.FileNames, parts)
			}
		}
	}
	return hit, nil
}

// searchSenders returns the senders of the letters in the index that are
// registered here, for the sender filter. An imported letter's sender is
// of another appliance: its name is found by a search, but it is no
// filter.
func (m *Mailbox) searchSenders(ctx context.Context, ix *searchIndex) ([]SearchSender, error) {
	ids := map[string]bool{}
	for _, d := range ix.docs {
		if !d.Gone {
			ids[d.SenderID] = true
		}
	}
	var out []SearchSender
	err := m.s.view(ctx, func(tx storage.Tx) error {
		out = out[:0]
		for id := range ids {
			snd, err := tx.Senders().Get(id)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			out = append(out, SearchSender{ID: id, Name: snd.Name})
		}
		return nil
	})
	slices.SortFunc(out, func(a, b SearchSender) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.ID, b.ID))
	})
	return out, err
}

// markWords splits a text into parts, marking each word that a query
// word is a prefix of (both folded).
func markWords(text string, qwords []string) []TextPart {
	var out []TextPart
	last := 0
	for _, w := range words(text) {
		if !matchesAny(foldWord(text[w.start:w.end]), qwords) {
			continue
		}
		if w.start > last {
			out = append(out, TextPart{Text: text[last:w.start]})
		}
		out = append(out, TextPart{Text: text[w.start:w.end], Mark: true})
		last = w.end
	}
	if last < len(text) {
		out = append(out, TextPart{Text: text[last:]})
	}
	return out
}

func matchesAny(t string, qwords []string) bool {
	return slices.ContainsFunc(qwords, func(q string) bool { return strings.HasPrefix(t, q) })
}

// snippetWords is about how many words a snippet shows.
const snippetWords = 30

// snippet returns a part of a text of about snippetWords words, starting
// a few words before the first word matched (or at the start), with its
// words matched marked, and "…" where it was cut.
func snippet(text string, qwords []string) []TextPart {
	ws := words(text)
	if len(ws) == 0 {
		return nil
	}
	first := slices.IndexFunc(ws, func(w wordSpan) bool { return matchesAny(foldWord(text[w.start:w.end]), qwords) })
	from := max(0, first-5)
	to := min(len(ws), from+snippetWords)
	start, end := ws[from].start, ws[to-1].end
	if from == 0 {
		start = 0
	}
	if to == len(ws) {
		end = len(text)
	}
	part := strings.Join(strings.Fields(text[start:end]), " ")
	out := markWords(part, qwords)
	if from > 0 {
		out = append([]TextPart{{Text: "… "}}, out...)
	}
	if to < len(ws) {
		out = append(out, TextPart{Text: " …"})
	}
	return out
}

// refreshIndex brings the session's opened index up to date with the
// stored one and the mailbox (see the top of this file), and stores it
// when it changed.
func (m *Mailbox) refreshIndex(ctx context.Context, e *searchEntry) error {
	key, err := m.searchKey()
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		// The stored version, and the stored index when the session's
		// copy is not that version.
		var version uint64
		var stored *storage.SearchIndex
		err := m.s.view(ctx, func(tx storage.Tx) error {
			var err error
			stored = nil
			version, err = tx.SearchIndexes().Version(m.resident.ID)
			if errors.Is(err, storage.ErrNotFound) {
				version = 0
				return nil
			} else if err != nil {
				return err
			}
			if e.ix != nil && e.version == version {
				return nil
			}
			stored, err = tx.SearchIndexes().Get(m.resident.ID)
			return err
		})
		if err != nil {
			return err
		}
		full := e.ix == nil || e.version != version || e.pending > 0
		if e.ix == nil || e.version != version {
			e.ix, e.version, e.pending = newSearchIndex(), version, 0
			if stored != nil {
				if ix, err := m.openIndex(key, stored); err != nil {
					m.s.log.Warn("search: the stored index does not open; it is made again", "resident", m.resident.ID, "err", err)
				} else {
					e.ix = ix
				}
			}
		}
		missing, gone, err := m.indexChanges(ctx, e.ix, full)
		if err != nil {
			e.ix = nil
			return err
		}
		if len(missing) == 0 && len(gone) == 0 {
			return nil // the index is the stored one, or there is nothing to store
		}
		e.pending = max(0, len(missing)-m.s.searchPerSearch)
		missing = missing[:min(len(missing), m.s.searchPerSearch)]
		if err := m.indexLetters(ctx, e.ix, missing); err != nil {
			e.ix = nil
			return err
		}
		e.ix.markGone(gone...)
		if m.s.hookIndexStore != nil {
			m.s.hookIndexStore()
		}
		next, err := m.storeIndex(ctx, key, e.ix, version)
		if errors.Is(err, errIndexChanged) && attempt < 3 {
			e.ix = nil // another node or session stored a newer one: start from it
			continue
		}
		if err != nil {
			e.ix = nil
			return err
		}
		e.version = next
		return nil
	}
}

// errIndexChanged: the stored index changed while this one was updated.
var errIndexChanged = errors.New("the search index changed meanwhile")

// openIndex opens a stored index.
func (m *Mailbox) openIndex(key *crypto.DataKey, stored *storage.SearchIndex) (*searchIndex, error) {
	compressed, err := key.OpenDocument(searchLabel(m.resident.ID), stored.Sealed)
	if err != nil {
		return nil, err
	}
	return decodeSearchIndex(compressed)
}

// storeIndex seals the index and stores it, if the stored version is
// still from (0: none), as from+1; it returns the new version.
func (m *Mailbox) storeIndex(ctx context.Context, key *crypto.DataKey, ix *searchIndex, from uint64) (uint64, error) {
	compressed, err := ix.encode()
	if err != nil {
		return 0, err
	}
	sealed, err := key.SealDocument(m.s.rand, searchLabel(m.resident.ID), compressed)
	if err != nil {
		return 0, err
	}
	err = m.s.update(ctx, func(tx storage.Tx) error {
		if err := m.current(tx); err != nil {
			return err
		}
		v, err := tx.SearchIndexes().Version(m.resident.ID)
		if errors.Is(err, storage.ErrNotFound) {
			v = 0
		} else if err != nil {
			return err
		}
		if v != from {
			return errIndexChanged
		}
		return tx.SearchIndexes().Put(m.resident.ID, &storage.SearchIndex{Version: from + 1, Sealed: sealed})
	})
	return from + 1, err
}

// indexChanges returns the letters of the mailbox not in the index,
// newest first, and those in it that are no longer in the mailbox. A full
// look reads the whole mailbox's list; otherwise only the letters
// delivered since the watermark (less watermarkSlack) are looked at.
func (m *Mailbox) indexChanges(ctx context.Context, ix *searchIndex, full bool) (missing []string, gone []string, err error) {
	err = m.s.view(ctx, func(tx storage.Tx) error {
		missing, gone = nil, nil
		if full {
			in := make(map[string]bool, len(ix.docs))
			if err := tx.Letters().MailboxAll(m.resident.ID, func(e storage.MailboxEntry) error {
				in[e.LetterID] = true
				if !ix.has(e.LetterID) {
					missing = append(missing, e.LetterID)
				}
				return nil
			}); err != nil {
				return err
			}
			slices.Reverse(missing) // newest first
			for _, d := range ix.docs {
				if !d.Gone && !in[d.ID] {
					gone = append(gone, d.ID)
				}
			}
			return nil
		}
		since := ix.Watermark.Add(-watermarkSlack)
		after := ""
		for {
			page, next, err := tx.Letters().Mailbox(m.resident.ID, after, 64)
			if err != nil {
				return err
			}
			for _, e := range page {
				if e.DeliveredAt.Before(since) {
					return nil
				}
				if !ix.has(e.LetterID) {
					missing = append(missing, e.LetterID)
				}
			}
			if next == "" {
				return nil
			}
			after = next
		}
	})
	return missing, gone, err
}

// indexLetters opens letters and adds them to the index, indexBatch to a
// read transaction. A letter that is gone meanwhile is skipped; one that
// does not open is added without words (and logged), so that it is not
// tried at every search.
func (m *Mailbox) indexLetters(ctx context.Context, ix *searchIndex, ids []string) error {
	for len(ids) > 0 {
		batch := ids[:min(len(ids), indexBatch)]
		ids = ids[len(batch):]
		var texts []letterText
		err := m.s.view(ctx, func(tx storage.Tx) error {
			texts = texts[:0]
			senders := map[string]*senderRecord{}
			for _, id := range batch {
				rec, err := tx.Letters().Get(id)
				if errors.Is(err, storage.ErrNotFound) {
					continue
				} else if err != nil {
					return err
				}
				if rec.ResidentID != m.resident.ID || !rec.InMailbox() {
					continue
				}
				lt, err := m.letterText(tx, rec, senders)
				if err != nil {
					m.s.log.Error("search: a letter cannot be indexed", "resident", m.resident.ID, "letter", id, "err", err)
					lt = letterText{ID: rec.ID, SenderID: rec.SenderID, At: rec.DeliveredAt}
				}
				texts = append(texts, lt)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, lt := range texts {
			ix.add(lt)
		}
	}
	return nil
}

// letterText opens what a letter's words are taken from. A held letter
// is opened too (the store can: its key is the resident's) so that it is
// found once released; searches leave it out while held.
func (m *Mailbox) letterText(tx storage.Tx, rec *letterRecord, senders map[string]*senderRecord) (letterText, error) {
	lt := letterText{ID: rec.ID, SenderID: rec.SenderID, At: rec.DeliveredAt}
	// An imported letter's sender is the one its manifest names (each
	// letter of an import its own, under one SenderID): not cached.
	snd, ok := senders[rec.SenderID]
	if !ok || rec.Imported != nil {
		var err error
		if snd, err = letterSender(tx, rec); err != nil {
			return lt, err
		}
		if rec.Imported == nil {
			senders[rec.SenderID] = snd
		}
	}
	dk, err := m.key.OpenDataKey(rec.SealedKey, letterBinding(rec))
	if err != nil {
		return lt, fmt.Errorf("open letter %s: %w", rec.ID, err)
	}
	defer dk.Zero()
	subject, err := dk.OpenField("subject", rec.Subject)
	if err != nil {
		return lt, fmt.Errorf("open letter %s subject: %w", rec.ID, err)
	}
	body, err := dk.OpenField("body", rec.Body)
	if err != nil {
		return lt, fmt.Errorf("open letter %s body: %w", rec.ID, err)
	}
	lt.Texts = append(lt.Texts, fieldText{FieldSubject, string(subject)}, fieldText{FieldSender, snd.Name}, fieldText{FieldBody, string(body)})
	for i, doc := range rec.Documents {
		name, err := dk.OpenField(fmt.Sprintf("document/%d/name", i), doc.Name)
		if err != nil {
			return lt, fmt.Errorf("open letter %s document %d: %w", rec.ID, i, err)
		}
		lt.Texts = append(lt.Texts, fieldText{FieldFileName, string(name)})
		text, err := m.documentText(tx, dk, rec, i)
		if err != nil {
			// The rest of the letter is still found.
			m.s.log.Warn("search: a document's text cannot be read", "resident", m.resident.ID, "letter", rec.ID, "document", i, "err", err)
		}
		if text != "" {
			lt.Texts = append(lt.Texts, fieldText{FieldDocument, text})
		}
	}
	return lt, nil
}

// documentText opens a document and returns its text.
func (m *Mailbox) documentText(tx storage.Tx, dk *crypto.DataKey, rec *letterRecord, i int) (string, error) {
	ct := rec.Documents[i].ContentType
	if ct != "text/plain" && ct != "text/html" && ct != "application/pdf" {
		return "", nil
	}
	r, err := tx.Documents().Open(rec.ID, i)
	if err != nil {
		return "", err
	}
	sealed, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return "", err
	}
	content, err := dk.OpenDocument(fmt.Sprintf("document/%d", i), sealed)
	if err != nil {
		return "", err
	}
	return documentText(ct, content)
}

// searchCache keeps the opened index of each session that searched, so
// that later searches of the session cost no opening. It holds at most
// maxEntries indexes of at most maxBytes together (as estimated by
// memSize), dropping the least recently used; one unused for the session
// idle time, or older than the session lifetime, is dropped (the session
// has expired), and so is a session's at logout. Nothing in it is ever
// written.
type searchCache struct {
	mu         sync.Mutex
	entries    map[string]*searchEntry // by session id
	maxEntries int
	maxBytes   int
	idle, life time.Duration
}

// searchEntry is a session's opened index; mu is held by the search
// using it.
type searchEntry struct {
	mu         sync.Mutex
	residentID string
	created    time.Time
	used       time.Time
	ix         *searchIndex
	version    uint64 // the stored version ix is, or is built on
	pending    int    // letters of the mailbox not yet in ix
	size       int    // ix's memSize when the search using it ended
	// replies are the texts of the resident's replies opened by earlier
	// searches of the session, by reply id (search_replies.go).
	replies map[string]cachedReply
}

// defaultSearchCacheEntries and defaultSearchCacheBytes bound the opened
// indexes kept in memory (an index of 10,000 letters takes about 20 MB).
const (
	defaultSearchCacheEntries = 64
	defaultSearchCacheBytes   = 256 << 20
)

func newSearchCache(maxEntries, maxBytes int, idle, life time.Duration) *searchCache {
	return &searchCache{entries: map[string]*searchEntry{}, maxEntries: maxEntries, maxBytes: maxBytes, idle: idle, life: life}
}

// memSize estimates the memory an opened index takes.
func (ix *searchIndex) memSize() int {
	if ix.memBytes == 0 {
		n := len(ix.docs)*(96+8) + len(ix.terms)*16
		for t, ps := range ix.postings {
			n += 48 + len(t) + 8*cap(ps)
		}
		ix.memBytes = n
	}
	return ix.memBytes
}

// settle records the size of a session's index after a search, and drops
// the least recently used others while the cache holds more than
// maxBytes (the session's own stays: it is in use).
func (c *searchCache) settle(sessionID string, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[sessionID]
	if e == nil {
		return
	}
	e.size = size
	for {
		total, oldest := 0, ""
		for id, x := range c.entries {
			total += x.size
			if id != sessionID && (oldest == "" || x.used.Before(c.entries[oldest].used)) {
				oldest = id
			}
		}
		if total <= c.maxBytes || oldest == "" {
			return
		}
		delete(c.entries, oldest)
	}
}

// entry returns the session's entry, made if there is none; expired
// entries are dropped first, and the least recently used when the cache
// is full.
func (c *searchCache) entry(sessionID, residentID string, now time.Time) *searchEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruneLocked(now)
	e := c.entries[sessionID]
	if e == nil || e.residentID != residentID {
		for len(c.entries) >= c.maxEntries {
			var oldest string
			for id, x := range c.entries {
				if oldest == "" || x.used.Before(c.entries[oldest].used) {
					oldest = id
				}
			}
			delete(c.entries, oldest)
		}
		e = &searchEntry{residentID: residentID, created: now}
		c.entries[sessionID] = e
	}
	e.used = now
	return e
}

// prune drops the entries of sessions that have expired by now.
func (c *searchCache) prune(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruneLocked(now)
}

func (c *searchCache) pruneLocked(now time.Time) {
	for id, e := range c.entries {
		if now.Sub(e.used) >= c.idle || now.Sub(e.created) >= c.life {
			delete(c.entries, id)
		}
	}
}

// drop forgets a session's index (logout).
func (c *searchCache) drop(sessionID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, sessionID)
}

// cached says whether a session has an opened index in memory (tests).
func (c *searchCache) cached(sessionID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[sessionID]
	return e != nil && e.ix != nil
}
