package main

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/postkasse/postkasse/httpui/eid"
	"github.com/postkasse/postkasse/httpui/guard"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/jobs"
	"github.com/postkasse/postkasse/jobs/notify"
	"github.com/postkasse/postkasse/store"
	"github.com/postkasse/postkasse/store/cluster"
)

// configFileName is the configuration file in the data folder.
const configFileName = "postkasse.toml"

// Config is DATA/postkasse.toml: everything an operator may set. Every key
// has a default (defaultConfig); `postkasse init` writes every key with a
// comment (configKeys), so the file documents itself. Paths in it are
// relative to the data folder, which keeps the folder portable.
type Config struct {
	Domain    string          `toml:"domain"`
	Listen    ListenConfig    `toml:"listen"`
	ACME      ACMEConfig      `toml:"acme"`
	TLS       TLSConfig       `toml:"tls"`
	Senders   SendersConfig   `toml:"senders"`
	Residents ResidentsConfig `toml:"residents"`
	Sessions  SessionsConfig  `toml:"sessions"`
	Login     LoginConfig     `toml:"login"`
	Server    ServerConfig    `toml:"server"`
	Log       LogConfig       `toml:"log"`
	Jobs      JobsConfig      `toml:"jobs"`
	SMTP      MailConfig      `toml:"smtp"`
	SMS       SMSConfig       `toml:"sms"`
	Audit     AuditConfig     `toml:"audit"`
	OIDC      OIDCConfig      `toml:"oidc"`
	Backup    BackupConfig    `toml:"backup"`
	Store     StoreConfig     `toml:"store"`
	Callbacks CallbacksConfig `toml:"callbacks"`
}

// BackupConfig is the scheduled backup.
type BackupConfig struct {
	Folder   string `toml:"folder"`
	Keep     int    `toml:"keep"`
	Schedule string `toml:"schedule"`
}

// StoreConfig chooses the storage engine (DESIGN.md, "Storage engines"):
// the embedded one (DATA/postkasse.db) or the cluster one (PostgreSQL and
// an S3 bucket, shared by any number of nodes). No secret is in this
// file: the database's password comes from PGPASSWORD or a PGPASSFILE, as
// for every PostgreSQL client, and the bucket's keys from the file named
// or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
type StoreConfig struct {
	Engine               string `toml:"engine"`
	DatabaseURL          string `toml:"database_url"`
	BlobsEndpoint        string `toml:"blobs_endpoint"`
	BlobsBucket          string `toml:"blobs_bucket"`
	BlobsRegion          string `toml:"blobs_region"`
	BlobsCredentialsFile string `toml:"blobs_credentials_file"`
}

// CallbacksConfig is how senders' events are POSTed to their callback
// URLs (store/callbacks.go, jobs/callbacks.go).
type CallbacksConfig struct {
	AllowPrivate bool          `toml:"allow_private"`
	FirstBackoff time.Duration `toml:"first_backoff"`
	MaxBackoff   time.Duration `toml:"max_backoff"`
	GiveUpAfter  time.Duration `toml:"give_up_after"`
	Timeout      time.Duration `toml:"timeout"`
	Schedule     string        `toml:"schedule"`
}

// OIDCConfig is signing in with eID: the appliance as an OpenID Connect
// relying party of the operator's eID provider (package httpui/eid).
// The client secret is read from a file, never written here.
type OIDCConfig struct {
	Issuer           string `toml:"issuer"`
	ClientID         string `toml:"client_id"`
	ClientSecretFile string `toml:"client_secret_file"`
	Scopes           string `toml:"scopes"`
	NationalIDClaim  string `toml:"national_id_claim"`
	Name             string `toml:"name"`
}

// AuditConfig is about the audit log's checkpoints, which the
// audit-checkpoint job appends to DATA/audit-checkpoints.
type AuditConfig struct {
	Witness string `toml:"witness"`
}

// JobsConfig is the appliance's scheduled work: terms notices, retention
// and notifications (docs/RETENTION.md). Periods are ISO 8601 durations.
type JobsConfig struct {
	TimeZone              string `toml:"time_zone"`
	Municipality          string `toml:"municipality"`
	Inactivity            string `toml:"inactivity"`
	InactivityWarnings    string `toml:"inactivity_warnings"`
	DeceasedPublic        string `toml:"deceased_public"`
	DeceasedPrivate       string `toml:"deceased_private"`
	TermsSchedule         string `toml:"terms_schedule"`
	RetentionSchedule     string `toml:"retention_schedule"`
	NotificationsSchedule string `toml:"notifications_schedule"`
}

// MailConfig is the mail server that relays e-mail notifications.
type MailConfig struct {
	Host        string `toml:"host"`
	Port        int    `toml:"port"`
	Security    string `toml:"security"`
	Username    string `toml:"username"`
	Password    string `toml:"password"`
	From        string `toml:"from"`
	TrustedRoot string `toml:"trusted_root"`
}

// SMSConfig is the HTTP gateway that sends SMS notifications.
type SMSConfig struct {
	URL          string `toml:"url"`
	Method       string `toml:"method"`
	AuthHeader   string `toml:"auth_header"`
	ContentType  string `toml:"content_type"`
	BodyTemplate string `toml:"body_template"`
	Hours        string `toml:"hours"`
}

// ListenConfig is where the server listens.
type ListenConfig struct {
	HTTP  string `toml:"http"`
	HTTPS string `toml:"https"`
}

// ACMEConfig is how the server gets its TLS certificate.
type ACMEConfig struct {
	CA               string `toml:"ca"`
	Email            string `toml:"email"`
	TrustedRoot      string `toml:"trusted_root"`
	HTTPChallenge    bool   `toml:"http_challenge"`
	TLSALPNChallenge bool   `toml:"tls_alpn_challenge"`
}

// TLSConfig is a certificate of the operator's own, kept in files,
// served instead of one from ACME.
type TLSConfig struct {
	CertificateFile string `toml:"certificate_file"`
	KeyFile         string `toml:"key_file"`
}

// SendersConfig is about the senders' client certificates.
type SendersConfig struct {
	CertificateDays int `toml:"certificate_days"`
}

// ResidentsConfig is about enrolling residents.
type ResidentsConfig struct {
	ActivationDays int `toml:"activation_days"`
	// Language is the language of pages, e-mails and SMS for a resident
	// who chose none and whose browser asks for none of the appliance's.
	Language string `toml:"language"`
}

