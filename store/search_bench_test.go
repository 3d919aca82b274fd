package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postkasse/postkasse/internal/testsupport/cputime"
	"github.com/postkasse/postkasse/store/storage"
)

// benchVocabulary returns n made-up words of Danish and Norwegian shape
// (with æ, ø and å), so that a mailbox has a vocabulary of realistic size.
func benchVocabulary(n int) []string {
	onsets := []string{"b", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "sk", "st", "kr", "br", "fr", "bl", "sj"}
	vowels := []string{"a", "e", "i", "o", "u", "y", "æ", "ø", "å", "ei", "au"}
	codas := []string{"", "n", "r", "s", "t", "ld", "ng", "nd", "st", "rk", "ls"}
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		var b strings.Builder
		for range 1 + r.IntN(3) {
			b.WriteString(onsets[r.IntN(len(onsets))] + vowels[r.IntN(len(vowels))] + codas[r.IntN(len(codas))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// benchText returns n words of the vocabulary, the common ones often
// (Zipf), with a case number now and then.
func benchText(r *rand.Rand, z *rand.Zipf, vocab []string, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		if r.IntN(40) == 0 {
			fmt.Fprintf(&b, "%d-%05d", 2020+r.IntN(7), r.IntN(100000))
			continue
		}
		b.WriteString(vocab[z.Uint64()])
	}
	return b.String()
}

// BenchmarkSearch measures search in a mailbox of 10,000 letters (a
// subject of 6 words, a body of 80 and a text document of 150, from a
// vocabulary of 5,000 words): building the index from nothing (once); the
// first search of a session after sign-in, which opens the stored index
// and adds the 100 letters delivered since (3 sign-ins); and later
// searches of the session (b.N, four queries in turn: a common word, a
// rare one, a two-letter prefix, two words with the unread filter). It
// reports the sealed index's size against the text it covers, and the
// CPU time of the searches beside their wall time.
//
//	go test ./store -run '^$' -bench Search -benchtime 40x
func BenchmarkSearch(b *testing.B) {
	// Letters come an hour apart (10,000 over 14 months), as in a
	// mailbox that has been used for a while.
	clock := newFakeClock()
	s, err := Open(filepath.Join(b.TempDir(), "postkasse.db"), Options{KDF: cheapKDF, Clock: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.searchPerSearch = 1 << 20 // build the whole index in one search
	nid := testNID(b, 1)
	mustResident(b, s, nid, "Bench Resident")
	snd := mustSender(b, s, "Bench Kommune", "12345674", SenderPublic)
	vocab := benchVocabulary(5000)
	var textBytes atomic.Int64
	deliver := func(from, to int) {
		var next atomic.Int64
		next.Store(int64(from))
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(to) {
						return
					}
					r := rand.New(rand.NewPCG(uint64(i), 7))
					z := rand.NewZipf(r, 1.1, 1, uint64(len(vocab)-1))
					subject, body, doc := benchText(r, z, vocab, 6), benchText(r, z, vocab, 80), benchText(r, z, vocab, 150)
					name := fmt.Sprintf("bilag-%d.txt", i)
					textBytes.Add(int64(len(subject) + len(body) + len(doc) + len(name) + len("Bench Kommune")))
					d := Delivery{Recipient: nid, Subject: subject, Body: body, SenderReference: fmt.Sprintf("ref-%d", i),
						Documents: []DocumentInput{{Name: name, ContentType: "text/plain", Content: []byte(doc)}}}
					if _, err := s.Deliver(context.Background(), snd.ID, d); err != nil {
						b.Error(err)
						return
					}
					clock.Advance(time.Hour)
				}
			})
		}
		wg.Wait()
	}
	const letters = 10000
	deliver(0, letters)
	ctx := context.Background()
	common, rare := vocab[0], vocab[2000]
	search := func(mb *Mailbox, q SearchQuery) SearchResult {
		q.Limit = 20
		res, err := mb.Search(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		return res
	}

	mb := mustLogin(b, s, nid, testPassword)
	t0 := time.Now()
	if res := search(mb, SearchQuery{Text: common}); len(res.Hits) != 20 || res.Pending != 0 {
		b.Fatalf("first search: %d hits, %d pending", len(res.Hits), res.Pending)
	}
	build := time.Since(t0)
	mb.Close()

	// First searches after sign-in, each with 100 letters new since.
	var first, firstCPU time.Duration
	const signIns = 3
	delivered := letters
	for range signIns {
		deliver(delivered, delivered+100)
		delivered += 100
		mb := mustLogin(b, s, nid, testPassword)
		cpu0, _ := cputime.Process()
		t0 := time.Now()
		search(mb, SearchQuery{Text: rare})
		first += time.Since(t0)
		cpu1, _ := cputime.Process()
		firstCPU += cpu1 - cpu0
		mb.Close()
	}
	first /= signIns
	firstCPU /= signIns

	mb = mustLogin(b, s, nid, testPassword)
	defer mb.Close()
	search(mb, SearchQuery{Text: common})
	queries := []SearchQuery{{Text: common}, {Text: rare}, {Text: vocab[1][:2]}, {Text: common + " " + vocab[3], Unread: true}}
	b.ResetTimer()
	cpu0, cpuOK := cputime.Process()
	t0 = time.Now()
	for i := range b.N {
		search(mb, queries[i%len(queries)])
	}
	later := time.Since(t0) / time.Duration(b.N)
	cpu1, _ := cputime.Process()
	b.StopTimer()

	var sealed int
	if err := s.view(ctx, func(tx storage.Tx) error {
		ix, err := tx.SearchIndexes().Get(mb.resident.ID)
		sealed = len(ix.Sealed)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(build.Seconds(), "build-s")
	b.ReportMetric(float64(first.Microseconds())/1000, "first-search-ms")
	b.ReportMetric(float64(later.Microseconds())/1000, "later-search-ms")
	if cpuOK {
		// The process's CPU time (all threads, the GC's too): on a
		// machine shared with other work, the wall times above include
		// waiting for a CPU.
		b.ReportMetric(float64(firstCPU.Microseconds())/1000, "first-search-cpu-ms")
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/1000/float64(b.N), "later-search-cpu-ms")
	}
	b.ReportMetric(float64(sealed)/(1<<20), "index-MiB")
	b.ReportMetric(float64(textBytes.Load())/(1<<20), "text-MiB")
	b.ReportMetric(float64(sealed)/float64(textBytes.Load()), "index/text")
}
