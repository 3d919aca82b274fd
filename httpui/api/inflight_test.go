package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// pdfStream is a document of size bytes made up as it is read: "%PDF-1.4"
// and then bytes of a ChaCha8 stream from seed, so that a test can send
// many large letters without holding them, and make each again to check
// what was stored.
type pdfStream struct {
	head []byte
	rng  *rand.ChaCha8
	left int
}

func newPDFStream(seed uint64, size int) *pdfStream {
	var s [32]byte
	copy(s[:], strconv.FormatUint(seed, 10))
	return &pdfStream{head: []byte("%PDF-1.4\n"), rng: rand.NewChaCha8(s), left: size}
}

func (p *pdfStream) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	b = b[:min(len(b), p.left)]
	n := copy(b, p.head)
	p.head = p.head[n:]
	if n < len(b) {
		p.rng.Read(b[n:])
		n = len(b)
	}
	p.left -= n
	return n, nil
}

// streamedLetter is the multipart body of a delivery whose documents are
// pdfStreams (seed*10+i), with its length, made as it is read.
func streamedLetter(nid, ref string, seed uint64, docs []int) (body io.Reader, length int64, contentType string) {
	var framing bytes.Buffer
	mw := multipart.NewWriter(&framing)
	msg, _ := json.Marshal(map[string]any{"recipient": map[string]string{"nationalId": nid}, "subject": "Large letter " + ref, "senderReference": ref})
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="message"`)
	h.Set("Content-Type", "application/json")
	w, _ := mw.CreatePart(h)
	w.Write(msg)
	var readers []io.Reader
	for i, size := range docs {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="document"; filename="part-%d.pdf"`, i))
		h.Set("Content-Type", "application/pdf")
		mw.CreatePart(h)
		readers = append(readers, bytes.NewReader(bytes.Clone(framing.Bytes())), newPDFStream(seed*10+uint64(i), size))
		length += int64(framing.Len() + size)
		framing.Reset()
	}
	mw.Close()
	readers = append(readers, bytes.NewReader(framing.Bytes()))
	length += int64(framing.Len())
	return io.MultiReader(readers...), length, mw.FormDataContentType()
}

