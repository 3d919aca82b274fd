package resident

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/store"
)

// letterReceipt sends the signed receipt of a letter as a file
// (store.Mailbox.Receipt): the very receipt object the sender got in the
// delivery's answer (API.md), byte for byte, which `postkasse audit
// verify --receipt FILE` checks against the appliance's key and audit
// log. It opens nothing and does not mark the letter read.
func (s *Handlers) letterReceipt(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	id := mux.Vars(r)["id"]
	receipt, err := mb.Receipt(r.Context(), id)
	if err != nil {
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="receipt-`+id+`.json"`)
	s.web.WriteJSON(w, r, http.StatusOK, "application/json", receipt)
}
