package store

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestExportReplies: the export (format 2) holds the resident's replies
// and messages, opened (text, attachments under replies/<id>/, who wrote
// a reply on their behalf, the answers), and verifies; a changed
// attachment, a reply to a letter the manifest does not list, or replies
// in a format 1 manifest are refused; an export of format 1 (no replies)
// still opens, verifies and imports, and so does one of format 2, whose
// replies stay in the archive.
func TestExportReplies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	df := newDelegationFixture(t)
	replyKeyFor(t, df.s, df.sender.ID)
	letter := df.deliverReplyable(t, df.sender, "hearing-1")
	if err := df.s.SetSenderAcceptsMessages(ctx, df.sender.ID, true); err != nil {
		t.Fatal(err)
	}
	df.clock.Advance(time.Minute)
	reply, err := df.anna.Reply(ctx, letter, ReplyInput{Text: "Jeg klager.", Attachments: []DocumentInput{{Name: "klage.txt", ContentType: "text/plain", Content: []byte("Min klage")}}})
	if err != nil {
		t.Fatal(err)
	}
	df.clock.Advance(time.Minute)
	msg, err := df.anna.SendMessage(ctx, df.sender.ID, ReplyInput{Text: "Hvornår tømmes skraldespanden?"})
	if err != nil {
		t.Fatal(err)
	}
	g := df.grant(t, "act", "all", time.Time{})
	dm, err := df.boMailbox.Delegated(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	df.clock.Advance(time.Minute)
	byBo, err := dm.Reply(ctx, letter, ReplyInput{Text: "Skrevet af Bo."})
	if err != nil {
		t.Fatal(err)
	}

	archive, sum := exportOf(t, df.anna)
	if sum.Replies != 3 || sum.Letters != 3 {
		t.Fatalf("export summary %+v", sum)
	}
	ex, err := openExportBytes(archive)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ex.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Replies != 3 || ex.Manifest.Format != 2 {
		t.Errorf("report %+v, format %d", rep, ex.Manifest.Format)
	}
	byID := map[string]ExportReply{}
	for _, r := range ex.Manifest.Replies {
		byID[r.ID] = r
	}
	if r := byID[reply]; r.LetterID != letter || r.Text != "Jeg klager." || r.WrittenBy != "" || r.Sender.OrgNumber != df.sender.OrgNumber ||
		len(r.Attachments) != 1 || r.Attachments[0].Path != "replies/"+reply+"/1-klage.txt" ||
		string(fileOf(t, archive, r.Attachments[0].Path)) != "Min klage" {
		t.Errorf("the reply in the manifest: %+v", r)
	}
	if r := byID[msg]; r.LetterID != "" || r.Text != "Hvornår tømmes skraldespanden?" || len(r.Attachments) != 0 {
		t.Errorf("the message in the manifest: %+v", r)
	}
	if r := byID[byBo]; r.LetterID != letter || r.Text != "Skrevet af Bo." || r.WrittenBy != "Bo Berg" {
		t.Errorf("Bo's reply in the manifest: %+v", r)
	}
	// Bo's export has none of Anna's replies, not even his own on her
	// behalf: they are hers.
	if _, sum := exportOf(t, df.boMailbox); sum.Replies != 0 {
		t.Errorf("Bo's export holds %d replies", sum.Replies)
	}

	// Refused.
	editManifest := func(edit func(m map[string]any)) func(name string, c []byte) []byte {
		return func(name string, c []byte) []byte {
			if name != exportManifest {
				return c
			}
			var m map[string]any
			if err := json.Unmarshal(c, &m); err != nil {
				t.Fatal(err)
			}
			edit(m)
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	for _, tc := range []struct {
		name string
		edit func(name string, c []byte) []byte
		want ExportProblem
	}{
		{"a changed attachment", func(name string, c []byte) []byte {
			if strings.HasPrefix(name, exportRepliesDir) {
				return []byte("Min klagx")
			}
			return c
		}, ExportTampered},
		{"a reply to a letter not listed", editManifest(func(m map[string]any) {
			m["replies"].([]any)[0].(map[string]any)["letterId"] = strings.Repeat("ab", 16)
		}), ExportNotAnExport},
		{"replies in format 1", editManifest(func(m map[string]any) { m["format"] = 1 }), ExportNotAnExport},
		{"format 3", editManifest(func(m map[string]any) { m["format"] = 3 }), ExportNotAnExport},
	} {
		ex, err := openExportBytes(rezip(t, archive, tc.edit))
		if err == nil {
			_, err = ex.Verify()
		}
		if !isProblem(err, tc.want) {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}

	// Format 1, as exported before: no replies.
	old := rezip(t, archive, func(name string, c []byte) []byte {
		if strings.HasPrefix(name, exportRepliesDir) {
			return nil
		}
		return editManifest(func(m map[string]any) {
			m["format"] = 1
			delete(m, "replies")
		})(name, c)
	})
	exOld, err := openExportBytes(old)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := exOld.Verify(); err != nil || rep.Letters != 3 || rep.Replies != 0 {
		t.Fatalf("format 1: %+v, %v", rep, err)
	}
	// Both import on another appliance.
	for name, a := range map[string][]byte{"format 1": old, "format 2": archive} {
		clock := newFakeClock()
		clock.Advance(24 * time.Hour)
		b := openTestStore(t, testOptions(clock))
		mustResident(t, b, df.nid, "Anna Andersen")
		mb := mustLogin(t, b, df.nid, testPassword)
		if res, err := mb.Import(ctx, bytes.NewReader(a), int64(len(a))); err != nil || res.Imported != 3 {
			t.Errorf("import of %s: %+v, %v", name, res, err)
		}
	}
}