// SessionsConfig bounds residents' logins.
type SessionsConfig struct {
	Idle     time.Duration `toml:"idle"`
	Lifetime time.Duration `toml:"lifetime"`
}

// LoginConfig throttles failed logins and bounds the wait for a password
// check.
type LoginConfig struct {
	AccountFailures   int           `toml:"account_failures"`
	AddressFailures   int           `toml:"address_failures"`
	Window            time.Duration `toml:"window"`
	PasswordCheckWait time.Duration `toml:"password_check_wait"`
}

// ServerConfig is about running the server.
type ServerConfig struct {
	ShutdownTimeout time.Duration `toml:"shutdown_timeout"`
	// Node names this process among the nodes of a cluster.
	Node string `toml:"node"`
	// MetricsListen is where /metrics, /readyz and /healthz are served
	// (package httpui/metrics); "" is nowhere.
	MetricsListen string `toml:"metrics_listen"`
	// BytesInFlightMiB bounds the request-body bytes the deliveries read
	// at once (httpui.Config.BytesInFlight), in MiB; it also sets the Go
	// runtime's memory limit when GOMEMLIMIT is not set (memoryLimit).
	BytesInFlightMiB int `toml:"bytes_in_flight_mib"`
	// ConnectionsPerAddress caps the connections open at once from one
	// client address on the HTTP and HTTPS listeners
	// (guard.LimitConnsPerAddress); 0 is no cap.
	ConnectionsPerAddress int `toml:"connections_per_address"`
}

// LogConfig is about the server's log on standard error.
type LogConfig struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// nodeName is what server.node may be.
var nodeName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// letsEncrypt is Let's Encrypt's production ACME directory (RFC 8555 §7.1.1).
const letsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// defaultConfig returns the configuration of a file that sets nothing.
func defaultConfig() Config {
	return Config{
		Store:  StoreConfig{Engine: "embedded"},
		Listen: ListenConfig{HTTP: ":80", HTTPS: ":443"},
		ACME: ACMEConfig{
			CA:               letsEncrypt,
			HTTPChallenge:    true,
			TLSALPNChallenge: true,
		},
		Senders:   SendersConfig{CertificateDays: 730},
		Residents: ResidentsConfig{ActivationDays: 30, Language: "en"},
		Sessions:  SessionsConfig{Idle: 30 * time.Minute, Lifetime: 12 * time.Hour},
		Login: LoginConfig{AccountFailures: 5, AddressFailures: 20, Window: 15 * time.Minute,
			PasswordCheckWait: guard.DefaultPasswordCheckWait},
		Server: ServerConfig{ShutdownTimeout: 30 * time.Second, BytesInFlightMiB: 128, ConnectionsPerAddress: 64},
		Log:    LogConfig{Level: "info", Format: "text"},
		Jobs: JobsConfig{
			TimeZone:              jobs.DefaultTimeZone,
			Inactivity:            "P5Y",
			InactivityWarnings:    "P30D, P7D",
			DeceasedPublic:        "P5Y",
			DeceasedPrivate:       "P15M",
			TermsSchedule:         "*/5 * * * *",
			RetentionSchedule:     "17 3 * * *",
			NotificationsSchedule: "@every 30s",
		},
		Backup: BackupConfig{Keep: 7, Schedule: "23 2 * * *"},
		Callbacks: CallbacksConfig{FirstBackoff: 30 * time.Second, MaxBackoff: time.Hour, GiveUpAfter: 72 * time.Hour,
			Timeout: 15 * time.Second, Schedule: "@every 5s"},
		OIDC: OIDCConfig{Scopes: "openid profile", Name: "eID"},
		SMTP: MailConfig{Port: 587, Security: notify.SMTPStartTLS},
		SMS:  SMSConfig{Method: "POST", ContentType: "application/json", BodyTemplate: notify.DefaultSMSBody, Hours: "09-20"},
	}
}

// configKey is one key of postkasse.toml with its documentation; the
// written file and docs/OPERATORS.md come from this table, and a test
// checks that it covers every field of Config.
type configKey struct {
	section string // "" for the top level
	name    string
	doc     string // comment lines, without "# "
	value   func(c *Config) any
}

// configSections documents each table of the file.
var configSections = map[string]string{
	"listen":    "Where the server listens. Use host:port; an empty host means every address.",
	"acme":      "The TLS certificate, from an ACME CA (RFC 8555), obtained and renewed automatically.\nCertificates and the ACME account are kept in DATA/certs.",
	"tls":       "A certificate of your own instead of ACME: for an internal CA, or for the nodes of a\ncluster behind a TCP load balancer, which must all serve the same one. When both files\nare set, [acme] is not used. The files are read again when they change: replace them\nbefore the certificate expires.",
	"senders":   "Senders deliver letters through the API with client certificates from DATA/ca.",
	"residents": "Enrolment: `postkasse resident add` makes a pending mailbox and prints an activation\ncode, with which the resident activates it at https://DOMAIN/activate, choosing a password.",
	"sessions":  "Residents' logins.",
	"login":     "Throttling of failed logins: after this many failures within the window, further\nattempts are refused (429) without checking the password.",
	"server":    "Running the server.",
	"log":       "The log, on standard error (journald under systemd).",
	"jobs":      "Scheduled work (docs/RETENTION.md): notices of new terms of use, retention for\ninactive and deceased accounts, notifications. Periods are ISO 8601 durations\n(P5Y = 5 years, P15M = 15 months, P30D = 30 days). Schedules are cron specs in UTC.",
	"smtp":      "The mail server that relays e-mail notifications (SMTP submission). With no host,\ne-mail notifications wait in the outbox until one is configured.",
	"sms":       "The HTTP gateway that sends SMS notifications. With no url, SMS notifications wait\nin the outbox until one is configured.",
	"store":     "Where letters are kept. embedded: one file, DATA/postkasse.db, for one machine. cluster:\nPostgreSQL (15 or newer) and an S3-compatible bucket, shared by any number of nodes\nrunning `postkasse serve` (docs/SCALE.md); move an embedded deployment there with\n`postkasse migrate`. No secret goes in this file.",
	"backup":    "Scheduled backups: a copy of the appliance as `postkasse backup` writes it (the database,\ntaken while serving, and the folder's keys and configuration, with a manifest), into a\nfolder of their own, keeping the newest. The embedded engine only: a cluster's database\nand bucket are backed up by their own means (docs/SCALE.md).",
	"callbacks": "Senders' callbacks: a sender that registered a URL (PUT /api/v1/callback, or\n`postkasse sender callback set`) gets each of its events POSTed there, signed, one at a\ntime in order, retried with a doubling wait until the receiver answers 2xx, and given up\nafter give_up_after (then `postkasse sender callbacks` shows it, and the sender reads the\nfeed). Only https URLs whose host resolves to public addresses are taken.",
	"oidc":      "Signing in with eID through OpenID Connect (MitID, ID-porten, BankID or their broker):\nthe provider proves who the resident is, and the resident's password still unlocks the\nmailbox. A resident with no mailbox can create one this way, without an activation\nletter. Register the appliance at the provider as a confidential web client with the\nredirect URL https://DOMAIN/eid/callback. With no issuer, eID is off.",
	"audit":     "The audit log's checkpoints: every minute the log has grown, a signed checkpoint is\nappended to DATA/audit-checkpoints, which `postkasse audit verify --checkpoint` checks\nthe log against (docs/AUDITORS.md). Keep copies of the file off this machine.",
}

