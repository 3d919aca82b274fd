package memo

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
)

// BenchmarkParse measures Parse on the minimum message with a main
// document of 2 KB, 1 MB and 8 MB (random bytes, base64 in lines of 76),
// and, interleaved with it in the same loop, a baseline: reading every
// token of the same input with a bare encoding/xml Decoder, which any
// reader built on encoding/xml must do. It reports both rates and their
// ratio (parse-MB/s ÷ baseline-MB/s), the figure that does not depend on
// the machine, and the bytes Parse allocates per byte of input (which
// bounds the memory a MeMo request takes); ns/op and B/op are the two
// together.
//
//	go test ./httpui/memo -run '^$' -bench Parse -benchtime 20x -count 3
func BenchmarkParse(b *testing.B) {
	minimum := testdata(b, "minimum-1.1.xml")
	i, j := strings.Index(minimum, "<memo:content>")+len("<memo:content>"), strings.Index(minimum, "</memo:content>")
	for _, size := range []struct {
		name  string
		bytes int
	}{{"2KB", 2 << 10}, {"1MB", 1 << 20}, {"8MB", 8 << 20}} {
		b.Run("document="+size.name, func(b *testing.B) {
			doc := make([]byte, size.bytes)
			rng := rand.New(rand.NewPCG(1, uint64(size.bytes)))
			for k := range doc {
				doc[k] = byte(rng.Uint32())
			}
			enc := base64.StdEncoding.EncodeToString(doc)
			var lines strings.Builder
			for k := 0; k < len(enc); k += 76 {
				lines.WriteString("\n\t\t\t\t")
				lines.WriteString(enc[k:min(len(enc), k+76)])
			}
			in := []byte(minimum[:i] + lines.String() + "\n\t\t\t\t" + minimum[j:])
			limits := Limits{MaxSize: int64(len(in)), MaxDocumentSize: int64(size.bytes)}
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			var parse, baseline time.Duration
			var allocated uint64
			var mem runtime.MemStats
			for range b.N {
				t0 := time.Now()
				dec := xml.NewDecoder(bytes.NewReader(in))
				for {
					if _, err := dec.Token(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
				runtime.ReadMemStats(&mem)
				before := mem.TotalAlloc
				t1 := time.Now()
				m, err := Parse(bytes.NewReader(in), limits)
				t2 := time.Now()
				if err != nil || len(m.Documents[0].Content) != size.bytes {
					b.Fatalf("Parse: %v", err)
				}
				runtime.ReadMemStats(&mem)
				allocated += mem.TotalAlloc - before
				parse += t2.Sub(t1)
				baseline += t1.Sub(t0)
			}
			mb := float64(len(in)) * float64(b.N) / 1e6
			b.ReportMetric(mb/parse.Seconds(), "parse-MB/s")
			b.ReportMetric(mb/baseline.Seconds(), "baseline-MB/s")
			b.ReportMetric(baseline.Seconds()/parse.Seconds(), "ratio")
			b.ReportMetric(float64(allocated)/float64(b.N)/float64(len(in)), "parse-alloc/input-byte")
		})
	}
}
