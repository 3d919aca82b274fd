package control

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// TestPrintOperations: the print queue's operations give the same
// answers directly and over the socket: the status, an export into a new
// absolute folder (a relative or existing one refused), done once, and an
// unknown batch not found.
func TestPrintOperations(t *testing.T) {
	inEachMode(t, func(t *testing.T, op *Operator, ops Operations) {
		ctx := context.Background()
		pk, err := ops.PrintKey(ctx)
		if err != nil || len(pk.Key) != 2*store.PrintKeySize {
			t.Fatalf("print key: %+v, %v", pk, err)
		}
		if _, err := ops.PrintKey(ctx); !errors.Is(err, store.ErrExists) {
			t.Errorf("a second print key: %v", err)
		}
		snd := addKommune(t, op.Store)
		nid, _ := store.ParseNationalID("0707701234")
		if _, err := op.Store.Deliver(ctx, snd.ID, store.Delivery{Recipient: nid, Subject: "Brev", SenderReference: "sag-1",
			Documents: []store.DocumentInput{{Name: "brev.pdf", ContentType: "application/pdf", Content: testsupport.PDF("Brev")}},
			Print: &store.PrintRequest{Address: store.PrintAddress{Name: "Bo Berg", Lines: []string{"Søndergade 12"},
				PostalCode: "8000", City: "Aarhus C", Country: "DK"}}}); err != nil {
			t.Fatal(err)
		}
		if st, err := ops.PrintStatus(ctx); err != nil || st.Queued != 1 || st.QueuedPages != 1 {
			t.Fatalf("status: %+v, %v", st, err)
		}
		if _, err := ops.PrintExport(ctx, PrintExportRequest{Dir: "relative", Key: pk.Key}); !isInvalid(err) {
			t.Errorf("export to a relative folder: %v", err)
		}
		if _, err := ops.PrintExport(ctx, PrintExportRequest{Dir: t.TempDir(), Key: pk.Key}); !isInvalid(err) {
			t.Errorf("export to an existing folder: %v", err)
		}
		dir := filepath.Join(t.TempDir(), "batch")
		if _, err := ops.PrintExport(ctx, PrintExportRequest{Dir: dir, Key: "00" + pk.Key[2:]}); !errors.Is(err, store.ErrWrongPrintKey) {
			t.Errorf("export with a wrong key: %v", err)
		}
		if _, err := ops.PrintExport(ctx, PrintExportRequest{Dir: dir, Key: "zz"}); !isInvalid(err) {
			t.Errorf("export with a key that is no key: %v", err)
		}
		out, err := ops.PrintExport(ctx, PrintExportRequest{Dir: dir, Key: pk.Key})
		if err != nil || out.Letters != 1 || out.Pages != 1 || out.Dir != dir {
			t.Fatalf("export: %+v, %v", out, err)
		}
		for _, f := range []string{"manifest.json", "manifest.csv"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
		if _, err := ops.PrintDone(ctx, PrintDoneRequest{Batch: "0123456789abcdef0123456789abcdef"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("done of an unknown batch: %v", err)
		}
		if d, err := ops.PrintDone(ctx, PrintDoneRequest{Batch: out.Batch}); err != nil || d.Printed != 1 {
			t.Errorf("done: %+v, %v", d, err)
		}
		if d, err := ops.PrintDone(ctx, PrintDoneRequest{Batch: out.Batch}); err != nil || d.Printed != 0 {
			t.Errorf("done again: %+v, %v", d, err)
		}
		if st, err := ops.PrintStatus(ctx); err != nil || st.Queued != 0 || st.Printed != 1 || len(st.Exported) != 0 {
			t.Errorf("status after done: %+v, %v", st, err)
		}
	})
}