// configKeys lists every key in the order of the written file.
func configKeys() []configKey {
	return []configKey{
		{"", "domain", "The DNS name of this appliance, e.g. post.eksempelby.dk. Residents open\nhttps://DOMAIN/, senders deliver to https://DOMAIN/api/v1. Its A/AAAA records must\npoint to this machine for the ACME CA to validate it. Required.",
			func(c *Config) any { return c.Domain }},
		{"listen", "http", "Plain HTTP: answers ACME HTTP-01 challenges and redirects everything else to HTTPS.\nThe ACME CA connects to port 80 of DOMAIN.",
			func(c *Config) any { return c.Listen.HTTP }},
		{"listen", "https", "HTTPS: the web UI and the sender API (client certificates are requested here\nand required under /api/); also answers ACME TLS-ALPN-01 challenges on port 443.",
			func(c *Config) any { return c.Listen.HTTPS }},
		{"acme", "ca", "The ACME directory URL. Let's Encrypt's staging directory for trials:\nhttps://acme-staging-v02.api.letsencrypt.org/directory\nRunning the server agrees to this CA's terms of service.",
			func(c *Config) any { return c.ACME.CA }},
		{"acme", "email", "Contact address for the ACME account (the CA may send expiry warnings). May be empty.",
			func(c *Config) any { return c.ACME.Email }},
		{"acme", "trusted_root", "A PEM file of root certificates to trust for the ACME CA's own HTTPS, besides the\nsystem's: for a private ACME CA (step-ca, pebble). Relative to the data folder. Empty: none.",
			func(c *Config) any { return c.ACME.TrustedRoot }},
		{"acme", "http_challenge", "Allow the HTTP-01 challenge (RFC 8555 §8.3) on the HTTP listener.",
			func(c *Config) any { return c.ACME.HTTPChallenge }},
		{"acme", "tls_alpn_challenge", "Allow the TLS-ALPN-01 challenge (RFC 8737) on the HTTPS listener.",
			func(c *Config) any { return c.ACME.TLSALPNChallenge }},
		{"tls", "certificate_file", "The certificate chain in PEM, for DOMAIN, leaf first; relative to the data folder.\nEmpty: the certificate comes from ACME.",
			func(c *Config) any { return c.TLS.CertificateFile }},
		{"tls", "key_file", "Its private key in PEM, readable by the server's user only; relative to the data folder.",
			func(c *Config) any { return c.TLS.KeyFile }},
		{"senders", "certificate_days", "Validity of a new sender certificate, in days.",
			func(c *Config) any { return c.Senders.CertificateDays }},
		{"residents", "activation_days", "An activation code expires after this many days; enrolling the resident again\ngives a new one.",
			func(c *Config) any { return c.Residents.ActivationDays }},
		{"residents", "language", "The language of pages, e-mails and SMS for a resident who chose none and whose\nbrowser asks for none of these: en (English), da (dansk) or nb (norsk bokmål).",
			func(c *Config) any { return c.Residents.Language }},
		{"sessions", "idle", "A login ends after this long without a request; at least 5m.",
			func(c *Config) any { return c.Sessions.Idle }},
		{"sessions", "lifetime", "A login ends after this long in all; at least the idle time, at most 744h (31 days).",
			func(c *Config) any { return c.Sessions.Lifetime }},
		{"login", "account_failures", "Failed logins per national identity number.",
			func(c *Config) any { return c.Login.AccountFailures }},
		{"login", "address_failures", "Failed logins per client address.",
			func(c *Config) any { return c.Login.AddressFailures }},
		{"login", "window", "The sliding window the failures are counted in.",
			func(c *Config) any { return c.Login.Window }},
		{"login", "password_check_wait", "How long a sign-in may wait in line for a password check when many arrive at once;\none expected to wait longer is answered busy (503). At least 1s, at most 45s.",
			func(c *Config) any { return c.Login.PasswordCheckWait }},
		{"server", "node", "This node's name among the nodes of a cluster (the jobs lease names its holder by it);\nletters, digits, '.', '_' and '-'. Empty: the host name. Nodes on one host need names\nof their own.",
			func(c *Config) any { return c.Server.Node }},
		{"server", "metrics_listen", "Where /metrics (Prometheus), /readyz and /healthz are served, e.g. 127.0.0.1:9464.\nKeep it off the public network: the figures are the operator's. Empty: not served.",
			func(c *Config) any { return c.Server.MetricsListen }},
		{"server", "bytes_in_flight_mib", "How many MiB of letters the server reads at once, all deliveries together; a delivery\nbeyond it is answered 503 UNAVAILABLE with Retry-After, nothing stored, and the sender\ntries again. Unless GOMEMLIMIT is set, the server keeps its memory near 3 times this\nplus 64 MiB. At least 32 (a whole letter of 25 MiB must fit).",
			func(c *Config) any { return c.Server.BytesInFlightMiB }},
		{"server", "connections_per_address", "How many connections one client address may have open at once (HTTP and HTTPS);\none more is closed as soon as it is accepted. 0: no cap (behind a reverse proxy, where\nevery client has the proxy's address).",
			func(c *Config) any { return c.Server.ConnectionsPerAddress }},
		{"server", "shutdown_timeout", "On SIGTERM the server stops accepting requests and waits this long for those in\nflight (deliveries among them) to finish; a delivery cut off is not stored.",
			func(c *Config) any { return c.Server.ShutdownTimeout }},
		{"log", "level", "debug, info, warn or error.",
			func(c *Config) any { return c.Log.Level }},
		{"log", "format", "text (one line per entry) or json.",
			func(c *Config) any { return c.Log.Format }},
		{"jobs", "time_zone", "The appliance's local time zone (IANA name): effective dates of terms, dates in\nnotifications, the SMS sending hours the end of a grant of access's last day and the end of a signature request's deadline day are in it.",
			func(c *Config) any { return c.Jobs.TimeZone }},
		{"jobs", "municipality", "Organisation number (CVR) of the municipality's public sender, which delivers the\nnotices of new terms of use. Until it is set, no notice goes out and the\nterms-notices job reports why.",
			func(c *Config) any { return c.Jobs.Municipality }},
		{"jobs", "inactivity", "An account without login for this long is deleted with all its letters.",
			func(c *Config) any { return c.Jobs.Inactivity }},
		{"jobs", "inactivity_warnings", "How long before that deletion the resident is warned, comma-separated; \"none\" for\nno warnings. Each must be shorter than inactivity.",
			func(c *Config) any { return c.Jobs.InactivityWarnings }},
		{"jobs", "deceased_public", "After a recorded death, letters from public senders are kept this long.",
			func(c *Config) any { return c.Jobs.DeceasedPublic }},
		{"jobs", "deceased_private", "After a recorded death, letters from private senders are kept this long.",
			func(c *Config) any { return c.Jobs.DeceasedPrivate }},
		{"jobs", "terms_schedule", "When the terms-notices job runs.",
			func(c *Config) any { return c.Jobs.TermsSchedule }},
		{"jobs", "retention_schedule", "When the retention job runs.",
			func(c *Config) any { return c.Jobs.RetentionSchedule }},
		{"jobs", "notifications_schedule", "When the notifications job runs.",
			func(c *Config) any { return c.Jobs.NotificationsSchedule }},
		{"smtp", "host", "The mail server's DNS name (its certificate must be for this name). Empty: no e-mail.",
			func(c *Config) any { return c.SMTP.Host }},
		{"smtp", "port", "587 for submission with STARTTLS, 465 for implicit TLS.",
			func(c *Config) any { return c.SMTP.Port }},
		{"smtp", "security", "starttls (required, RFC 3207), tls (implicit TLS, RFC 8314) or none (only for a\nrelay on this machine).",
			func(c *Config) any { return c.SMTP.Security }},
		{"smtp", "username", "SMTP AUTH PLAIN user name, sent only over TLS. Empty: no authentication.",
			func(c *Config) any { return c.SMTP.Username }},
		{"smtp", "password", "SMTP AUTH password. Keep this file readable by the server's user only.",
			func(c *Config) any { return c.SMTP.Password }},
		{"smtp", "from", "Sender address of the notifications, e.g. Postkasse <noreply@post.eksempelby.dk>.",
			func(c *Config) any { return c.SMTP.From }},
		{"smtp", "trusted_root", "A PEM file of roots to trust for the mail server's certificate besides the system's,\nrelative to the data folder. Empty: the system's only.",
			func(c *Config) any { return c.SMTP.TrustedRoot }},
		{"sms", "url", "The gateway's URL, a Go template over .To, .Text and .ID with the functions json and\nurlquery. Empty: no SMS.",
			func(c *Config) any { return c.SMS.URL }},
		{"sms", "method", "HTTP method: POST, PUT or GET (with GET no body is sent).",
			func(c *Config) any { return c.SMS.Method }},
		{"sms", "auth_header", "One header line sent with every request, e.g. \"Authorization: Bearer KEY\".",
			func(c *Config) any { return c.SMS.AuthHeader }},
		{"sms", "content_type", "Content type of the body.",
			func(c *Config) any { return c.SMS.ContentType }},
		{"sms", "body_template", "The request body, a Go template like url.",
			func(c *Config) any { return c.SMS.BodyTemplate }},
		{"sms", "hours", "SMS are sent only between these hours, local time (time_zone); outside them they wait.",
			func(c *Config) any { return c.SMS.Hours }},
		{"store", "engine", "embedded or cluster.",
			func(c *Config) any { return c.Store.Engine }},
		{"store", "database_url", "cluster: the PostgreSQL URL without its password, e.g.\npostgres://postkasse@db.internal:5432/postkasse?sslmode=verify-full. The password\ncomes from PGPASSWORD or a PGPASSFILE.",
			func(c *Config) any { return c.Store.DatabaseURL }},
		{"store", "blobs_endpoint", "cluster: the S3 endpoint, https://host[:port] (http only inside a private network).",
			func(c *Config) any { return c.Store.BlobsEndpoint }},
		{"store", "blobs_bucket", "cluster: the bucket, made beforehand.",
			func(c *Config) any { return c.Store.BlobsBucket }},
		{"store", "blobs_region", "cluster: the bucket's region (us-east-1 when empty).",
			func(c *Config) any { return c.Store.BlobsRegion }},
		{"store", "blobs_credentials_file", "cluster: a file of two lines, the access key and the secret key, relative to the\ndata folder and readable by the server's user only. Empty: AWS_ACCESS_KEY_ID and\nAWS_SECRET_ACCESS_KEY from the environment.",
			func(c *Config) any { return c.Store.BlobsCredentialsFile }},
		{"backup", "folder", "Where the copies go, named postkasse-DOMAIN-YYYYMMDDTHHMMSSZ.tar; relative to the data folder.\nPut it on another disk and copy it off the machine. Empty: no scheduled backups.",
			func(c *Config) any { return c.Backup.Folder }},
		{"backup", "keep", "How many copies stay; older ones are deleted once a new one is whole.",
			func(c *Config) any { return c.Backup.Keep }},
		{"backup", "schedule", "When a copy is made, a cron spec in UTC.",
			func(c *Config) any { return c.Backup.Schedule }},
		{"oidc", "issuer", "The provider's issuer URL (https), whose /.well-known/openid-configuration is read.\nEmpty: no sign-in with eID.",
			func(c *Config) any { return c.OIDC.Issuer }},
		{"oidc", "client_id", "The client id the provider gave this appliance.",
			func(c *Config) any { return c.OIDC.ClientID }},
		{"oidc", "client_secret_file", "A file holding the client secret (one line), relative to the data folder and\nreadable by the server's user only.",
			func(c *Config) any { return c.OIDC.ClientSecretFile }},
		{"oidc", "scopes", "The scopes asked for, separated by spaces; openid is always asked for.",
			func(c *Config) any { return c.OIDC.Scopes }},
		{"oidc", "national_id_claim", "The ID token's claim that carries the national identity number (CPR number or\nfødselsnummer), as the provider names it, e.g. dk:cpr or pid.",
			func(c *Config) any { return c.OIDC.NationalIDClaim }},
		{"oidc", "name", "The provider as residents know it, on the sign-in page's button: MitID, ID-porten, BankID.",
			func(c *Config) any { return c.OIDC.Name }},
		{"audit", "witness", "An http(s) URL that each new checkpoint is POSTed to: a witness that keeps them out\nof the operator's reach. Empty: none (the file has every checkpoint).",
			func(c *Config) any { return c.Audit.Witness }},
		{"callbacks", "allow_private", "Let callback URLs reach loopback, private and link-local addresses: only when the\nsenders' receivers are on this appliance's own network. Off, such an address is refused\nwhen the URL is registered and at every connection (no server-side request forgery).",
			func(c *Config) any { return c.Callbacks.AllowPrivate }},
		{"callbacks", "first_backoff", "The wait after an event's first failed attempt; it doubles after each.",
			func(c *Config) any { return c.Callbacks.FirstBackoff }},
		{"callbacks", "max_backoff", "The longest wait between two attempts.",
			func(c *Config) any { return c.Callbacks.MaxBackoff }},
		{"callbacks", "give_up_after", "A callback whose first waiting event has failed for this long is given up; at most\n4320h (180 days, how long events are kept).",
			func(c *Config) any { return c.Callbacks.GiveUpAfter }},
		{"callbacks", "timeout", "How long one POST may take in all, the answer included (the connection: 5s at most).",
			func(c *Config) any { return c.Callbacks.Timeout }},
		{"callbacks", "schedule", "How often the callbacks job looks for events to POST.",
			func(c *Config) any { return c.Callbacks.Schedule }},
	}
}

