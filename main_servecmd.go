package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
	"go.uber.org/zap/zapcore"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/acme"
	"github.com/postkasse/postkasse/httpui/control"
	"github.com/postkasse/postkasse/httpui/guard"
	"github.com/postkasse/postkasse/httpui/metrics"
	"github.com/postkasse/postkasse/jobs"
)

// defaultDataDir is the data folder of the commands that run on an
// initialised appliance, where the systemd unit keeps it.
const defaultDataDir = "/var/lib/postkasse"

// servingLine starts the line serve prints on standard output once it
// listens; scripts and tests wait for it.
const servingLine = "Postkasse is serving "

// runServe is `postkasse serve`: the production server, until SIGINT or
// SIGTERM.
func runServe(args []string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveCommand(ctx, args, stdout)
}

// memoryLimit is the Go runtime's soft memory limit the server sets at
// start when the operator set no GOMEMLIMIT (getenv reads the
// environment): three times the bytes in flight (a delivery holds its
// documents as read, sealed and committed) and 64 MiB for the rest, so
// that the collector frees a burst's garbage before the process grows
// past it. ok is false when GOMEMLIMIT is set: the runtime has read it.
func memoryLimit(c ServerConfig, getenv func(string) string) (limit int64, ok bool) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	return 3*int64(c.BytesInFlightMiB)<<20 + 64<<20, true
}

// serveFlags are the command-line overrides of postkasse.toml.
type serveFlags struct {
	data                          string
	http, https, acmeCA, acmeRoot string
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.http, "http", "", "listen address of HTTP (overrides listen.http)")
	fs.StringVar(&f.https, "https", "", "listen address of HTTPS (overrides listen.https)")
	fs.StringVar(&f.acmeCA, "acme-ca", "", "ACME directory URL (overrides acme.ca)")
	fs.StringVar(&f.acmeRoot, "acme-root", "", "PEM file of a root trusted for the ACME CA (overrides acme.trusted_root)")
}

// given reports whether any flag overrides the file.
func (f *serveFlags) given() bool {
	return f.http != "" || f.https != "" || f.acmeCA != "" || f.acmeRoot != ""
}

// apply puts the flags that were given over cfg; the caller checks the
// result (an error in it is one of usage).
func (f *serveFlags) apply(cfg *Config) error {
	if f.http != "" {
		cfg.Listen.HTTP = f.http
	}
	if f.https != "" {
		cfg.Listen.HTTPS = f.https
	}
	if f.acmeCA != "" {
		cfg.ACME.CA = f.acmeCA
	}
	if f.acmeRoot != "" {
		abs, err := filepath.Abs(f.acmeRoot)
		if err != nil {
			return err
		}
		cfg.ACME.TrustedRoot = abs
	}
	return nil
}

