package main

// A sender's tools: postkasse send delivers a letter (from files, or a
// MeMo message as it is) and postkasse events
// reads the sender's events, through the sender API with the sender's
// client certificate, as any of a municipality's systems would.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// senderFlags are the flags of the sender's tools that say how to reach
// the API.
type senderFlags struct {
	api, cert, key, cacert *string
}

func addSenderFlags(fs interface {
	String(name, value, usage string) *string
}) senderFlags {
	return senderFlags{
		api:    fs.String("api", "", "the appliance's address, https://post.eksempelby.dk, or the API's, …/api/v1 (required)"),
		cert:   fs.String("cert", "", "the sender's client certificate, PEM (required)"),
		key:    fs.String("key", "", "its private key, PEM (required)"),
		cacert: fs.String("cacert", "", "a PEM file of roots to trust for the appliance's certificate besides the system's"),
	}
}

// client returns an HTTPS client presenting the sender's certificate, and
// the API's base URL without a trailing slash.
func (f senderFlags) client(cmd string) (*http.Client, string, error) {
	if *f.api == "" || *f.cert == "" || *f.key == "" {
		return nil, "", fmt.Errorf("%w: %s: --api, --cert and --key are needed", errUsage, cmd)
	}
	u, err := url.Parse(*f.api)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, "", fmt.Errorf("%w: %s: --api %q: want https://HOST/api/v1", errUsage, cmd, *f.api)
	}
	pair, err := tls.LoadX509KeyPair(*f.cert, *f.key)
	if err != nil {
		return nil, "", fmt.Errorf("%s: the client certificate: %w", cmd, err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if *f.cacert != "" {
		pem, err := os.ReadFile(*f.cacert)
		if err != nil {
			return nil, "", fmt.Errorf("%s: --cacert: %w", cmd, err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, "", fmt.Errorf("%s: --cacert %s: no PEM certificate in it", cmd, *f.cacert)
		}
	}
	c := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots, MinVersion: tls.VersionTLS12},
	}}
	base := strings.TrimRight(*f.api, "/")
	if !strings.HasSuffix(base, "/api/v1") {
		base += "/api/v1" // the appliance's address alone
	}
	return c, base, nil
}

// apiError reads a problem+json answer into an error naming its code.
func apiError(cmd string, resp *http.Response) error {
	var p struct {
		Code   string `json:"code"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(body, &p) == nil && p.Code != "" {
		return fmt.Errorf("%s: %s %s: %s", cmd, resp.Status, p.Code, p.Detail)
	}
	return fmt.Errorf("%s: %s: %s", cmd, resp.Status, strings.TrimSpace(string(body)))
}

// documentTypes are the content types of documents by file extension.
var documentTypes = map[string]string{
	".pdf": "application/pdf", ".txt": "text/plain", ".html": "text/html", ".htm": "text/html",
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".xml": "application/xml",
}

// runSend: postkasse send … FILE... | postkasse send … --memo FILE
func runSend(args []string, stdout io.Writer) error {
	fs := newFlagSet("send")
	sf := addSenderFlags(fs)
	to := fs.String("to", "", "the recipient's national identity number (required)")
	subject := fs.String("subject", "", "the letter's subject (required)")
	ref := fs.String("reference", "", "your reference for the letter: sending it again is safe (required)")
	typ := fs.String("type", "", "letter (default), decision, invoice or notice")
	replyAllowed := fs.Bool("reply-allowed", false, "the resident may reply (your reply key must be registered)")
	inReplyTo := fs.String("in-reply-to", "", "the id of the resident's reply this letter answers")
	signBy := fs.String("sign-by", "", "ask the resident to sign the first FILE by this day (YYYY-MM-DD); your reply key must be registered, as the signed result is sealed to it")
	signText := fs.String("sign-description", "", "with --sign-by, what the resident is asked to sign (required with it)")
	notBefore := fs.String("not-before", "", "deliver at this time (RFC 3339): not supported by this appliance yet")
	memoFile := fs.String("memo", "", "a MeMo 1.1 or 1.2 message (XML) to deliver as it is (POST /api/v1/memo): it says the recipient, subject, documents and reference, so no other letter flag or FILE goes with it")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return parseFlags(fs, args)
	} else if err != nil {
		return fmt.Errorf("%w: send: %v", errUsage, err)
	}
	files := fs.Args()
	var path, contentType string
	var body []byte
	switch {
	case *memoFile != "":
		if *to != "" || *subject != "" || *ref != "" || *typ != "" || *notBefore != "" || *replyAllowed || *inReplyTo != "" || *signBy != "" || *signText != "" || len(files) > 0 {
			return fmt.Errorf("%w: send: --memo takes the letter from the message: no --to, --subject, --reference, --type, --not-before or FILE with it", errUsage)
		}
		data, err := os.ReadFile(*memoFile)
		if err != nil {
			return fmt.Errorf("send: --memo: %w", err)
		}
		path, contentType, body = "/memo", "application/xml", data
	case *to == "" || *subject == "" || *ref == "" || len(files) == 0:
		return fmt.Errorf("%w: send: --to, --subject, --reference and at least one FILE are needed (or --memo FILE)", errUsage)
	case (*signBy == "") != (*signText == ""):
		return fmt.Errorf("%w: send: --sign-by and --sign-description go together", errUsage)
	case *notBefore != "":
		return errors.New("send: --not-before: scheduled letters are not supported by this appliance yet; send it at the time it is due")
	default:
		msg := map[string]any{"recipient": map[string]string{"nationalId": *to}, "subject": *subject, "senderReference": *ref}
		if *typ != "" {
			msg["type"] = *typ
		}
		if *replyAllowed {
			msg["replyAllowed"] = true
		}
		if *inReplyTo != "" {
			msg["inReplyTo"] = *inReplyTo
		}
		if *signBy != "" {
			msg["signatureRequest"] = map[string]string{"deadline": *signBy, "description": *signText}
		}
		var err error
		if contentType, body, err = letterForm(msg, files); err != nil {
			return err
		}
		path = "/messages"
	}
	client, api, err := sf.client("send")
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, api+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return apiError("send", resp)
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	// The answer as the API gave it, receipt and all: keep it, it is the
	// proof of delivery (postkasse audit verify --receipt takes it).
	stdout.Write(bytes.TrimSpace(answer))
	fmt.Fprintln(stdout)
	return nil
}

// letterForm is the multipart/form-data body of a delivery (API.md,
// "Deliver a letter") of msg with files as its documents, and its
// content type.
func letterForm(msg map[string]any, files []string) (string, []byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="message"`)
	h.Set("Content-Type", "application/json")
	pw, err := mw.CreatePart(h)
	if err != nil {
		return "", nil, err
	}
	if err := json.NewEncoder(pw).Encode(msg); err != nil {
		return "", nil, err
	}
	for _, name := range files {
		ct, ok := documentTypes[strings.ToLower(filepath.Ext(name))]
		if !ok {
			return "", nil, fmt.Errorf("send: %s: a document must be .pdf, .txt, .html, .png, .jpg or .xml", name)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return "", nil, fmt.Errorf("send: %w", err)
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "document", "filename": filepath.Base(name)}))
		h.Set("Content-Type", ct)
		pw, err := mw.CreatePart(h)
		if err != nil {
			return "", nil, err
		}
		if _, err := pw.Write(data); err != nil {
			return "", nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return "", nil, err
	}
	return mw.FormDataContentType(), body.Bytes(), nil
}