// marshalConfig writes c as a documented postkasse.toml: every key, with
// its comment and its default where c differs from it.
func marshalConfig(c *Config) []byte {
	def := defaultConfig()
	var b bytes.Buffer
	b.WriteString("# Postkasse configuration. Every key is listed with a comment; a key left out\n")
	b.WriteString("# takes its default. Paths are relative to this folder (the data folder).\n")
	b.WriteString("# Changes take effect when the server restarts. Reference: docs/OPERATORS.md.\n")
	section := ""
	for _, k := range configKeys() {
		if k.section != section {
			section = k.section
			b.WriteString("\n")
			writeComment(&b, configSections[section])
			fmt.Fprintf(&b, "[%s]\n", section)
		}
		b.WriteString("\n")
		writeComment(&b, k.doc)
		if dv := k.value(&def); !equalValue(dv, k.value(c)) && dv != "" {
			fmt.Fprintf(&b, "# Default: %s\n", tomlValue(dv))
		}
		fmt.Fprintf(&b, "%s = %s\n", k.name, tomlValue(k.value(c)))
	}
	return b.Bytes()
}

func writeComment(b *bytes.Buffer, doc string) {
	for line := range strings.SplitSeq(doc, "\n") {
		b.WriteString("# " + line + "\n")
	}
}

