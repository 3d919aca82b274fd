package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// residentClient is a browser-like client of a demo's web UI, signed in
// as the demo resident with that national identity number.
func residentClient(t *testing.T, p *demoProcess, nid string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	password := ""
	for _, r := range p.demo.Residents {
		if r.NationalID == nid {
			password = r.Password
		}
	}
	resp, err := c.PostForm(p.demo.UI+"/login", url.Values{"nationalId": {nid}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("login: %s at %s", resp.Status, resp.Request.URL)
	}
	return c
}

// body reads an answer and checks its status.
func body(t *testing.T, resp *http.Response, err error, status int) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %s, want %d\n%s", resp.Request.Method, resp.Request.URL, resp.Status, status, b)
	}
	return b
}

// uploadExport posts an export archive to a demo's import form.
func uploadExport(t *testing.T, c *http.Client, p *demoProcess, archive []byte) string {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, err := w.CreateFormFile("export", "postkasse.zip")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(archive)
	w.Close()
	resp, err := c.Post(p.demo.UI+"/settings/import", w.FormDataContentType(), &buf)
	return string(body(t, resp, err, http.StatusOK))
}

// TestExportBetweenAppliances: the end-to-end switch of provider. Anna
// takes her mail out of one running appliance, `postkasse verify` checks
// the archive offline, and a second running appliance (another receipt
// key, the same resident) takes it in: her letters appear there, marked
// as brought from another Postkasse, once however often she uploads it.
// A changed byte makes verify fail, naming the file.
func TestExportBetweenAppliances(t *testing.T) {
	one := startDemo(t, t.TempDir())
	two := startDemo(t, t.TempDir())
	anna := one.demo.Residents[0].NationalID
	c1 := residentClient(t, one, anna)
	// A document of Anna's own, saved in her inbox.
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("folder", "")
	mw.WriteField("title", "Min egen kopi af lejekontrakten")
	fw, _ := mw.CreateFormFile("file", "lejekontrakt.txt")
	fw.Write([]byte("Lejekontrakt for Søndergade 3"))
	mw.Close()
	resp, err := c1.Post(one.demo.UI+"/documents", mw.FormDataContentType(), &form)
	body(t, resp, err, http.StatusOK) // the inbox, after the redirect
	resp, err = c1.PostForm(one.demo.UI+"/settings/export", url.Values{})
	archive := body(t, resp, err, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/zip" {
		t.Fatalf("export: %s", ct)
	}
	path := filepath.Join(t.TempDir(), "anna.zip")
	if err := os.WriteFile(path, archive, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"verify", path}, &out); err != nil {
		t.Fatalf("verify: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`letters: (\d+), each with a good receipt`).FindStringSubmatch(out.String())
	if m == nil || m[1] == "0" || !strings.Contains(out.String(), "OK: the export verifies") {
		t.Fatalf("verify printed:\n%s", out.String())
	}
	letters := m[1]
	if !strings.Contains(out.String(), "own documents (archive/): 1,") {
		t.Fatalf("verify does not count the own document:\n%s", out.String())
	}
	added := strconv.Itoa(atoi(t, letters) + 1) // and the own document

	c2 := residentClient(t, two, anna)
	before := strings.Count(fetchPage(t, c2, two.demo.UI+"/"), "From another Postkasse")
	page := uploadExport(t, c2, two, archive)
	if !strings.Contains(page, added+" letters were added") {
		t.Fatalf("import of %s letters:\n%s", letters, page)
	}
	if n := strings.Count(fetchPage(t, c2, two.demo.UI+"/"), "From another Postkasse"); n-before != atoi(t, letters) {
		t.Errorf("%d letters from another Postkasse in the inbox, want %s", n-before, letters)
	}
	if inbox := fetchPage(t, c2, two.demo.UI+"/"); !strings.Contains(inbox, "Min egen kopi af lejekontrakten") || !strings.Contains(inbox, "Your own copy") {
		t.Errorf("the own document is not in the second appliance's inbox:\n%s", inbox)
	}
	if page := uploadExport(t, c2, two, archive); !strings.Contains(page, "0 letters were added") || !strings.Contains(page, added+" letters were already here") {
		t.Errorf("the second import:\n%s", page)
	}
	// The second appliance's export verifies too: the first appliance's
	// receipts with the first appliance's key.
	resp, err = c2.PostForm(two.demo.UI+"/settings/export", url.Values{})
	again := body(t, resp, err, http.StatusOK)
	path2 := filepath.Join(t.TempDir(), "anna-two.zip")
	os.WriteFile(path2, again, 0o600)
	out.Reset()
	if err := run([]string{"verify", path2}, &out); err != nil || !strings.Contains(out.String(), "letters imported there") {
		t.Fatalf("verify of the second export: %v\n%s", err, out.String())
	}

	// One changed byte in a document: verify fails and names the file.
	i := bytes.Index(archive, []byte("%PDF-"))
	if i < 0 {
		t.Fatal("no PDF stored in the archive")
	}
	bad := bytes.Clone(archive)
	bad[i+1] ^= 0x20
	badPath := filepath.Join(t.TempDir(), "changed.zip")
	os.WriteFile(badPath, bad, 0o600)
	err = run([]string{"verify", badPath}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "letters/") {
		t.Errorf("verify of a changed archive: %v", err)
	}
	one.stop()
	two.stop()
}

// fetchPage gets a page that must answer 200.
func fetchPage(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	return string(body(t, resp, err, http.StatusOK))
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}
