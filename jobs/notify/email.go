package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP security modes.
const (
	// SMTPStartTLS: connect in clear and upgrade with STARTTLS (RFC 3207),
	// refusing to go on without it. The usual submission port 587.
	SMTPStartTLS = "starttls"
	// SMTPTLS: TLS from the first byte ("implicit TLS", RFC 8314 §3.3),
	// port 465.
	SMTPTLS = "tls"
	// SMTPPlain: no TLS at all; only for a relay on the same machine
	// (localhost), as credentials and addresses would travel in clear.
	SMTPPlain = "none"
)

// SMTPConfig says how to reach the mail server that relays notifications.
type SMTPConfig struct {
	Host string // the mail server's name (also the name its certificate must have)
	Port int    // default 587, or 465 with Security "tls"
	// Security is SMTPStartTLS (default), SMTPTLS or SMTPPlain.
	Security string
	// Username and Password for SMTP AUTH PLAIN (RFC 4616), sent only
	// over TLS. Empty: no authentication.
	Username, Password string
	// From is the sender address of the notifications, with an optional
	// display name ("Postkasse <noreply@post.example.dk>").
	From string
	// RootCAs verifies the server's certificate; nil = the system's.
	RootCAs *x509.CertPool
	// Timeout bounds connecting and each command; default 30 seconds.
	Timeout time.Duration
	// HELO is the name the appliance gives itself in EHLO; default the
	// domain of From.
	HELO string
}

// Mailer sends e-mail through one SMTP server.
type Mailer struct {
	cfg  SMTPConfig
	from *mail.Address
}

// NewMailer checks the configuration and returns a Mailer. It does not
// connect.
func NewMailer(cfg SMTPConfig) (*Mailer, error) {
	if cfg.Host == "" {
		return nil, errors.New("smtp: host is empty")
	}
	if cfg.Security == "" {
		cfg.Security = SMTPStartTLS
	}
	switch cfg.Security {
	case SMTPStartTLS, SMTPTLS, SMTPPlain:
	default:
		return nil, fmt.Errorf("smtp: security %q: want %s, %s or %s", cfg.Security, SMTPStartTLS, SMTPTLS, SMTPPlain)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.Security == SMTPTLS {
			cfg.Port = 465
		}
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp: port %d out of range", cfg.Port)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from %q: %w", cfg.From, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.HELO == "" {
		cfg.HELO = from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	}
	return &Mailer{cfg: cfg, from: from}, nil
}

// MailSession is one connection to the mail server, for sending several
// messages in a row. It is not safe for concurrent use.
type MailSession struct {
	m *Mailer
	c *gomail.Client
}

// Open connects to the server, says EHLO, upgrades to TLS and
// authenticates. Close the session when done.
func (m *Mailer) Open(ctx context.Context) (*MailSession, error) {
	opts := []gomail.Option{
		gomail.WithPort(m.cfg.Port),
		gomail.WithTimeout(m.cfg.Timeout),
		gomail.WithHELO(m.cfg.HELO),
		gomail.WithTLSConfig(&tls.Config{ServerName: m.cfg.Host, RootCAs: m.cfg.RootCAs, MinVersion: tls.VersionTLS12}),
	}
	switch m.cfg.Security {
	case SMTPStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case SMTPTLS:
		opts = append(opts, gomail.WithSSL())
	case SMTPPlain:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if m.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(m.cfg.Username), gomail.WithPassword(m.cfg.Password))
	}
	c, err := gomail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	if err := c.DialWithContext(ctx); err != nil {
		return nil, fmt.Errorf("smtp: connect to %s:%d: %w", m.cfg.Host, m.cfg.Port, err)
	}
	return &MailSession{m: m, c: c}, nil
}

// Send sends one message. A recipient the server refuses for good (a 5xx
// reply to RCPT TO, RFC 5321 §4.2.1) is a Permanent error; everything else
// (connection, 4xx replies, a refused sender address, which is the
// operator's to fix) may be tried again.
func (s *MailSession) Send(msg Message) error {
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	m.FromMailAddress(s.m.from)
	if err := m.To(msg.To); err != nil {
		return Permanent(fmt.Errorf("smtp: recipient %q: %w", msg.To, err))
	}
	m.Subject(msg.Subject)
	m.SetMessageIDWithValue(msg.ID + "@" + s.m.cfg.HELO)
	m.SetDate()
	m.SetGenHeader("Auto-Submitted", "auto-generated") // RFC 3834 §5
	m.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if err := s.c.Send(m); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.Reason == gomail.ErrSMTPRcptTo && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
			return Permanent(fmt.Errorf("smtp: %w", err))
		}
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}

// Close says QUIT and closes the connection.
func (s *MailSession) Close() error { return s.c.Close() }