func equalValue(a, b any) bool { return tomlValue(a) == tomlValue(b) }

// tomlValue formats a value of Config as TOML (TOML 1.0 §String, §Integer,
// §Boolean; durations as strings that time.ParseDuration reads).
func tomlValue(v any) string {
	switch v := v.(type) {
	case string:
		return quoteTOML(v)
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case time.Duration:
		return quoteTOML(formatDuration(v))
	}
	panic(fmt.Sprintf("config: no TOML format for %T", v))
}

// quoteTOML returns s as a TOML basic string: backslash and quote escaped,
// control characters as \uXXXX (TOML 1.0 §String).
func quoteTOML(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// formatDuration writes d the way a person would: "30m", "12h", "1h30m".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// errNoConfig is a data folder without postkasse.toml.
var errNoConfig = errors.New("not a Postkasse data folder")

// loadConfig reads DIR/postkasse.toml over the defaults and checks it. The
// errors say which file and, for syntax and type errors, which line.
func loadConfig(dir string) (*Config, error) {
	r, err := loadResolved(dir)
	if err != nil {
		return nil, err
	}
	return r.Config, nil
}

// loadResolved reads DIR/postkasse.toml over the defaults and resolves it
// for the data folder dir (absolute), as loadConfig.
func loadResolved(dir string) (*resolved, error) {
	if fi, err := os.Stat(dir); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("data folder %s does not exist (create one with `postkasse init`)", dir)
		}
		return nil, fmt.Errorf("data folder: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("data folder %s is not a folder", dir)
	}
	path := filepath.Join(dir, configFileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if isDemoFolder(dir) {
			// A demo's folder: the demo's configuration.
			c := demoConfig(dir)
			if err := c.applyEnv(os.LookupEnv); err != nil {
				return nil, err
			}
			return c.resolve(dir)
		}
		return nil, fmt.Errorf("%w: %s has no %s (create one with `postkasse init`)", errNoConfig, dir, configFileName)
	} else if err != nil {
		return nil, err
	}
	c, err := decodeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.applyEnv(os.LookupEnv); err != nil {
		return nil, err
	}
	r, err := c.resolve(dir)
	if err != nil {
		return nil, fmt.Errorf("%s (with the environment's POSTKASSE_ variables): %w", path, err)
	}
	return r, nil
}

// envName is the environment variable that overrides a key of the file:
// POSTKASSE_SECTION_KEY, or POSTKASSE_KEY at the top level
// (POSTKASSE_STORE_DATABASE_URL, POSTKASSE_DOMAIN).
func envName(section, name string) string {
	if section == "" {
		return "POSTKASSE_" + strings.ToUpper(name)
	}
	return "POSTKASSE_" + strings.ToUpper(section+"_"+name)
}

