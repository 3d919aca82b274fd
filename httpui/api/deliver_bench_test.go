package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/teststore"
	"github.com/postkasse/postkasse/store"
)

// BenchmarkDeliverAPI measures deliveries through the sender API: the
// multipart request over real mutual TLS on loopback, parsed by httpui,
// then Store.Deliver with its fsync before the 201. Like BenchmarkDeliver
// it reports the rate as a ratio to the fsync baseline measured in the same
// run (the same bytes appended to a plain file, fsync every letter for one
// sender, every 32 for 32).
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

func startAPIBench(b *testing.B, senders int) *apiBench {
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

// deliver sends one letter with content as its PDF document.
func (a *apiBench) deliver(ref string, content []byte) error {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	msg, err := json.Marshal(map[string]any{
		"recipient": map[string]string{"nationalId": a.recipient}, "subject": "Benchmark letter",
		"senderReference": ref, "type": "letter",
	})
	if err != nil {
		return err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="message"`)
	h.Set("Content-Type", "application/json")
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	w.Write(msg)
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="document"; filename="letter.pdf"`)
	h.Set("Content-Type", "application/pdf")
	if w, err = mw.CreatePart(h); err != nil {
		return err
	}
	w.Write(content)
	mw.Close()
	resp, err := a.client.Post(a.url, mw.FormDataContentType(), &body)
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

	api := startAPIBench(b, senders)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(size))
	b.ResetTimer()
	t0 := time.Now()
	for g := range senders {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := api.deliver(fmt.Sprintf("bench-%d-%d", g, i), content); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	baseline += testsupport.FsyncBaseline(b, baseFile, b.N-b.N/2, perLetter, syncEvery)

	rate := float64(b.N) / elapsed.Seconds()
	baseRate := float64(b.N) / baseline.Seconds()
	b.ReportMetric(rate, "letters/s")
	b.ReportMetric(baseRate, "baseline-letters/s")
	b.ReportMetric(rate/baseRate, "ratio")
}
