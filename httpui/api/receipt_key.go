package api

import (
	"encoding/base64"
	"net/http"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store"
)

// receiptKeyResponse is the appliance's receipt verification key, so that
// senders can check receipts: an Ed25519 signature over
// "postkasse/v1/receipt" | 0x00 | payload (package crypto).
type receiptKeyResponse struct {
	Algorithm string `json:"algorithm"`
	KeyID     string `json:"keyId"`
	PublicKey string `json:"publicKey"` // standard base64
}

// receiptKey: GET /api/v1/receipt-key.
func (a *API) receiptKey(w http.ResponseWriter, r *http.Request, _ store.Sender) {
	pub := a.store.SigningKey()
	a.web.WriteJSON(w, r, http.StatusOK, "application/json", receiptKeyResponse{
		Algorithm: "ed25519",
		KeyID:     crypto.KeyID(pub),
		PublicKey: base64.StdEncoding.EncodeToString(pub),
	})
}