// runEvents: postkasse events … [--after CURSOR] [--follow]
func runEvents(args []string, stdout io.Writer) error {
	fs := newFlagSet("events")
	sf := addSenderFlags(fs)
	after := fs.String("after", "", "the cursor of the last event you handled (none: from the oldest kept)")
	follow := fs.Bool("follow", false, "keep reading new events until interrupted")
	every := fs.Duration("every", 10*time.Second, "with --follow, how often to ask")
	replyKey := fs.String("reply-key", "", "a private key written by postkasse reply-key: open each reply (and message) event's reply, and each signed event's signature, into --replies")
	replies := fs.String("replies", "replies", "with --reply-key, the folder each reply is written to (a folder per reply: reply.txt, reply.json, the attachments), and each signature (LETTER.pdf, the signed PDF, and LETTER.p7s, the detached CMS)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *every < time.Second {
		return fmt.Errorf("%w: events: --every %s: at least 1s", errUsage, *every)
	}
	client, api, err := sf.client("events")
	if err != nil {
		return err
	}
	var opener *replyOpener
	if *replyKey != "" {
		k, err := readReplyKey(*replyKey)
		if err != nil {
			return fmt.Errorf("events: %w", err)
		}
		defer k.Zero()
		if err := os.MkdirAll(*replies, 0o700); err != nil {
			return fmt.Errorf("events: --replies: %w", err)
		}
		opener = &replyOpener{client: client, api: api, key: k, dir: *replies}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cursor := *after
	for {
		n, next, err := eventsPage(ctx, client, api, cursor, stdout, opener)
		if err != nil {
			return err
		}
		cursor = next
		if n > 0 {
			continue // there may be more right away
		}
		if !*follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*every):
		}
	}
}

// eventsPage prints one page of events, one JSON object a line, and
// returns how many and the cursor after them. With an opener, each reply
// event's reply is opened into its folder before the event is printed.
func eventsPage(ctx context.Context, client *http.Client, api, after string, stdout io.Writer, opener *replyOpener) (int, string, error) {
	u := api + "/events?limit=1000"
	if after != "" {
		u += "&after=" + url.QueryEscape(after)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("events: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, "", apiError("events", resp)
	}
	var page struct {
		Events []json.RawMessage `json:"events"`
		Next   string            `json:"next"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&page); err != nil {
		return 0, "", fmt.Errorf("events: the answer: %w", err)
	}
	for _, e := range page.Events {
		if opener != nil {
			var ev struct {
				Type, ReplyID, LetterID string
				WrittenBy               *replyWriter
			}
			if err := json.Unmarshal(e, &ev); err != nil {
				return 0, "", fmt.Errorf("events: the answer: %w", err)
			}
			switch ev.Type {
			case "reply", "message":
				if err := opener.open(ctx, ev.ReplyID, ev.WrittenBy); err != nil {
					return 0, "", err
				}
			case "signed":
				if err := opener.openSignature(ctx, ev.LetterID); err != nil {
					return 0, "", err
				}
			}
		}
		var line bytes.Buffer
		if err := json.Compact(&line, e); err != nil {
			return 0, "", err
		}
		fmt.Fprintln(stdout, line.String())
	}
	return len(page.Events), page.Next, nil
}