// serveCommand runs the server until ctx is done. The order of shutdown:
// listeners stop accepting and requests in flight finish (up to
// server.shutdown_timeout), then certificate management stops, then the
// store closes, which waits for any delivery still committing and refuses
// new ones: a letter is stored whole or not at all.
func serveCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("serve")
	var f serveFlags
	fs.StringVar(&f.data, "data", defaultDataDir, "data folder")
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir, err := filepath.Abs(f.data)
	if err != nil {
		return err
	}
	if isDemoFolder(dir) {
		return fmt.Errorf("%s is a demo's folder: run it with `postkasse demo --data %s`; an appliance's folder is made by `postkasse init`", dir, dir)
	}
	cfg, err := loadResolved(dir)
	if err != nil {
		return err
	}
	if f.given() {
		c := *cfg.Config
		if err := f.apply(&c); err != nil {
			return err
		}
		if cfg, err = c.resolve(dir); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	if cfg.Domain == "" {
		return fmt.Errorf("%s: domain is not set", filepath.Join(dir, configFileName))
	}
	log, zlog, err := newLoggers(cfg.Log, os.Stderr)
	if err != nil {
		return err
	}
	defer zlog.Sync()
	if limit, ok := memoryLimit(cfg.Server, os.Getenv); ok {
		debug.SetMemoryLimit(limit)
		log.Info("memory limit set from server.bytes_in_flight_mib (GOMEMLIMIT is not set)", "bytes", limit)
	}
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the data folder is open to other users; it holds the sender CA key and the database", "folder", dir, "mode", fi.Mode().Perm().String())
	}

	roots, err := trustedRoots(cfg.trustedRootPath(dir))
	if err != nil {
		return err
	}
	a, err := buildAppliance(cfg, buildOptions{log: log, timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	// Closed last: Close waits for deliveries still committing.
	defer func() {
		if err := a.Close(); err != nil {
			log.Error("close the database", "err", err)
		}
	}()
	if u, ok := a.store.Engine().(interface{ Upgraded() []string }); ok {
		for _, step := range u.Upgraded() {
			log.Info("database upgraded", "step", step)
		}
	}
	// The municipality's sender is checked now, not at the terms job's
	// first run minutes later.
	if ref := cfg.Jobs.Municipality; ref != "" {
		if _, err := a.store.Municipality(context.Background(), ref); err != nil {
			return fmt.Errorf("jobs.municipality in %s: %w (add it with `postkasse sender add --kind public`, or fix the file)", filepath.Join(dir, configFileName), err)
		}
	}
	var metricsLn net.Listener
	if cfg.Server.MetricsListen != "" {
		if metricsLn, err = net.Listen("tcp", cfg.Server.MetricsListen); err != nil {
			return fmt.Errorf("listen on %s for the metrics (server.metrics_listen): %w", cfg.Server.MetricsListen, err)
		}
		defer metricsLn.Close()
		a.metrics = metrics.New(a.store)
	}
	ui, err := a.webUI()
	if err != nil {
		return err
	}

	httpLn, err := net.Listen("tcp", cfg.Listen.HTTP)
	if err != nil {
		return fmt.Errorf("listen on %s for http: %w", cfg.Listen.HTTP, err)
	}
	defer httpLn.Close()
	httpsLn, err := net.Listen("tcp", cfg.Listen.HTTPS)
	if err != nil {
		return fmt.Errorf("listen on %s for https: %w", cfg.Listen.HTTPS, err)
	}
	defer httpsLn.Close()
	httpsHost, _, _ := net.SplitHostPort(cfg.Listen.HTTPS)
	httpsPort := httpsLn.Addr().(*net.TCPAddr).Port

	cert, err := startCertificate(cfg, roots, httpsHost, httpLn, httpsPort, log, zlog)
	if err != nil {
		return err
	}
	defer cert.Stop()

	ctlLn, err := control.Listen(filepath.Join(dir, socketFileName))
	if err != nil {
		return err
	}
	defer ctlLn.Close() // also removes the socket file

	go func() {
		select {
		case <-cert.Ready():
			log.Info("certificate ready", "domain", cfg.Domain)
		case <-ctx.Done():
		}
	}()
	// Scheduled work (package jobs): stopped before the store closes, after
	// the listeners (deferred calls run in reverse).
	jc, err := a.jobsConfig(publicURL(cfg.Domain, httpsPort) + "/")
	if err != nil {
		return err
	}
	sched, stopJobs, err := startJobs(jc, cfg.Server.ShutdownTimeout, log)
	if err != nil {
		return err
	}
	defer stopJobs()
	op := a.operator(jobStatus(func() (*jobs.Scheduler, error) { return sched, nil }))

	ctl := newListener("control", ctlLn, control.Handler(op, log), log)
	ctl.srv.ConnContext = control.ConnContext // the operator's uid, for the audit log
	ls := []listener{
		newListener("http", guard.LimitConnsPerAddress(httpLn, cfg.Server.ConnectionsPerAddress), cert.HTTPHandler(), log),
		newListener("https", tls.NewListener(guard.LimitConnsPerAddress(httpsLn, cfg.Server.ConnectionsPerAddress),
			cert.TLSConfig(a.ca.Pool())), ui.Handler(), log),
		ctl,
	}
	if metricsLn != nil {
		a.metrics.Ready = func() error {
			select {
			case <-cert.Ready():
				return nil
			default:
				return errors.New("no TLS certificate yet")
			}
		}
		ls = append(ls, newListener("metrics", metricsLn, a.metrics.Handler(), log))
	}

	log.Info("serving", "domain", cfg.Domain, "https", httpsLn.Addr().String(), "http", httpLn.Addr().String(),
		"acme", cfg.ACME.CA, "data", dir, "version", version())
	fmt.Fprintf(stdout, "%s%s (HTTPS on %s, HTTP on %s, control socket %s)\n",
		servingLine, publicURL(cfg.Domain, httpsPort), httpsLn.Addr(), httpLn.Addr(), filepath.Join(dir, socketFileName))
	return serveUntil(ctx, log, cfg.Server.ShutdownTimeout, ls...)
}

// certificateSource gives the HTTPS listener its certificate: from ACME
// (acme.Manager) or from the operator's files ([tls]).
type certificateSource interface {
	// Ready is closed once there is a certificate to serve.
	Ready() <-chan struct{}
	// TLSConfig is the HTTPS listener's configuration.
	TLSConfig(senderCAs *x509.CertPool) *tls.Config
	// HTTPHandler is the HTTP listener's handler.
	HTTPHandler() http.Handler
	Stop()
}

// startCertificate starts the certificate source the configuration
// names: [tls]'s files when set (loaded and checked now), else ACME
// (started: a certificate in DATA/certs is loaded, a missing one is
// obtained in the background).
func startCertificate(cfg *resolved, roots *x509.CertPool, httpsHost string, httpLn net.Listener, httpsPort int, log *slog.Logger, zlog *zap.Logger) (certificateSource, error) {
	if cfg.TLS.CertificateFile != "" {
		files, err := httpui.LoadCertificateFiles(dataPath(cfg.dir, cfg.TLS.CertificateFile), dataPath(cfg.dir, cfg.TLS.KeyFile), cfg.Domain, nil)
		if err != nil {
			return nil, err
		}
		files.Log = log
		return &fileCertificate{files: files, domain: cfg.Domain, httpsPort: httpsPort}, nil
	}
	m, err := acme.New(acme.Config{
		Domain:           cfg.Domain,
		CA:               cfg.ACME.CA,
		Email:            cfg.ACME.Email,
		TrustedRoots:     roots,
		HTTPChallenge:    cfg.ACME.HTTPChallenge,
		TLSALPNChallenge: cfg.ACME.TLSALPNChallenge,
		ListenHost:       httpsHost,
		HTTPPort:         httpLn.Addr().(*net.TCPAddr).Port,
		HTTPSPort:        httpsPort,
		StorageDir:       filepath.Join(cfg.dir, certsDirName),
		Logger:           zlog.Named("certmagic"),
	})
	if err != nil {
		return nil, err
	}
	if err := m.Start(); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

// fileCertificate is the certificateSource of [tls]'s files: ready at
// once, and the HTTP listener only redirects.
type fileCertificate struct {
	files     *httpui.CertificateFiles
	domain    string
	httpsPort int
}

func (f *fileCertificate) Ready() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func (f *fileCertificate) TLSConfig(senderCAs *x509.CertPool) *tls.Config {
	return httpui.TLSConfig(f.files.GetCertificate, senderCAs)
}

func (f *fileCertificate) HTTPHandler() http.Handler {
	return httpui.RedirectHTTPS(f.domain, f.httpsPort)
}

func (f *fileCertificate) Stop() {}

// publicURL is the appliance's base URL: the domain, with the port unless
// it is 443.
func publicURL(domain string, port int) string {
	if port == 443 {
		return "https://" + domain
	}
	return "https://" + net.JoinHostPort(domain, strconv.Itoa(port))
}

// loadCA loads the sender CA that init made in DATA/ca.
func loadCA(dir string) (*crypto.CA, error) {
	caDir := filepath.Join(dir, caDirName)
	certPEM, err := os.ReadFile(filepath.Join(caDir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("sender CA: %w (was %s made with `postkasse init`?)", err, dir)
	}
	keyPEM, err := os.ReadFile(filepath.Join(caDir, "ca.key"))
	if err != nil {
		return nil, fmt.Errorf("sender CA: %w", err)
	}
	ca, err := crypto.LoadCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("sender CA in %s: %w", caDir, err)
	}
	return ca, nil
}

// trustedRoots reads the PEM file of acme.trusted_root; "" is none.
func trustedRoots(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("acme.trusted_root: %w", err)
	}
	pool, err := rootPool(data)
	if err != nil {
		return nil, fmt.Errorf("acme.trusted_root %s: %w", path, err)
	}
	return pool, nil
}

// rootPool returns the certificates of a PEM file as a pool.
func rootPool(pemData []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, errors.New("no PEM certificate in it")
	}
	return pool, nil
}

// noStacktrace is a level above any record's: no record gets a stack
// trace.
const noStacktrace = slog.Level(1 << 30)

// newLoggers builds the server's log: one zap core writing text or JSON to
// w at the configured level, behind both the slog logger of Postkasse's own
// packages and the zap logger certmagic takes.
func newLoggers(c LogConfig, w io.Writer) (*slog.Logger, *zap.Logger, error) {
	level, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, nil, fmt.Errorf("log.level: %w", err)
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	var encoder zapcore.Encoder
	switch c.Format {
	case "json":
		encoder = zapcore.NewJSONEncoder(enc)
	case "text":
		enc.EncodeLevel = zapcore.CapitalLevelEncoder
		encoder = zapcore.NewConsoleEncoder(enc)
	default:
		return nil, nil, errors.New("log.format: want text or json")
	}
	core := zapcore.NewCore(encoder, zapcore.Lock(zapcore.AddSync(w)), level)
	// One line per record, an error's too: zapslog would add a stack
	// trace to ERROR records, which says nothing an operator can act on
	// and breaks line-based tools (fail2ban, grep).
	return slog.New(zapslog.NewHandler(core, zapslog.AddStacktraceAt(noStacktrace))), zap.New(core), nil
}