// peakRSS is this process's peak resident set (VmHWM) in bytes since
// start or the last resetPeakRSS.
func peakRSS(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("the test measures memory in /proc/self/status (Linux): %v", err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// resetPeakRSS frees what the process holds and starts VmHWM again from
// the resident set now (proc(5), /proc/pid/clear_refs: 5).
func resetPeakRSS(t *testing.T) {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak resident set: %v", err)
	}
}

// TestBytesInFlightBoundsMemory: 40 letters of 24 MiB delivered at once
// to a server with the default bytes in flight (128 MiB) and the memory
// limit `postkasse serve` sets from it: each is answered 201 or 503
// UNAVAILABLE with Retry-After, the process's peak resident set stays
// under 512 MiB (not asserted under the race detector, whose shadow
// memory is several times the program's), and every letter answered 201
// is stored whole. Not parallel: it measures the process.
func TestBytesInFlightBoundsMemory(t *testing.T) {
	const (
		letters  = 40
		mib      = 1 << 20
		maxPeak  = 512 * mib
		nid      = "1203861234"
		inFlight = httpui.DefaultBytesInFlight
	)
	docs := []int{10 * mib, 10 * mib, 4 * mib} // 24 MiB, under the default limits
	e := apptest.NewEnv(t, apptest.Options{APIRate: 1e6, APIBurst: 1 << 20})
	e.AddResident(nid, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	s.Client.Transport.(*http.Transport).MaxIdleConnsPerHost = letters
	// No time limit on the client: under the race detector, on a machine
	// busy with the other packages' tests, a 24 MiB letter took more than
	// the client's usual 30 s (CI, 2026-12-03); how long a letter takes is
	// the machine's, not the server's. A hang ends at go test's -timeout.
	client := *s.Client
	client.Timeout = 0

	old := debug.SetMemoryLimit(3*inFlight + 64*mib) // as postkasse serve does
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	resetPeakRSS(t)
	base := peakRSS(t)

	type answer struct {
		status     int
		code       string
		retryAfter string
		id         string
	}
	answers := make([]answer, letters)
	var wg sync.WaitGroup
	for i := range letters {
		wg.Go(func() {
			body, length, ct := streamedLetter(nid, fmt.Sprintf("large-%d", i), uint64(i), docs)
			req, err := http.NewRequest(http.MethodPost, e.HTTPSURL+"/api/v1/messages", body)
			if err != nil {
				t.Error(err)
				return
			}
			req.ContentLength = length
			req.Header.Set("Content-Type", ct)
			resp, err := client.Do(req)
			if err != nil {
				t.Errorf("letter %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			var out struct{ ID, Code string }
			json.NewDecoder(resp.Body).Decode(&out)
			answers[i] = answer{resp.StatusCode, out.Code, resp.Header.Get("Retry-After"), out.ID}
		})
	}
	wg.Wait()
	peak := peakRSS(t)
	t.Logf("peak resident set %d MiB (%d MiB before)", peak/mib, base/mib)
	if peak >= maxPeak && !raceDetector {
		t.Errorf("peak resident set %d MiB, want under %d MiB", peak/mib, maxPeak/mib)
	}

	mb, err := e.Store.Login(context.Background(), nid, uitest.Password)
	if err != nil {
		t.Fatal(err)
	}
	mailbox, err := e.Store.OpenSession(context.Background(), mb.Token)
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for i, a := range answers {
		switch a.status {
		case http.StatusCreated:
			stored++
			for j, size := range docs {
				doc, err := mailbox.Document(context.Background(), a.id, j)
				if err != nil {
					t.Fatalf("letter %d document %d: %v", i, j, err)
				}
				want := sha256.New()
				io.Copy(want, newPDFStream(uint64(i)*10+uint64(j), size))
				if got := sha256.Sum256(doc.Content); len(doc.Content) != size || !bytes.Equal(got[:], want.Sum(nil)) {
					t.Errorf("letter %d document %d: %d bytes stored, not the %d sent", i, j, len(doc.Content), size)
				}
			}
		case http.StatusServiceUnavailable:
			if a.code != "UNAVAILABLE" || a.retryAfter == "" {
				t.Errorf("letter %d: 503 %q with Retry-After %q", i, a.code, a.retryAfter)
			}
		default:
			t.Errorf("letter %d: %d %s, want 201 or 503", i, a.status, a.code)
		}
	}
	if stored == 0 {
		t.Error("no letter was stored")
	}
	if n := e.Deliveries(); n != stored {
		t.Errorf("%d letters stored, %d answered 201", n, stored)
	}
	t.Logf("%d of %d letters stored, the rest refused", stored, letters)
}

// TestBytesInFlightRefuses: a delivery over the server's bytes in flight
// is 503 UNAVAILABLE with Retry-After and stores nothing, whether it
// declares its length (refused before it is read) or not (refused when
// the next chunk does not fit); the bytes of every delivery, refused or
// stored, are free again after its answer.
func TestBytesInFlightRefuses(t *testing.T) {
	t.Parallel()
	const (
		mib = 1 << 20
		nid = "1203861234"
	)
	e := apptest.NewEnv(t, apptest.Options{BytesInFlight: 2 * mib})
	e.AddResident(nid, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	send := func(ref string, size int, declared bool) *uitest.Response {
		t.Helper()
		body, length, ct := streamedLetter(nid, ref, 1, []int{size})
		req, err := http.NewRequest(http.MethodPost, e.HTTPSURL+"/api/v1/messages", io.NopCloser(body))
		if err != nil {
			t.Fatal(err)
		}
		if declared {
			req.ContentLength = length
		}
		req.Header.Set("Content-Type", ct)
		return e.Do(s.Client, req)
	}
	for _, declared := range []bool{true, false} {
		r := send(fmt.Sprintf("too-large-%v", declared), 3*mib, declared)
		uitest.WantProblem(t, r, http.StatusServiceUnavailable, "UNAVAILABLE")
		if r.Header.Get("Retry-After") != "5" {
			t.Errorf("declared %v: Retry-After %q", declared, r.Header.Get("Retry-After"))
		}
		if n := e.Deliveries(); n != 0 {
			t.Fatalf("declared %v: %d letters stored of a refused delivery", declared, n)
		}
	}
	// A MeMo message is held to the same bound before it is parsed.
	memo := "<Message>" + strings.Repeat(" ", 3*mib) + "</Message>"
	req, err := http.NewRequest(http.MethodPost, e.HTTPSURL+"/api/v1/memo", strings.NewReader(memo))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/xml")
	uitest.WantProblem(t, e.Do(s.Client, req), http.StatusServiceUnavailable, "UNAVAILABLE")
	if n := e.Deliveries(); n != 0 {
		t.Fatalf("%d letters stored of a refused MeMo message", n)
	}
	for i, declared := range []bool{true, false, true, false} {
		if r := send(fmt.Sprintf("fits-%d", i), mib, declared); r.StatusCode != http.StatusCreated {
			t.Fatalf("letter %d of 1 MiB (declared %v): %d %s", i, declared, r.StatusCode, r.Body)
		}
	}
}

// TestStalledBodyRefused: a delivery whose body stops sending is answered
// 400 once it has sent nothing for the stall time, and its connection is
// closed, so a slow client holds nothing for the whole read time-out; its
// bytes in flight are free again. Real TLS on a real socket.
func TestStalledBodyRefused(t *testing.T) {
	t.Parallel()
	const (
		nid   = "1203861234"
		stall = 300 * time.Millisecond
	)
	e := apptest.NewEnv(t, apptest.Options{BodyStall: stall, BytesInFlight: 2 << 20})
	e.AddResident(nid, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	u, err := url.Parse(e.HTTPSURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", u.Host, s.Client.Transport.(*http.Transport).TLSClientConfig.Clone())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body, length, ct := streamedLetter(nid, "stalled", 1, []int{1 << 20})
	start := time.Now()
	fmt.Fprintf(conn, "POST /api/v1/messages HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", u.Host, ct, length)
	if _, err := io.CopyN(conn, body, length/2); err != nil { // half, then nothing
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	problem, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(problem), "sent nothing for") {
		t.Errorf("stalled body: %d %s", resp.StatusCode, problem)
	}
	if took := time.Since(start); took < stall {
		t.Errorf("answered after %v, before the stall time", took)
	}
	if !resp.Close {
		t.Error("the connection of a stalled body is kept open")
	}
	if n := e.Deliveries(); n != 0 {
		t.Errorf("%d letters stored of a stalled delivery", n)
	}
	// Its bytes are free: a letter of the whole bound is taken.
	full, length, ct := streamedLetter(nid, "after-stall", 2, []int{(2 << 20) - 1024})
	req, err := http.NewRequest(http.MethodPost, e.HTTPSURL+"/api/v1/messages", full)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", ct)
	if r := e.Do(s.Client, req); r.StatusCode != http.StatusCreated {
		t.Fatalf("a letter after the stalled one: %d %s", r.StatusCode, r.Body)
	}
}
