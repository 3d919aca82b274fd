package web

import (
	"context"
	"net/http"
)

// MailboxLink is one mailbox in the layout's mailbox switcher: the
// signed-in resident's own, or one they were given access to.
type MailboxLink struct {
	Name, URL string
	// Current: the mailbox the page belongs to.
	Current bool
}

// Aria is the link's aria-current: "page" when it is the page shown,
// "true" for the current mailbox seen from another of its pages, "" for
// another mailbox.
func (m MailboxLink) Aria(path string) string {
	switch {
	case !m.Current:
		return ""
	case m.URL == path:
		return "page"
	}
	return "true"
}

type mailboxesKey struct{}

// WithMailboxes gives the request the signed-in resident's mailboxes for
// the switcher, asked for only when a page is rendered. A nil or empty
// answer (no mailbox but their own) shows no switcher.
func WithMailboxes(r *http.Request, list func() []MailboxLink) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), mailboxesKey{}, list))
}

// mailboxes returns the request's mailboxes (WithMailboxes); nil for none.
func mailboxes(r *http.Request) []MailboxLink {
	list, _ := r.Context().Value(mailboxesKey{}).(func() []MailboxLink)
	if list == nil {
		return nil
	}
	if out := list(); len(out) > 1 {
		return out
	}
	return nil
}
