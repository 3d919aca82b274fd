package store

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/postkasse/postkasse/store/storage"
)

// Search finds a letter by the text of the resident's replies to it
// (FieldReply). Replies are not in the search index: they are written
// after the letter was indexed, by the resident or by a delegate on their
// behalf, and the index is brought up to date by delivery time only. So a
// search reads the resident's replies and matches their words beside the
// index's, word by word: a letter matches when every query word is in the
// letter or in a reply to it. A reply is opened (the resident's copy of
// its key) once a session: its text is kept with the session's opened
// index (searchEntry.replies, counted in its memory), in memory only,
// and dropped with it; a reply deleted since is dropped at the next
// search. A delegate's search of the grantor's mailbox
// (DelegatedMailbox.Search) reads only the replies that delegate wrote
// through the grant, with their own copy of the key.

// cachedReply is a reply's text as a search keeps it.
type cachedReply struct {
	letterID, text string
}

// replyBytes estimates the memory of the entry's reply texts.
func (e *searchEntry) replyBytes() int {
	n := 0
	for id, r := range e.replies {
		n += len(id) + len(r.letterID) + len(r.text) + 64
	}
	return n
}

// replyTexts returns the texts of the resident's replies, by the letter
// they reply to, oldest first; messages (no letter) are left out. Those
// the entry has are not opened again; the entry keeps those found now. A
// reply that does not open is logged and left out.
func (m *Mailbox) replyTexts(ctx context.Context, entry *searchEntry) (map[string][]string, error) {
	out := map[string][]string{}
	found := map[string]cachedReply{}
	err := m.s.view(ctx, func(tx storage.Tx) error {
		clear(out)
		clear(found)
		return tx.Replies().ByResident(m.resident.ID, func(r *storage.Reply) error {
			if r.LetterID == "" || r.ResidentID != m.resident.ID {
				return nil
			}
			c, ok := entry.replies[r.ID]
			if !ok {
				opened, err := m.openReply(r)
				if err != nil {
					m.s.log.Error("search: a reply cannot be opened", "resident", m.resident.ID, "reply", r.ID, "err", err)
					return nil
				}
				c = cachedReply{letterID: r.LetterID, text: opened.Text}
			}
			found[r.ID] = c
			if c.text != "" {
				out[c.letterID] = append(out[c.letterID], c.text)
			}
			return nil
		})
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	entry.replies = found
	return out, nil
}

// matchWithReplies is match with the words of the replies to each letter
// as one more field (FieldReply): every query word must be in the letter
// or its replies.
func (ix *searchIndex) matchWithReplies(qwords []string, replies map[string][]string) []uint8 {
	if len(replies) == 0 || len(qwords) == 0 {
		return ix.match(qwords)
	}
	// The places of the letters with replies, and their replies' words,
	// folded.
	type replied struct {
		doc   int
		words []string
	}
	var withReplies []replied
	for d, doc := range ix.docs {
		texts, ok := replies[doc.ID]
		if !ok || doc.Gone {
			continue
		}
		var ws []string
		for _, t := range texts {
			for _, w := range words(t) {
				ws = append(ws, foldWord(t[w.start:w.end]))
			}
		}
		withReplies = append(withReplies, replied{d, ws})
	}
	return ix.matchAlso(qwords, func(q string, cur []uint8) {
		for _, r := range withReplies {
			if slices.ContainsFunc(r.words, func(w string) bool { return strings.HasPrefix(w, q) }) {
				cur[r.doc] |= FieldReply
			}
		}
	})
}

// replySnippet is a snippet of the first reply with a word matched.
func replySnippet(texts []string, qwords []string) []TextPart {
	for _, t := range texts {
		if parts := markWords(t, qwords); slices.ContainsFunc(parts, func(p TextPart) bool { return p.Mark }) {
			return snippet(t, qwords)
		}
	}
	return nil
}
