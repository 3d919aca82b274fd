package main

import (
	"context"
	cryptorand "crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/control"
	"github.com/postkasse/postkasse/jobs"
	"github.com/postkasse/postkasse/store"
)

// demoFile is DIR/demo.json as API.md specifies it. Paths are absolute.
type demoFile struct {
	UI        string         `json:"ui"`
	API       string         `json:"api"`
	CACert    string         `json:"caCert"`
	Residents []demoResident `json:"residents"`
	Senders   []demoSender   `json:"senders"`
}

type demoResident struct {
	NationalID string `json:"nationalId"`
	Name       string `json:"name"`
	Password   string `json:"password"`
}

type demoSender struct {
	Name      string `json:"name"`
	OrgNumber string `json:"orgNumber"`
	Kind      string `json:"kind"`
	Cert      string `json:"cert"`
	Key       string `json:"key"`
	// ReplyKey is the private key of the sender's reply key, which
	// replies and signatures are sealed to (the first sender's only).
	ReplyKey string `json:"replyKey,omitempty"`
}

// seedClock is the store's clock in the demo: while seeding it reads the
// time the seeder sets, so demo letters have realistic dates; afterwards
// it is the real time.
type seedClock struct {
	at atomic.Pointer[time.Time]
}

func (c *seedClock) Now() time.Time {
	if t := c.at.Load(); t != nil {
		return *t
	}
	return time.Now()
}

func (c *seedClock) set(t time.Time) { c.at.Store(&t) }
func (c *seedClock) reset()          { c.at.Store(nil) }

// runDemo is `postkasse demo`: a seeded appliance on loopback for
// evaluators, in one command.
func runDemo(args []string, stdout io.Writer) error {
	fs := newFlagSet("demo")
	dataFlag := fs.String("data", "./postkasse-demo", "data folder (created and seeded if missing)")
	httpAddr := fs.String("http", "127.0.0.1:8080", "address of the web UI over HTTP")
	httpsAddr := fs.String("https", "127.0.0.1:8443", "address of the web UI and sender API over HTTPS")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for name, addr := range map[string]string{"http": *httpAddr, "https": *httpsAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%w: --%s %q: want host:port", errUsage, name, addr)
		}
	}
	dir, err := filepath.Abs(*dataFlag)
	if err != nil {
		return err
	}
	// An appliance's folder (made by init) is never seeded with demo
	// residents and senders.
	if _, err := os.Stat(filepath.Join(dir, configFileName)); err == nil {
		return fmt.Errorf("%s is an appliance's data folder (it has %s); give demo another --data", dir, configFileName)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// Signals are taken from here on: one that arrives while the demo
	// starts (right after it printed that it runs) stops it cleanly too.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	c := demoConfig(dir)
	cfg, err := c.resolve(dir)
	if err != nil {
		return err
	}
	clock := &seedClock{}
	a, err := buildAppliance(cfg, buildOptions{clock: clock.Now, log: log, demoCA: "Postkasse demo CA"})
	if err != nil {
		return err
	}
	defer a.Close()
	ca := a.ca

	demo, err := loadOrSeedDemo(dir, a.store, ca, clock)
	if err != nil {
		return err
	}
	if demo.Residents, err = demoLogins(a.store, demo.Residents); err != nil {
		return err
	}

	ui, err := a.webUI()
	if err != nil {
		return err
	}
	serverCert, err := ca.IssueServer(cryptorand.Reader, []string{"127.0.0.1", "::1", "localhost"}, time.Now(), 30*24*time.Hour)
	if err != nil {
		return fmt.Errorf("issue demo server certificate: %w", err)
	}
	tlsConfig := httpui.TLSConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &serverCert, nil }, ca.Pool())
	httpL, err := listen("http", *httpAddr, ui.Handler(), nil, log)
	if err != nil {
		return err
	}
	httpsL, err := listen("https", *httpsAddr, ui.Handler(), tlsConfig, log)
	if err != nil {
		httpL.ln.Close()
		return err
	}

	// The operator's commands work on the demo's folder as on an
	// appliance's, through its control socket while it runs (open before
	// the demo says it runs; served with the rest below).
	ctlLn, err := control.Listen(filepath.Join(dir, socketFileName))
	if err != nil {
		httpL.ln.Close()
		httpsL.ln.Close()
		return err
	}
	defer ctlLn.Close()

	demo.UI = "http://" + httpL.ln.Addr().String()
	demo.API = "https://" + httpsL.ln.Addr().String()
	if err := writeDemoFile(dir, demo); err != nil {
		return err
	}
	printDemo(stdout, dir, demo)

	// Scheduled work: notices of new terms from the demo municipality,
	// retention and the notification outbox. The demo has no mail server
	// or SMS gateway: notifications wait in the outbox.
	jc, err := a.jobsConfig(demo.UI + "/")
	if err != nil {
		return err
	}
	sched, stopJobs, err := startJobs(jc, 10*time.Second, log)
	if err != nil {
		return err
	}
	defer stopJobs()

	ctl := newListener("control", ctlLn, control.Handler(a.operator(jobStatus(func() (*jobs.Scheduler, error) { return sched, nil })), log), log)
	ctl.srv.ConnContext = control.ConnContext

	return serve(ctx, log, httpL, httpsL, ctl)
}

