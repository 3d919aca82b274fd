package resident_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/cputime"
	"github.com/postkasse/postkasse/store"
)

// BenchmarkInboxUnderLoad is the mailbox's load command: a resident with
// 10,000 letters pages through the inbox over HTTP (the first page and
// the second, by turns) while a sender's bulk send of 100 KB letters runs
// through the API over mutual TLS, 16 at once, to another resident. It
// reports, from one run, the pages' latencies alone (the baseline) and
// under the bulk send, their ratio, and the bulk send's rate:
//
//	go test ./httpui/resident -run '^$' -bench InboxUnderLoad -benchtime 400x
//
// A page's time is measured at the client on loopback, so it bounds the
// server's time from above. b.N is the number of pages in each phase.
// server-*-ms are the same pages' times in the server's handler, what
// the goal (p99 ≤ 20 ms under the bulk send) is about.
// quiet-cpu-us/page is the process's CPU time per page alone (the
// client's share included), which other work on a shared machine does
// not inflate as it does the latencies.
func BenchmarkInboxUnderLoad(b *testing.B) {
	// The server's time for each page, from its handler (taken only
	// while measuring: the pages are the only GETs of the resident's).
	var server serverTimes
	e := apptest.NewEnv(b, apptest.Options{APIRate: 1e6, APIBurst: 1 << 20, Observe: server.observe})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	seed(b, e, s.ID, uitest.NIDAnna, 10000)
	browser := e.Browser()
	e.Login(browser, e.HTTPURL, uitest.NIDAnna)
	pages := []string{e.HTTPURL + "/"}
	// The resident has seen every page once (each letter's listing is
	// sealed at its first listing, as in store's BenchmarkInboxPage).
	for next := e.HTTPURL + "/"; next != ""; {
		r := e.Get(browser, next)
		if r.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", next, r.StatusCode)
		}
		if next = nextPage(r.Text); next != "" {
			next = e.HTTPURL + next
			if len(pages) == 1 {
				pages = append(pages, next)
			}
		}
	}
	measure := func() []time.Duration {
		out := make([]time.Duration, 0, b.N)
		for i := range b.N {
			t0 := time.Now()
			r := e.Get(browser, pages[i%len(pages)])
			out = append(out, time.Since(t0))
			if r.StatusCode != http.StatusOK {
				b.Fatalf("page: %d", r.StatusCode)
			}
		}
		slices.Sort(out)
		return out
	}
	b.ResetTimer()
	cpu0, cpuOK := cputime.Process()
	server.start()
	quiet := measure()
	serverQuiet := server.stop()
	cpu1, _ := cputime.Process()

	// The bulk send, until the pages are measured.
	doc := make([]byte, 100<<10)
	copy(doc, uitest.PDFDoc)
	var delivered atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				msg := uitest.LetterMessage(uitest.NIDBjorn, "Varsel om vandafbrydelse", fmt.Sprintf("bulk-%d-%d", w, i))
				r := e.Deliver(s.Client, uitest.MessagePart(msg), uitest.DocumentPart("varsel.pdf", "application/pdf", doc))
				if r.StatusCode != http.StatusCreated {
					b.Errorf("bulk delivery: %d %s", r.StatusCode, r.Text)
					return
				}
				delivered.Add(1)
			}
		})
	}
	t0 := time.Now()
	server.start()
	loaded := measure()
	serverLoaded := server.stop()
	elapsed := time.Since(t0)
	close(stop)
	wg.Wait()
	b.StopTimer()

	p := func(d []time.Duration, q float64) float64 {
		return float64(d[min(len(d)-1, int(q*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(p(quiet, 0.5), "quiet-p50-ms")
	b.ReportMetric(p(quiet, 0.99), "quiet-p99-ms")
	b.ReportMetric(p(loaded, 0.5), "load-p50-ms")
	b.ReportMetric(p(loaded, 0.99), "load-p99-ms")
	b.ReportMetric(p(loaded, 0.99)/p(quiet, 0.99), "p99-ratio")
	b.ReportMetric(p(serverQuiet, 0.5), "server-quiet-p50-ms")
	b.ReportMetric(p(serverQuiet, 0.99), "server-quiet-p99-ms")
	b.ReportMetric(p(serverLoaded, 0.5), "server-load-p50-ms")
	b.ReportMetric(p(serverLoaded, 0.99), "server-load-p99-ms")
	b.ReportMetric(float64(delivered.Load())/elapsed.Seconds(), "letters/s")
	if cpuOK {
		// The page's own CPU time, client and server (the process's,
		// alone): unlike the latencies, not inflated by other work on
		// the machine.
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "quiet-cpu-us/page")
	}
	b.ReportMetric(0, "ns/op")
}

// serverTimes collects the server's time for the resident's pages (GETs)
// between start and stop.
type serverTimes struct {
	mu  sync.Mutex
	on  bool
	got []time.Duration
}

func (s *serverTimes) observe(r *http.Request, d time.Duration) {
	if r.Method != http.MethodGet {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.on {
		s.got = append(s.got, d)
	}
}

func (s *serverTimes) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.on, s.got = true, nil
}

// stop ends the collection and returns the times, sorted.
func (s *serverTimes) stop() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.on = false
	slices.Sort(s.got)
	return s.got
}

// seed delivers n small letters to the resident nid from the sender, 32
// at once, through the store (the mailbox as it stands when the test
// starts).
func seed(b *testing.B, e *uitest.Env, senderID, nid string, n int) {
	number, err := store.ParseNationalID(nid)
	if err != nil {
		b.Fatal(err)
	}
	testsupport.Concurrently(b, n, 32, func(_, i int) error {
		_, err := e.Store.Deliver(context.Background(), senderID, store.Delivery{Recipient: number,
			Subject: fmt.Sprintf("Brev %d", i), SenderReference: fmt.Sprintf("seed-%d", i), Type: store.TypeLetter,
			Documents: []store.DocumentInput{{Name: "brev.txt", ContentType: "text/plain", Content: []byte("Kære borger")}}})
		return err
	})
}
