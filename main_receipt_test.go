package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// TestResidentReceiptVerifies: the receipt a resident downloads from the
// letter page is accepted by `postkasse audit verify --receipt`, against
// the appliance's key and its audit log, also after the resident deleted
// the letter; the same file with one byte of its payload or signature
// changed is refused.
func TestResidentReceiptVerifies(t *testing.T) {
	dir := initFolder(t)
	st, err := store.Open(filepath.Join(dir, dbFileName), store.Options{KDF: testsupport.CheapKDF})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	nid, _ := store.ParseNationalID("1203861234")
	if _, _, err := st.AddResident(ctx, nid, "Anna Jensen", "anna-demo-2026"); err != nil {
		t.Fatal(err)
	}
	snd, err := st.AddSender(ctx, "Eksempelby Kommune", "29189846", store.SenderPublic)
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Deliver(ctx, snd.ID, store.Delivery{Recipient: nid, Subject: "Afgørelse", SenderReference: "sag-1",
		Documents: []store.DocumentInput{{Name: "afgoerelse.txt", ContentType: "text/plain", Content: []byte("Du har fået tilskud.")}}})
	if err != nil {
		t.Fatal(err)
	}
	ui, err := httpui.New(httpui.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ui.Handler())
	defer srv.Close()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar}
	login, err := browser.PostForm(srv.URL+"/login", url.Values{"nationalId": {nid.Number}, "password": {"anna-demo-2026"}})
	if err != nil {
		t.Fatal(err)
	}
	login.Body.Close()
	resp, err := browser.Get(srv.URL + "/letters/" + res.Letter.ID + "/receipt")
	if err != nil {
		t.Fatal(err)
	}
	file, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("download the receipt: %d %v\n%s", resp.StatusCode, err, file)
	}
	// The resident then deletes the letter: the receipt stays valid
	// (API.md), its delivery's entry stays in the audit log.
	del, err := browser.PostForm(srv.URL+"/letters/delete", url.Values{"id": {res.Letter.ID}, "confirm": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	del.Body.Close()
	if st, err := st.LetterStatus(ctx, snd.ID, res.Letter.ID); err != nil || st.Status != "deleted" {
		t.Fatalf("after deleting: %+v, %v", st, err)
	}
	srv.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	verify := func(content []byte) (string, error) {
		name := filepath.Join(t.TempDir(), "receipt-"+res.Letter.ID+".json")
		if err := os.WriteFile(name, content, 0o600); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err := run([]string{"audit", "verify", "--data", dir, "--receipt", name}, &out)
		return out.String(), err
	}
	if out, err := verify(file); err != nil || !strings.Contains(out, "1 receipts") || !strings.Contains(out, "OK: no problem found") {
		t.Fatalf("audit verify of the downloaded receipt: %v\n%s", err, out)
	}
	for _, field := range []string{`"payload":"`, `"signature":"`} {
		i := bytes.Index(file, []byte(field))
		if i < 0 {
			t.Fatalf("the receipt has no %s", field)
		}
		changed := bytes.Clone(file)
		at := i + len(field) + 8
		if changed[at] == 'A' {
			changed[at] = 'B'
		} else {
			changed[at] = 'A'
		}
		if out, err := verify(changed); err == nil || !strings.Contains(err.Error(), "signature") {
			t.Errorf("audit verify of the receipt with its %s changed: %v\n%s", field, err, out)
		}
	}
}