// demoConfig is the configuration of a demo's folder, which has no
// postkasse.toml: the defaults, with the demo municipality delivering the
// notices of new terms. The operator's commands read it there too
// (loadResolved).
// Its domain is localhost (the demo's server certificate names it) on the
// port of the demo's HTTPS listener, as demo.json says when it is there,
// so the commands print URLs that work.
func demoConfig(dir string) Config {
	c := defaultConfig()
	c.Jobs.Municipality = demoSenders[0].org
	c.Domain = "localhost"
	c.Listen.HTTP, c.Listen.HTTPS = "127.0.0.1:8080", "127.0.0.1:8443"
	var demo demoFile
	if data, err := os.ReadFile(demoFilePath(dir)); err == nil && json.Unmarshal(data, &demo) == nil {
		if u, err := url.Parse(demo.API); err == nil && u.Port() != "" {
			c.Listen.HTTPS = "127.0.0.1:" + u.Port()
		}
	}
	return c
}

// demoLogins are the demo residents who can still sign in: not one who
// deleted the mailbox (or was closed by retention) since the seed.
func demoLogins(st *store.Store, residents []demoResident) ([]demoResident, error) {
	var out []demoResident
	for _, r := range residents {
		nid, err := store.ParseNationalID(r.NationalID)
		if err != nil {
			return nil, err
		}
		res, err := st.ResidentByNationalID(context.Background(), nid)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		if res.Status == store.ResidentActive || res.Status == store.ResidentReserved {
			out = append(out, r)
		}
	}
	return out, nil
}

// isDemoFolder says whether dir is a demo's folder: demo.json and no
// postkasse.toml.
func isDemoFolder(dir string) bool {
	_, demo := os.Stat(demoFilePath(dir))
	_, conf := os.Stat(filepath.Join(dir, configFileName))
	return demo == nil && errors.Is(conf, os.ErrNotExist)
}

func demoFilePath(dir string) string { return filepath.Join(dir, "demo.json") }

func writeDemoFile(dir string, demo *demoFile) error {
	data, err := json.MarshalIndent(demo, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(demoFilePath(dir), append(data, '\n'), 0o600)
}

// loadOrSeedDemo seeds an empty store, or reads demo.json of a data folder
// seeded before.
func loadOrSeedDemo(dir string, st *store.Store, ca *crypto.CA, clock *seedClock) (*demoFile, error) {
	residents, err := st.Residents(context.Background())
	if err != nil {
		return nil, err
	}
	if len(residents) == 0 {
		return seedDemo(dir, st, ca, clock)
	}
	data, err := os.ReadFile(demoFilePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s holds a database that `postkasse demo` did not make (no demo.json); use another --data", dir)
	} else if err != nil {
		return nil, err
	}
	var demo demoFile
	if err := json.Unmarshal(data, &demo); err != nil {
		return nil, fmt.Errorf("%s: %w", demoFilePath(dir), err)
	}
	return &demo, nil
}

// printDemo tells the evaluator where everything is and how to deliver a
// letter with curl.
func printDemo(w io.Writer, dir string, demo *demoFile) {
	fmt.Fprintf(w, "Postkasse demo is running.\n\n")
	fmt.Fprintf(w, "  Web UI:      %s   (also at %s)\n", demo.UI, demo.API)
	fmt.Fprintf(w, "  Sender API:  %s/api/v1\n", demo.API)
	fmt.Fprintf(w, "  Data folder: %s\n\n", dir)
	if len(demo.Residents) == 0 {
		fmt.Fprintf(w, "No demo resident can sign in any more (their mailboxes were deleted): start a new demo\nwith another --data. Everything above is also in %s. Stop with Ctrl-C.\n", demoFilePath(dir))
		return
	}
	fmt.Fprintf(w, "Residents (national identity number / password):\n")
	for _, r := range demo.Residents {
		fmt.Fprintf(w, "  %-16s %-12s %s\n", r.Name, r.NationalID, r.Password)
	}
	fmt.Fprintf(w, "\nDeliver a letter as %s:\n\n%s\n\n", demo.Senders[0].Name, curlCommand(dir, demo))
	fmt.Fprintf(w, "Everything above is also in %s. Stop with Ctrl-C.\n", demoFilePath(dir))
}

// curlCommand returns a command that delivers a letter to the first
// resident with the first sender's certificate. Its senderReference is
// fixed, so running it again shows the API's idempotency (200, same id).
func curlCommand(dir string, demo *demoFile) string {
	s, r := demo.Senders[0], demo.Residents[0]
	message := fmt.Sprintf(`{"recipient":{"nationalId":"%s"},"subject":"Hello from curl","senderReference":"curl-example-1","type":"letter"}`, r.NationalID)
	lines := []string{
		"curl --cacert " + shellQuote(demo.CACert) + " \\",
		"  --cert " + shellQuote(s.Cert) + " --key " + shellQuote(s.Key) + " \\",
		"  -F " + shellQuote("message="+message+";type=application/json") + " \\",
		"  -F " + shellQuote("document=@"+filepath.Join(dir, "examples", "hello.pdf")+";type=application/pdf") + " \\",
		"  " + demo.API + "/api/v1/messages",
	}
	return strings.Join(lines, "\n")
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
