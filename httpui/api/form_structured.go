package api

import "github.com/postkasse/postkasse/store"

// maxStructuredPart is the room the fields of a structured letter take in
// the message part at most: five actions with URLs of 2 KiB and labels,
// an invoice, a signature request, every character escaped (\u0000 is six bytes for one).
const maxStructuredPart = (store.MaxActions*(2048+100+64) + 512 + 600) * 6

// structuredFields copies a structured letter's fields (API.md, "More
// message fields": openingReceipt, invoice, actions, signatureRequest)
// into the delivery. The store checks them (store/structured.go,
// store/signing.go).
func structuredFields(d *store.Delivery, msg *messageJSON) {
	d.OpeningReceipt, d.Invoice, d.Actions = msg.OpeningReceipt, msg.Invoice, msg.Actions
	d.SignatureRequest = msg.SignatureRequest
}
