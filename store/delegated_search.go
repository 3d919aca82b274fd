package store

import (
	"context"
	"slices"
	"strings"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// Search finds the covered letters of the grantor's mailbox that have
// every word of text (each a prefix of a word, folded as the resident's
// search folds them) in their subject, sender's name or body, or in a
// reply this delegate wrote on the grantor's behalf through this grant;
// newest first. There is no index for a delegate (the grantor's is
// sealed with the grantor's key): each search opens the covered letters,
// as the list of them (Letters) does, and the delegate's own replies with
// their copy of the key. Letters the grant does not cover, and replies
// the grantor or another delegate wrote, are never read. A query as the
// resident's search refuses (checkQuery) is an *InvalidError.
func (dm *DelegatedMailbox) Search(ctx context.Context, text string) ([]LetterSummary, error) {
	q := SearchQuery{Text: text, Limit: MaxSearchResults}
	qwords, err := checkQuery(&q)
	if err != nil {
		return nil, err
	}
	var out []LetterSummary
	err = dm.m.s.view(ctx, func(tx storage.Tx) error {
		out = out[:0]
		return dm.covered(tx, func(d *storage.Delegation, rec *letterRecord, dk *crypto.DataKey, sum LetterSummary) (bool, error) {
			body, err := dk.OpenField("body", rec.Body)
			if err != nil {
				return false, err
			}
			texts := []string{sum.Subject, sum.SenderName, string(body)}
			if err := tx.Replies().ByLetter(rec.ID, func(r *storage.Reply) error {
				if r.WrittenBy != dm.m.resident.ID || r.DelegationID != d.ID || len(r.DelegateKey) == 0 {
					return nil
				}
				opened, err := dm.m.key.OpenReplyWithKey(r.Sealed, r.DelegateKey,
					crypto.ReplyBinding{ReplyID: r.ID, SenderID: r.SenderID, ResidentID: r.ResidentID, Delegate: dm.m.resident.ID})
				if err != nil {
					return err
				}
				texts = append(texts, opened.Text)
				return nil
			}); err != nil {
				return false, err
			}
			if hasAllWords(texts, qwords) {
				out = append(out, sum)
			}
			return len(out) < MaxSearchResults, nil
		})
	})
	return out, err
}

// hasAllWords reports whether every query word is a prefix of a word of
// the texts, folded.
func hasAllWords(texts, qwords []string) bool {
	var folded []string
	for _, t := range texts {
		for _, w := range words(t) {
			folded = append(folded, foldWord(t[w.start:w.end]))
		}
	}
	for _, q := range qwords {
		if !slices.ContainsFunc(folded, func(w string) bool { return strings.HasPrefix(w, q) }) {
			return false
		}
	}
	return true
}
