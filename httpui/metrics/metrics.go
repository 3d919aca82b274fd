// Package metrics owns the appliance's Prometheus metrics
// (github.com/prometheus/client_golang) and the operator's endpoints that
// serve them: /metrics in the Prometheus text format, /readyz (the store
// answers and can write, the certificate is loaded) and /healthz, on a
// listener of their own (server.metrics_listen), never on the public one.
//
// Requests are counted and timed by route name and status code (the
// middleware of package httpui reports them with ObserveRequest), so a
// delivery's outcome is its route and code: api-deliver 201 is a letter
// delivered, 200 a repeat, 4xx a refusal, 503 the store unavailable. The
// rest is read from the store when scraped: group commits and the letters
// they stored, the outbox by state, the jobs' last runs, the audit log's
// size and the database file's size. No label ever holds a national
// identity number, a name, a subject or an id: route names and codes are
// the package's own constants.
package metrics

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/postkasse/postkasse/store"
)

// Metrics is the registry and the request counters. Its methods are safe
// for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	st       *store.Store
	// Ready reports whether the certificate the HTTPS listener needs is
	// loaded (nil: always).
	Ready func() error
}

// New makes the metrics of an appliance on st.
func New(st *store.Store) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		st:  st,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postkasse_http_requests_total",
			Help: "HTTP requests answered, by route name, method and status code (api-deliver 201: a letter delivered).",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "postkasse_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route name (pages and deliveries alike).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	m.reg.MustRegister(m.requests, m.duration, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &storeCollector{st: st})
	return m
}

// ObserveRequest counts and times an answered request.
func (m *Metrics) ObserveRequest(route, method string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// Handler serves /metrics, /readyz and /healthz.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := m.st.Ping(ctx); err != nil {
			http.Error(w, "not ready: the store: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		if m.Ready != nil {
			if err := m.Ready(); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		w.Write([]byte("ready\n"))
	})
	return mux
}

// storeCollector reads the store's figures when scraped.
type storeCollector struct{ st *store.Store }

var (
	descCommits   = prometheus.NewDesc("postkasse_group_commits_total", "Group commits of deliveries since the process started.", nil, nil)
	descCommitted = prometheus.NewDesc("postkasse_committed_letters_total", "Letters stored by group commits since the process started (divided by the commits: the mean batch size).", nil, nil)
	descOutbox    = prometheus.NewDesc("postkasse_outbox_notifications", "Notifications in the outbox, by state.", []string{"state"}, nil)
	descJobLast   = prometheus.NewDesc("postkasse_job_last_run_timestamp_seconds", "When a job last started, by job and outcome of that run.", []string{"job", "outcome"}, nil)
	descAudit     = prometheus.NewDesc("postkasse_audit_log_entries", "Entries in the tamper-evident audit log.", nil, nil)
	descDBBytes   = prometheus.NewDesc("postkasse_database_bytes", "Size of the embedded engine's database file.", nil, nil)
	descUp        = prometheus.NewDesc("postkasse_store_up", "1 when the store answered the scrape's reads, else 0.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCommits, descCommitted, descOutbox, descJobLast, descAudit, descDBBytes, descUp} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	commits, letters := c.st.CommitCounts()
	ch <- prometheus.MustNewConstMetric(descCommits, prometheus.CounterValue, float64(commits))
	ch <- prometheus.MustNewConstMetric(descCommitted, prometheus.CounterValue, float64(letters))
	up := 1.0
	if counts, err := c.st.OutboxCounts(ctx); err == nil {
		for state, n := range counts {
			ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(n), string(state))
		}
	} else {
		up = 0
	}
	if runs, err := c.st.JobRuns(ctx); err == nil {
		for _, r := range runs {
			ch <- prometheus.MustNewConstMetric(descJobLast, prometheus.GaugeValue, float64(r.Started.Unix()), r.Job, string(r.Outcome))
		}
	} else {
		up = 0
	}
	if n, err := c.st.AuditSize(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(descAudit, prometheus.GaugeValue, float64(n))
	} else {
		up = 0
	}
	if p := c.st.Path(); p != "" {
		if fi, err := os.Stat(p); err == nil {
			ch <- prometheus.MustNewConstMetric(descDBBytes, prometheus.GaugeValue, float64(fi.Size()))
		}
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
}
