package api_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/cputime"
	"github.com/postkasse/postkasse/internal/testsupport/teststore"
	"github.com/postkasse/postkasse/store"
)

// BenchmarkDeliverAPI measures deliveries through the sender API: the
// multipart request over real mutual TLS on loopback, parsed by httpui,
// then Store.Deliver with its fsync before the 201. Like BenchmarkDeliver
// it reports the rate as a ratio to the fsync baseline measured in the same
// run (the same bytes appended to a plain file, fsync every letter for one
// sender, every 32 for 32), and as a ratio to the store path in the same
// run (store-ratio: the same letters given to Store.Deliver directly, from
// as many goroutines), which tells what the HTTP layer costs. cpu-us/letter
// is the client's and the server's CPU together: they share the machine.
//
//	go test ./httpui/api -run '^$' -bench DeliverAPI -benchtime 400x -count 3
func BenchmarkDeliverAPI(b *testing.B) { testsupport.DeliveryBenchCases(b, benchDeliverAPI) }

// apiBench is a running API with one resident and one sender whose
// client holds a certificate from the sender CA.
type apiBench struct {
	url       string
	client    *http.Client
	recipient string
}

// benchStore opens a store with the benchmark's one resident and one
// sender.
func benchStore(b *testing.B) (*store.Store, store.NationalID, store.Sender) {
	st := teststore.Open(b, store.Options{})
	nid, err := store.ParseNationalID(testsupport.NationalID(1))
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := st.AddResident(context.Background(), nid, "Bench Resident", "bench-password-1"); err != nil {
		b.Fatal(err)
	}
	sender, err := st.AddSender(context.Background(), "Bench Sender", "12345674", store.SenderPublic)
	if err != nil {
		b.Fatal(err)
	}
	return st, nid, sender
}

func startAPIBench(b *testing.B, senders int) *apiBench {
	st, nid, sender := benchStore(b)
	now := time.Now()
	ca := testsupport.NewCA(b)
	certPEM, keyPEM, cert, err := ca.IssueClient(rand.Reader, "Bench Sender", "12345674", now, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.BindCertificate(context.Background(), sender.ID, cert); err != nil {
		b.Fatal(err)
	}
	clientCert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		b.Fatal(err)
	}
	serverCert, err := ca.IssueServer(rand.Reader, []string{"127.0.0.1"}, now, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	// No rate limit: the benchmark measures the delivery path, not the
	// limiter.
	ui, err := httpui.New(httpui.Config{Store: st, APIRate: 1e9, APIBurst: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	tlsConfig := httpui.TLSConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &serverCert, nil }, ca.Pool())
	srv := &http.Server{Handler: ui.Handler()}
	go srv.Serve(tls.NewListener(ln, tlsConfig))
	b.Cleanup(func() { srv.Close() })
	return &apiBench{
		url:       "https://" + ln.Addr().String() + "/api/v1/messages",
		recipient: nid.String(),
		client: &http.Client{Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{Certificates: []tls.Certificate{clientCert}, RootCAs: ca.Pool()},
			MaxIdleConnsPerHost: senders,
		}},
	}
}

// deliver sends one letter with content as its PDF document. The body is
// streamed from the message part, content and the closing boundary, as a
// sender's system that sends files from disk would, so the client's share
// of the two CPUs is the request and TLS, not copying the document into a
// new buffer for each letter.
func (a *apiBench) deliver(ref string, content []byte) error {
	msg, err := json.Marshal(map[string]any{
		"recipient": map[string]string{"nationalId": a.recipient}, "subject": "Benchmark letter",
		"senderReference": ref, "type": "letter",
	})
	if err != nil {
		return err
	}
	const boundary = "postkasse-bench-boundary"
	head := "--" + boundary + "\r\n" +
		"Content-Disposition: form-data; name=\"message\"\r\nContent-Type: application/json\r\n\r\n" +
		string(msg) + "\r\n--" + boundary + "\r\n" +
		"Content-Disposition: form-data; name=\"document\"; filename=\"letter.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
	tail := "\r\n--" + boundary + "--\r\n"
	// net.Buffers writes its slices as they are (io.MultiReader's WriteTo
	// allocates a 32 KiB buffer a request).
	body := &net.Buffers{[]byte(head), content, []byte(tail)}
	req, err := http.NewRequest(http.MethodPost, a.url, body)
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(head) + len(content) + len(tail))
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("delivery %s: %s: %s", ref, resp.Status, answer)
	}
	return nil
}

func benchDeliverAPI(b *testing.B, size, senders int) {
	content := make([]byte, size)
	copy(content, "%PDF-1.4\n")
	if _, err := rand.Read(content[9:]); err != nil {
		b.Fatal(err)
	}
	perLetter := crypto.SealedDocumentSize(size) + testsupport.BenchRecordOverhead
	syncEvery := 1
	if senders > 1 {
		syncEvery = senders
	}
	baseFile := filepath.Join(b.TempDir(), "baseline")
	baseline := testsupport.FsyncBaseline(b, baseFile, b.N/2, perLetter, syncEvery)

	// The store path: the same letters given to Store.Deliver of a second
	// store directly, half before the API and half after, as the baseline.
	direct, nid, sender := benchStore(b)
	viaStore := func(n int) time.Duration {
		return testsupport.Concurrently(b, n, senders, func(g, i int) error {
			_, err := direct.Deliver(context.Background(), sender.ID, store.Delivery{
				Recipient: nid, Subject: "Benchmark letter", SenderReference: fmt.Sprintf("store-%d-%d", g, i),
				Documents: []store.DocumentInput{{Name: "letter.pdf", ContentType: "application/pdf", Content: content}},
			})
			return err
		})
	}
	storeTime := viaStore(b.N / 2)

	api := startAPIBench(b, senders)
	b.SetBytes(int64(size))
	b.ResetTimer()
	cpu0, cpuOK := cputime.Process()
	elapsed := testsupport.Concurrently(b, b.N, senders, func(g, i int) error {
		return api.deliver(fmt.Sprintf("bench-%d-%d", g, i), content)
	})
	cpu1, _ := cputime.Process()
	b.StopTimer()
	storeTime += viaStore(b.N - b.N/2)
	baseline += testsupport.FsyncBaseline(b, baseFile, b.N-b.N/2, perLetter, syncEvery)

	rate := float64(b.N) / elapsed.Seconds()
	baseRate := float64(b.N) / baseline.Seconds()
	storeRate := float64(b.N) / storeTime.Seconds()
	b.ReportMetric(rate, "letters/s")
	b.ReportMetric(baseRate, "baseline-letters/s")
	b.ReportMetric(rate/baseRate, "ratio")
	b.ReportMetric(storeRate, "store-letters/s")
	b.ReportMetric(rate/storeRate, "store-ratio")
	if cpuOK {
		// Client and server share the process: this is both sides' CPU.
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu-us/letter")
	}
}
