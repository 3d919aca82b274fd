package control

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/store"
)

// TestSenderReplyKey registers a sender's reply key directly and over a
// real socket: by id or organisation number, shown in the sender's info,
// audited; a key that is not base64 or not an X25519 key, and an unknown
// sender, are refused and change nothing.
func TestSenderReplyKey(t *testing.T) {
	inEachMode(t, func(t *testing.T, op *Operator, ops Operations) {
		ctx := context.Background()
		muni := addKommune(t, op.Store)
		key := make([]byte, 32)
		key[0] = 9 // X25519's base point: a valid public key
		b64 := base64.StdEncoding.EncodeToString(key)
		for name, req := range map[string]ReplyKeyRequest{
			"not base64":     {OrgNumber: "29189846", PublicKey: "!!"},
			"short":          {OrgNumber: "29189846", PublicKey: "AAAA"},
			"low order":      {OrgNumber: "29189846", PublicKey: base64.StdEncoding.EncodeToString(make([]byte, 32))},
			"unknown sender": {OrgNumber: "12345674", PublicKey: b64},
		} {
			if _, err := ops.SetSenderReplyKey(ctx, req); err == nil {
				t.Errorf("%s: taken", name)
			}
		}
		if _, err := op.Store.SenderReplyKey(ctx, muni.ID); !errors.Is(err, store.ErrNoReplyKey) {
			t.Fatalf("a refused key was stored: %v", err)
		}
		info, err := ops.SetSenderReplyKey(ctx, ReplyKeyRequest{OrgNumber: "29189846", PublicKey: b64})
		if err != nil || info.ID != muni.ID || info.ReplyKey != b64 {
			t.Fatalf("set: %+v, %v", info, err)
		}
		if info, err := ops.SetSenderReplyKey(ctx, ReplyKeyRequest{ID: muni.ID, PublicKey: b64}); err != nil || info.ReplyKey != b64 {
			t.Fatalf("set by id: %+v, %v", info, err)
		}
		// Messages: only with a reply key (it has one now); on and off.
		other, err := op.Store.AddSender(ctx, "Region Midtjylland", "29190925", store.SenderPublic)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ops.SetSenderMessages(ctx, MessagesRequest{ID: other.ID, On: true}); err == nil {
			t.Error("messages on for a sender without a reply key")
		}
		if info, err := ops.SetSenderMessages(ctx, MessagesRequest{OrgNumber: "29189846", On: true}); err != nil || !info.AcceptsMessages {
			t.Errorf("messages on: %+v, %v", info, err)
		}
		if info, err := ops.SetSenderMessages(ctx, MessagesRequest{OrgNumber: "29189846"}); err != nil || info.AcceptsMessages {
			t.Errorf("messages off: %+v, %v", info, err)
		}
		log, err := op.Store.AuditLog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range log {
			if e.Action == "reply-key" && strings.HasPrefix(e.Actor, "operator") {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d reply-key audit entries, want 2", n)
		}
	})
}
