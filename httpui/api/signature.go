package api

import (
	"encoding/base64"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// signingCA: GET /api/v1/signing-ca (our extension): the appliance's
// signing CA certificate in PEM, which residents' signatures chain to:
// what `openssl cms -verify -CAfile` and `postkasse verify --ca` take.
func (a *API) signingCA(w http.ResponseWriter, r *http.Request, _ store.Sender) {
	pem := a.store.SigningCA()
	if pem == nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, store.ErrUnavailable))
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(pem)
	}
}

// signature: GET /api/v1/messages/{id}/signature (API.md, "Replies and
// signatures", as changed in docs/SENDERS.md): the resident's signature
// of the letter's main document, for the letter's sender only. A PDF's
// comes back sealed to the sender's reply key, as a reply is
// (application/json, replyJSON with the id crypto.SignatureReplyID: the
// signed PDF and the detached CMS as its files), so that the signed
// document is never in clear at rest; another document's signature is
// the detached CMS (application/pkcs7-signature, RFC 8551 §3.2.1), which
// holds no content. A PDF signed before the result was sealed still
// comes back as application/pdf. Another sender's letter is 404 as one
// that does not exist; a letter not answered yet 404 NO_SIGNATURE; a
// declined request 409 SIGNATURE_DECLINED with the resident's reason.
func (a *API) signature(w http.ResponseWriter, r *http.Request, sender store.Sender) {
	id := mux.Vars(r)["id"]
	sig, resident, err := a.store.LetterSignature(r.Context(), sender.ID, id)
	if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return
	}
	if sig.Status == store.SignatureDeclined {
		a.web.WriteProblem(w, r, web.Problem{Status: http.StatusConflict, Code: "SIGNATURE_DECLINED",
			Detail: "the resident declined to sign: " + sig.Reason})
		return
	}
	w.Header().Set("Last-Modified", sig.At.UTC().Format(http.TimeFormat))
	if sig.SealedPDF {
		a.web.WriteJSON(w, r, http.StatusOK, "application/json", replyJSON{
			ID: crypto.SignatureReplyID(id), LetterID: id, SenderID: sender.ID, ResidentID: resident, Created: sig.At.UTC(),
			Attachments: 2, Format: ReplyFormat, Sealed: base64.StdEncoding.EncodeToString(sig.Sealed)})
		return
	}
	body, ctype, name := sig.CMS, "application/pkcs7-signature", id+".p7s"
	if sig.PDF != nil {
		body, ctype, name = sig.PDF, "application/pdf", id+"-signed.pdf"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
