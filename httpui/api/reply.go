package api

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// replyKeyJSON is the body of PUT /api/v1/reply-key and the answer of GET
// and PUT: the sender's X25519 public key, standard base64.
type replyKeyJSON struct {
	PublicKey string `json:"publicKey"`
}

// replyJSON is a reply sealed to the sender (GET /api/v1/replies/{id}):
// the ids it is bound to and the sealed reply v1 (crypto/doc.go), which
// the sender opens with its reply key's private key (`postkasse events
// --reply-key`).
type replyJSON struct {
	ID          string    `json:"id"`
	LetterID    string    `json:"letterId"`
	SenderID    string    `json:"senderId"`
	ResidentID  string    `json:"residentId"`
	Created     time.Time `json:"created"`
	Attachments int       `json:"attachments"`
	Format      string    `json:"format"`
	Sealed      string    `json:"sealed"` // standard base64
}

// ReplyFormat names the format of replyJSON.Sealed.
const ReplyFormat = "postkasse-sealed-reply-v1"

// maxReplyKeyBody bounds PUT /api/v1/reply-key's body.
const maxReplyKeyBody = 1 << 10

// replyKey: GET and PUT /api/v1/reply-key, the sender's own key only.
func (a *API) replyKey(w http.ResponseWriter, r *http.Request, sender store.Sender) {
	if r.Method == http.MethodPut {
		r.Body = http.MaxBytesReader(w, r.Body, maxReplyKeyBody)
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			a.web.WriteProblem(w, r, a.web.ProblemFor(r, invalidf("body", "more than %d bytes", maxReplyKeyBody)))
			return
		}
		var req replyKeyJSON
		if err := decodeStrict(raw, &req, "body"); err != nil {
			a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
			return
		}
		key, err := base64.StdEncoding.DecodeString(req.PublicKey)
		if err != nil {
			a.web.WriteProblem(w, r, a.web.ProblemFor(r, invalidf("publicKey", "not standard base64")))
			return
		}
		if err := a.store.SetSenderReplyKey(r.Context(), sender.ID, key, true); err != nil {
			a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
			return
		}
	}
	key, err := a.store.SenderReplyKey(r.Context(), sender.ID)
	if errors.Is(err, store.ErrNoReplyKey) {
		a.web.WriteProblem(w, r, web.Problem{Status: http.StatusNotFound, Code: "NOT_FOUND", Detail: "no reply key registered"})
		return
	} else if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return
	}
	a.web.WriteJSON(w, r, http.StatusOK, "application/json", replyKeyJSON{PublicKey: base64.StdEncoding.EncodeToString(key)})
}

// reply: GET /api/v1/replies/{id}. Another sender's reply is 404, the
// same as one that does not exist (or went with its letter).
func (a *API) reply(w http.ResponseWriter, r *http.Request, sender store.Sender) {
	rep, err := a.store.SealedReply(r.Context(), sender.ID, mux.Vars(r)["id"])
	if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return
	}
	a.web.WriteJSON(w, r, http.StatusOK, "application/json", replyJSON{
		ID: rep.ID, LetterID: rep.LetterID, SenderID: rep.SenderID, ResidentID: rep.ResidentID, Created: rep.Created,
		Attachments: rep.Attachments, Format: ReplyFormat, Sealed: base64.StdEncoding.EncodeToString(rep.Sealed)})
}
