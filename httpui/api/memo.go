package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/postkasse/postkasse/httpui/memo"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// deliverMemo takes a letter as a MeMo message: POST /api/v1/memo (API.md,
// "MeMo"). The body is one MeMo 1.1 or 1.2 Message, parsed strictly by
// package memo; the letter is then delivered by the same path as POST
// /api/v1/messages (deliverLetter), with the messageUUID as its
// senderReference, so the answers are the same: 201 once stored, 200 for
// a repeat of the same message, 409 for another message under the same
// messageUUID. The message's Sender must be the authenticated sender.
func (a *API) deliverMemo(w http.ResponseWriter, r *http.Request, sender store.Sender) {
	if p, ok := memoContentType(r.Header.Get("Content-Type")); !ok {
		a.web.WriteProblem(w, r, p)
		return
	}
	limits := a.store.Limits()
	// Under the same bound on bytes in flight as every delivery.
	release, ok := a.holdBody(w, r, memoLimits(limits).MaxSize)
	if !ok {
		return
	}
	defer release()
	d, senderID, err := parseMemo(r.Body, limits)
	if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return
	}
	// The sender is the certificate's: a message naming another sender
	// would otherwise be delivered in this sender's name to a resident
	// who reads the other's name in it.
	if senderID != sender.OrgNumber {
		a.web.WriteProblem(w, r, web.Problem{Status: http.StatusForbidden, Code: "FORBIDDEN",
			Detail: fmt.Sprintf("MeMo MessageHeader/Sender/senderID %q is not the CVR number of the sender the client certificate belongs to (%s)", senderID, sender.OrgNumber)})
		return
	}
	a.deliverLetter(w, r, sender, d)
}

// parseMemo reads a MeMo message from body within the store's limits l
// into a delivery, and returns it with the message's senderID (the
// sender's CVR number, for the handler to check). It only parses; the
// store checks the rules. Errors are *store.InvalidError naming the MeMo
// element, or wrap store.ErrDocumentTooLarge or the body reader's
// *http.MaxBytesError.
func parseMemo(body io.Reader, l store.Limits) (store.Delivery, string, error) {
	msg, err := memo.Parse(body, memoLimits(l))
	if err != nil {
		return store.Delivery{}, "", memoError(err)
	}
	d, err := memoDelivery(msg)
	return d, msg.SenderID, err
}

// memoContentType accepts the media types of XML (RFC 7303 §9.1, §9.2)
// in UTF-8, the only encoding package memo reads. Anything else is 415.
func memoContentType(ct string) (web.Problem, bool) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/xml" && mt != "text/xml") {
		return web.Problem{Status: http.StatusUnsupportedMediaType, Code: "UNSUPPORTED_MEDIA_TYPE",
			Detail: fmt.Sprintf("Content-Type %q; a MeMo message is sent as application/xml", ct)}, false
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return web.Problem{Status: http.StatusUnsupportedMediaType, Code: "UNSUPPORTED_MEDIA_TYPE",
			Detail: fmt.Sprintf("Content-Type charset %q; a MeMo message is read as UTF-8", cs)}, false
	}
	return web.Problem{}, true
}

// memoLimits are the store's limits on a letter as limits on a MeMo
// message. The XML may hold the documents in base64 (4 bytes for 3) with
// line breaks and indentation: half as much again as the documents, and
// 1 MiB for the header and the rest of the body. The store checks the
// decoded documents against its limits again, so this bound only keeps
// the XML read in proportion to them.
func memoLimits(l store.Limits) memo.Limits {
	return memo.Limits{
		MaxSize:         l.MaxLetterSize*3/2 + 1<<20,
		MaxDocuments:    l.MaxDocuments,
		MaxDocumentSize: l.MaxDocumentSize,
		MaxActions:      store.MaxActions,
	}
}

// memoError maps an error of memo.Parse to the errors the API's problems
// are made from: an invalid or unsupported element is an invalid request
// naming it, a size over a limit DOCUMENT_TOO_LARGE, the body's own size
// limit as it is, and any other failure of reading the body an invalid
// request about the body.
func memoError(err error) error {
	var invalid *memo.InvalidError
	var unsupported *memo.UnsupportedError
	switch {
	case errors.As(err, &invalid):
		return &store.InvalidError{Field: "MeMo " + invalid.Element, Reason: invalid.Reason}
	case errors.As(err, &unsupported):
		reason := "not supported by Postkasse"
		if unsupported.Value != "" {
			reason = fmt.Sprintf("the value %q is not supported by Postkasse", unsupported.Value)
		}
		return &store.InvalidError{Field: "MeMo " + unsupported.Element, Reason: reason}
	case errors.Is(err, memo.ErrTooLarge):
		return fmt.Errorf("%w: %w", err, store.ErrDocumentTooLarge)
	}
	return bodyError(err, "body", "reading: %v", err)
}

// memoDelivery makes the delivery of a parsed MeMo message (the mapping
// of httpui/memo's package documentation): label → subject, messageUUID
// → senderReference, Recipient → recipient, doNotDeliverUntilDate →
// notBefore, reply → replyAllowed, every File a document in the order of
// the message (the main document's first), Actions → actions. The store
// checks the rest.
func memoDelivery(msg *memo.Message) (store.Delivery, error) {
	d := store.Delivery{
		Subject:         msg.Label,
		SenderReference: msg.UUID,
		NotBefore:       msg.NotBefore,
		ReplyAllowed:    msg.ReplyAllowed,
	}
	var err error
	const recipientID = "MeMo MessageHeader/Recipient/recipientID"
	if d.Recipient, err = store.ParseNationalID(msg.RecipientCPR); err != nil {
		return d, &store.InvalidError{Field: recipientID, Reason: err.Error()}
	}
	// Its idType is CPR: a Norwegian fødselsnummer is not one, however
	// valid.
	if d.Recipient.Country != "DK" {
		return d, &store.InvalidError{Field: recipientID, Reason: "idType is CPR, and this is not a Danish CPR number"}
	}
	for _, doc := range msg.Documents {
		d.Documents = append(d.Documents, store.DocumentInput{Name: doc.Name, ContentType: doc.ContentType, Content: doc.Content})
	}
	for _, act := range msg.Actions {
		sa := store.Action{Type: store.ActionType(act.Type), Label: act.Label, URL: act.URL, Deadline: act.Deadline}
		if !act.At.IsZero() {
			sa.At = act.At.Format(time.RFC3339)
		}
		d.Actions = append(d.Actions, sa)
	}
	return d, nil
}
