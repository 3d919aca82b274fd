package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/postkasse/postkasse/store"
)

// TestTwoNodesDeliver: two nodes (an engine and a store each, on one
// database and bucket) take deliveries at once. Their group commits
// conflict on the audit log and the outbox; every delivery is committed
// once, both nodes see every letter, and the engine's check, the domain's
// invariants and the audit log all pass.
func TestTwoNodesDeliver(t *testing.T) {
	t.Parallel()
	cfg := config(t)
	var nodes []*store.Store
	for range 2 {
		s, err := store.New(open(t, cfg), store.Options{KDF: benchKDF})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		nodes = append(nodes, s)
	}
	nid, err := store.ParseNationalID("0101901234")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := nodes[0].AddResident(context.Background(), nid, "Anna Jensen", "anna-password-2026"); err != nil {
		t.Fatal(err)
	}
	snd, err := nodes[1].AddSender(context.Background(), "Eksempelby Kommune", "29189846", store.SenderPublic)
	if err != nil {
		t.Fatal(err)
	}
	const senders, each = 8, 8
	ids := make(chan string, senders*each)
	var wg sync.WaitGroup
	for g := range senders {
		node := nodes[g%2]
		wg.Go(func() {
			for i := range each {
				res, err := node.Deliver(context.Background(), snd.ID, store.Delivery{Recipient: nid, Subject: "Brev", SenderReference: fmt.Sprintf("ref-%d-%d", g, i),
					Documents: []store.DocumentInput{{Name: "brev.txt", ContentType: "text/plain", Content: []byte("Hej")}}})
				if err != nil {
					t.Error(err)
					return
				}
				ids <- res.Letter.ID
			}
		})
	}
	wg.Wait()
	close(ids)
	n := 0
	for id := range ids {
		n++
		for i, node := range nodes {
			if st, err := node.LetterStatus(context.Background(), snd.ID, id); err != nil || st.ID != id {
				t.Errorf("node %d: letter %s: %+v, %v", i, id, st, err)
			}
		}
	}
	if n != senders*each {
		t.Fatalf("%d letters delivered, want %d", n, senders*each)
	}
	if err := nodes[0].Check(context.Background()); err != nil {
		t.Error(err)
	}
	if err := nodes[1].CheckInvariants(context.Background()); err != nil {
		t.Error(err)
	}
}