// applyEnv sets the keys of c that the environment (lookup) overrides,
// each by its envName, parsed as the file's value would be: a string as
// it is, a number, true or false, a duration such as 15m. The values are
// checked with the rest by resolve.
func (c *Config) applyEnv(lookup func(string) (string, bool)) error {
	root := reflect.ValueOf(c).Elem()
	for _, k := range configKeys() {
		env := envName(k.section, k.name)
		v, ok := lookup(env)
		if !ok {
			continue
		}
		field := root
		if k.section != "" {
			field = tomlField(root, k.section)
		}
		field = tomlField(field, k.name)
		if !field.IsValid() {
			return fmt.Errorf("%s: no such key in the configuration", env) // a bug: configKeys and Config disagree
		}
		switch {
		case field.Type() == reflect.TypeFor[time.Duration]():
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s=%q: want a duration such as 15m or 12h", env, v)
			}
			field.SetInt(int64(d))
		case field.Kind() == reflect.String:
			field.SetString(v)
		case field.Kind() == reflect.Int:
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%s=%q: want a whole number", env, v)
			}
			field.SetInt(int64(n))
		case field.Kind() == reflect.Bool:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s=%q: want true or false", env, v)
			}
			field.SetBool(b)
		default:
			return fmt.Errorf("%s: a key of type %s cannot be set from the environment", env, field.Type())
		}
	}
	return nil
}

// tomlField is the field of the struct v whose toml tag is name; the
// zero Value when there is none.
func tomlField(v reflect.Value, name string) reflect.Value {
	for i := range v.NumField() {
		if v.Type().Field(i).Tag.Get("toml") == name {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

// parseConfig decodes a postkasse.toml over the defaults and validates it.
func parseConfig(data []byte) (*Config, error) {
	c, err := decodeConfig(data)
	if err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeConfig decodes a postkasse.toml over the defaults; its values are
// checked by resolve.
func decodeConfig(data []byte) (*Config, error) {
	c := defaultConfig()
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			// The line is counted from the error's byte offset: the
			// library's own line number is one too far when the
			// offending byte is the newline ending the line.
			line := perr.Position.Line
			if start := perr.Position.Start; start > 0 && start < len(data) {
				line = 1 + bytes.Count(data[:start], []byte("\n"))
			}
			return nil, fmt.Errorf("line %d: %s", line, perr.Message)
		}
		// Type errors read "toml: line N (last key …): …" already.
		return nil, errors.New(strings.TrimPrefix(err.Error(), "toml: "))
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		return nil, fmt.Errorf("unknown key %q (misspelt?)", undecoded[0].String())
	}
	return &c, nil
}

// resolved is the configuration the appliance is built from: the file
// with any command-line overrides, checked, with the values that are
// parsed rather than used as written (the time zone, the retention
// policy, the SMS hours) parsed once, and the data folder its paths are
// relative to. buildAppliance takes it; nothing else parses the file's
// values again.
type resolved struct {
	*Config
	// dir is the data folder, absolute; "" for a file checked on its own.
	dir       string
	location  *time.Location
	retention store.RetentionPolicy
	smsHours  jobs.SMSHours
}

// validate checks the values that the types do not.
func (c *Config) validate() error {
	_, err := c.resolve("")
	return err
}

// resolve checks c and parses its values for the data folder dir. Every
// rule about the file's values is here.
func (c *Config) resolve(dir string) (*resolved, error) {
	if c.Domain != "" {
		if err := checkDomain(c.Domain); err != nil {
			return nil, fmt.Errorf("domain: %w", err)
		}
	}
	for _, l := range []struct{ key, addr string }{{"listen.http", c.Listen.HTTP}, {"listen.https", c.Listen.HTTPS}} {
		key, addr := l.key, l.addr
		if _, port, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("%s %q: want host:port", key, addr)
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return nil, fmt.Errorf("%s %q: bad port", key, addr)
		}
	}
	if err := checkACMEURL(c.ACME.CA); err != nil {
		return nil, fmt.Errorf("acme.ca: %w", err)
	}
	if c.ACME.Email != "" {
		if err := checkEmail(c.ACME.Email); err != nil {
			return nil, fmt.Errorf("acme.email: %w", err)
		}
	}
	if !c.ACME.HTTPChallenge && !c.ACME.TLSALPNChallenge {
		return nil, errors.New("acme: http_challenge and tls_alpn_challenge are both false; at least one is needed")
	}
	if (c.TLS.CertificateFile == "") != (c.TLS.KeyFile == "") {
		return nil, errors.New("tls: give both certificate_file and key_file, or neither (ACME)")
	}
	ranges := []struct {
		key, want string
		ok        bool
	}{
		{"senders.certificate_days", "between 1 and 3650", c.Senders.CertificateDays > 0 && c.Senders.CertificateDays <= 3650},
		{"residents.activation_days", "between 1 and 365", c.Residents.ActivationDays > 0 && c.Residents.ActivationDays <= 365},
		{"login.account_failures", "must be positive", c.Login.AccountFailures > 0},
		{"login.address_failures", "must be positive", c.Login.AddressFailures > 0},
		{"login.window", "must be positive", c.Login.Window > 0},
		{"login.password_check_wait", "between 1s and " + formatDuration(guard.MaxPasswordCheckWait),
			c.Login.PasswordCheckWait >= time.Second && c.Login.PasswordCheckWait <= guard.MaxPasswordCheckWait},
		{"server.shutdown_timeout", "must be positive", c.Server.ShutdownTimeout > 0},
		{"server.connections_per_address", "between 0 and 100000", c.Server.ConnectionsPerAddress >= 0 && c.Server.ConnectionsPerAddress <= 100000},
		{"server.bytes_in_flight_mib", "between 32 and 65536", c.Server.BytesInFlightMiB >= 32 && c.Server.BytesInFlightMiB <= 65536},
		{"backup.keep", "between 1 and 1000", c.Backup.Keep > 0 && c.Backup.Keep <= 1000},
	}
	for _, r := range ranges {
		if !r.ok {
			return nil, fmt.Errorf("%s: %s", r.key, r.want)
		}
	}
	if err := store.CheckSessionLifetimes(c.Sessions.Idle, c.Sessions.Lifetime); err != nil {
		return nil, fmt.Errorf("sessions.idle, sessions.lifetime: %w", err)
	}
	if c.Server.Node != "" && !nodeName.MatchString(c.Server.Node) {
		return nil, fmt.Errorf("server.node %q: want 1-64 letters, digits, '.', '_' or '-'", c.Server.Node)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return nil, fmt.Errorf("log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return nil, fmt.Errorf("log.format %q: want text or json", c.Log.Format)
	}
	if m := c.Server.MetricsListen; m != "" {
		if _, port, err := net.SplitHostPort(m); err != nil || port == "" {
			return nil, fmt.Errorf("server.metrics_listen %q: want host:port, e.g. 127.0.0.1:9464", m)
		}
	}
	if err := c.callbackPolicy(false).Validate(); err != nil {
		return nil, fmt.Errorf("callbacks: %w", err)
	}
	if c.Callbacks.FirstBackoff <= 0 || c.Callbacks.Timeout <= 0 {
		return nil, errors.New("callbacks: first_backoff and timeout must be positive")
	}
	if w := c.Audit.Witness; w != "" {
		if u, err := url.Parse(w); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("audit.witness %q: want an http(s):// URL", w)
		}
	}
	if c.Backup.Folder != "" && c.Store.Engine == "cluster" {
		return nil, errors.New("backup.folder: scheduled backups copy the embedded engine's file; back a cluster's database and bucket up by their own means (docs/SCALE.md), and leave backup.folder empty")
	}
	if err := c.Store.check(); err != nil {
		return nil, err
	}
	if err := c.OIDC.check(); err != nil {
		return nil, err
	}
	if l := c.Residents.Language; l != "" && !slices.Contains(i18n.Languages, l) {
		return nil, fmt.Errorf("residents.language %q: want one of %s", l, strings.Join(i18n.Languages, ", "))
	}
	r := &resolved{Config: c, dir: dir}
	if err := r.resolveJobs(); err != nil {
		return nil, err
	}
	return r, nil
}

// resolveJobs checks [jobs], [smtp] and [sms] and parses the time zone,
// the retention policy and the SMS hours.
func (r *resolved) resolveJobs() error {
	c := r.Config
	loc, err := time.LoadLocation(c.Jobs.TimeZone)
	if err != nil || c.Jobs.TimeZone == "" {
		return fmt.Errorf("jobs.time_zone %q: not a time zone name such as Europe/Copenhagen", c.Jobs.TimeZone)
	}
	r.location = loc
	if m := c.Jobs.Municipality; m != "" && !orgNumberPattern.MatchString(m) && !senderIDPattern.MatchString(m) {
		return fmt.Errorf("jobs.municipality %q: want the organisation number (8 or 9 digits) of a public sender", m)
	}
	if r.retention, err = jobs.ParseRetention(c.Jobs.Inactivity, c.Jobs.InactivityWarnings, c.Jobs.DeceasedPublic, c.Jobs.DeceasedPrivate); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	for _, s := range []struct{ key, spec string }{
		{"jobs.terms_schedule", c.Jobs.TermsSchedule},
		{"jobs.retention_schedule", c.Jobs.RetentionSchedule},
		{"jobs.notifications_schedule", c.Jobs.NotificationsSchedule},
		{"backup.schedule", c.Backup.Schedule},
	} {
		if err := jobs.ParseSchedule(s.spec); err != nil {
			return fmt.Errorf("%s %q: %w", s.key, s.spec, err)
		}
	}
	if c.SMTP.Host != "" {
		if _, err := mail.ParseAddress(c.SMTP.From); err != nil {
			return fmt.Errorf("smtp.from %q: not an e-mail address (needed when smtp.host is set)", c.SMTP.From)
		}
		if _, err := notify.NewMailer(c.mailerConfig(nil)); err != nil {
			return err
		}
	}
	if c.SMS.URL != "" {
		if _, err := notify.NewSMSGateway(c.smsConfig()); err != nil {
			return err
		}
	}
	if r.smsHours, err = jobs.ParseSMSHours(c.SMS.Hours); err != nil {
		return fmt.Errorf("sms.hours: %w", err)
	}
	return nil
}

var (
	orgNumberPattern = regexp.MustCompile(`^[0-9]{8,9}$`)
	senderIDPattern  = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

func (c *Config) mailerConfig(roots *x509.CertPool) notify.SMTPConfig {
	return notify.SMTPConfig{
		Host: c.SMTP.Host, Port: c.SMTP.Port, Security: c.SMTP.Security,
		Username: c.SMTP.Username, Password: c.SMTP.Password, From: c.SMTP.From, RootCAs: roots,
	}
}

func (c *Config) smsConfig() notify.SMSConfig {
	return notify.SMSConfig{
		URL: c.SMS.URL, Method: c.SMS.Method, AuthHeader: c.SMS.AuthHeader,
		ContentType: c.SMS.ContentType, BodyTemplate: c.SMS.BodyTemplate,
	}
}

// path returns a file or folder of the data folder.
func (r *resolved) path(name string) string { return filepath.Join(r.dir, name) }

// storeOptions are the store's options from the file: the retention
// policy, the sessions' bounds, the activation codes' lifetime and the
// time zone.
func (r *resolved) storeOptions() store.Options {
	return store.Options{
		Retention:       r.retention,
		SessionIdle:     r.Sessions.Idle,
		SessionLifetime: r.Sessions.Lifetime,
		// Days of 24 hours: a code's expiry is a time, shown with it.
		ActivationLifetime: time.Duration(r.Residents.ActivationDays) * 24 * time.Hour,
		// A grant of access and a signature request end at the end of their
		// last day here.
		Location: r.location,
	}
}

// trustedRootPath returns acme.trusted_root resolved against the data
// folder, or "" when it is not set.
func (c *Config) trustedRootPath(dir string) string { return dataPath(dir, c.ACME.TrustedRoot) }

// dataPath resolves a path the file gives against the data folder dir;
// "" stays "".
func dataPath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// checkDomain accepts a DNS host name (RFC 1123 §2.1): labels of letters,
// digits and hyphens, 1–63 bytes, not starting or ending with a hyphen,
// 253 bytes in all. IP addresses and wildcards are refused: the appliance
// has one name. The name must already be lowercase.
func checkDomain(d string) error {
	if d == "" {
		return errors.New("empty")
	}
	if len(d) > 253 {
		return errors.New("longer than 253 bytes")
	}
	if net.ParseIP(d) != nil {
		return fmt.Errorf("%q is an IP address; a DNS name is needed", d)
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%q: every label has 1 to 63 characters", d)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q: a label cannot start or end with a hyphen", d)
		}
		for _, ch := range []byte(label) {
			if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
				return fmt.Errorf("%q: only lowercase letters, digits, hyphens and dots", d)
			}
		}
	}
	return nil
}

// checkACMEURL accepts an https URL (RFC 8555 §6.1: ACME runs over HTTPS).
func checkACMEURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q: want an https:// URL of an ACME directory", s)
	}
	return nil
}

// checkEmail accepts a bare address (addr-spec, RFC 5322 §3.4.1).
func checkEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return fmt.Errorf("%q is not an e-mail address", s)
	}
	return nil
}

// check checks [oidc]: off (no issuer), or an https issuer (http only on
// loopback, for a provider on this machine), a client id, the secret's
// file and the claim.
func (oc OIDCConfig) check() error {
	if oc.Issuer == "" {
		return nil
	}
	u, err := url.Parse(oc.Issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("oidc.issuer %q: want https://host[/path]", oc.Issuer)
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()))) {
		return fmt.Errorf("oidc.issuer %q: want an https:// URL (http only on this machine)", oc.Issuer)
	}
	switch {
	case oc.ClientID == "":
		return errors.New("oidc.client_id: empty; the provider's client id is needed with an issuer")
	case oc.ClientSecretFile == "":
		return errors.New("oidc.client_secret_file: empty; the client secret's file is needed with an issuer")
	case oc.NationalIDClaim == "":
		return errors.New("oidc.national_id_claim: empty; name the ID token's claim that carries the national identity number")
	case strings.TrimSpace(oc.Name) == "" || len(oc.Name) > 40:
		return errors.New("oidc.name: between 1 and 40 characters")
	}
	return nil
}

// eidConfig returns the relying party's configuration, with the client
// secret read from its file; ok is false when eID is off.
func (r *resolved) eidConfig() (eid.Config, bool, error) {
	oc := r.OIDC
	if oc.Issuer == "" {
		return eid.Config{}, false, nil
	}
	b, err := os.ReadFile(dataPath(r.dir, oc.ClientSecretFile))
	if err != nil {
		return eid.Config{}, false, fmt.Errorf("oidc.client_secret_file: %w", err)
	}
	secret := strings.TrimSpace(string(b))
	if secret == "" || strings.ContainsAny(secret, "\r\n") {
		return eid.Config{}, false, fmt.Errorf("oidc.client_secret_file %s: want one line, the client secret", dataPath(r.dir, oc.ClientSecretFile))
	}
	return eid.Config{Issuer: oc.Issuer, ClientID: oc.ClientID, ClientSecret: secret,
		Scopes: strings.Fields(oc.Scopes), Claim: oc.NationalIDClaim, Name: oc.Name}, true, nil
}

// check checks [store]: the engine's name and, for the cluster, a
// database URL without a password and an http(s) endpoint and a bucket.
func (sc StoreConfig) check() error {
	switch sc.Engine {
	case "", "embedded":
		return nil
	case "cluster":
	default:
		return fmt.Errorf("store.engine %q: want embedded or cluster", sc.Engine)
	}
	u, err := url.Parse(sc.DatabaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return errors.New("store.database_url: want postgres://user@host:port/database (the cluster engine needs it)")
	}
	if urlHoldsPassword(sc.DatabaseURL) {
		return errors.New("store.database_url holds a password: put it in PGPASSWORD or a PGPASSFILE instead, so that it is in no configuration file")
	}
	if e, err := url.Parse(sc.BlobsEndpoint); err != nil || (e.Scheme != "https" && e.Scheme != "http") || e.Host == "" {
		return fmt.Errorf("store.blobs_endpoint %q: want https://host[:port]", sc.BlobsEndpoint)
	}
	if sc.BlobsBucket == "" {
		return errors.New("store.blobs_bucket: empty; the cluster engine needs the bucket's name")
	}
	return nil
}

// clusterConfig returns the cluster engine's settings, with the bucket's
// keys read from the credentials file or the environment.
func (r *resolved) clusterConfig() (cluster.Config, error) {
	sc := r.Store
	ak, sk := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if sc.BlobsCredentialsFile != "" {
		path := dataPath(r.dir, sc.BlobsCredentialsFile)
		b, err := os.ReadFile(path)
		if err != nil {
			return cluster.Config{}, fmt.Errorf("store.blobs_credentials_file: %w", err)
		}
		lines := strings.Fields(string(b))
		if len(lines) != 2 {
			return cluster.Config{}, fmt.Errorf("store.blobs_credentials_file %s: want two lines, the access key and the secret key", path)
		}
		ak, sk = lines[0], lines[1]
	}
	if ak == "" || sk == "" {
		return cluster.Config{}, errors.New("the bucket's keys: set store.blobs_credentials_file, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	return cluster.Config{DatabaseURL: sc.DatabaseURL, Blobs: cluster.BlobConfig{
		Endpoint: sc.BlobsEndpoint, Bucket: sc.BlobsBucket, Region: sc.BlobsRegion, AccessKey: ak, SecretKey: sk}}, nil
}

// urlHoldsPassword reports whether a PostgreSQL URL carries a password,
// as libpq and pgx read it, not only as net/url does: their user
// information ends at the last '@', so in postgres://u:2024?x@host/db the
// password is "2024?x" although net/url sees host "u". Conservatively,
// any ':' between the scheme and the last '@' is a password; so is a
// password or sslpassword parameter.
func urlHoldsPassword(raw string) bool {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return false
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 && strings.ContainsRune(rest[:at], ':') {
		return true
	}
	lower := strings.ToLower(raw)
	return strings.Contains(lower, "password=")
}

// callbackPolicy is the [callbacks] table's policy; allowHTTP for the
// demo only.
func (c *Config) callbackPolicy(allowHTTP bool) store.CallbackPolicy {
	return store.CallbackPolicy{AllowHTTP: allowHTTP, FirstBackoff: c.Callbacks.FirstBackoff,
		MaxBackoff: c.Callbacks.MaxBackoff, GiveUpAfter: c.Callbacks.GiveUpAfter}
}
