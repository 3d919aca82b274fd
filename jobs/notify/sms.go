package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"
)

// DefaultSMSBody is the body template used when SMSConfig.BodyTemplate is
// empty: a JSON object with the number, the text and the idempotency key.
const DefaultSMSBody = `{"to":{{json .To}},"text":{{json .Text}},"reference":{{json .ID}}}`

// SMSConfig says how to reach the SMS gateway. Gateways differ, so the
// request is a template: URL and body are text/template templates over a
// Message (.To, .Text, .ID) with the functions json (a JSON string
// literal) and urlquery (query escaping), e.g.
//
//	URL  = "https://sms.example.com/send?to={{urlquery .To}}&text={{urlquery .Text}}"
//	Body = `{"recipient":{{json .To}},"message":{{json .Text}}}`
type SMSConfig struct {
	URL    string // template; http or https
	Method string // default POST
	// AuthHeader is one header line sent with every request, such as
	// "Authorization: Bearer 123abc" or "X-API-Key: 123abc". Empty: none.
	AuthHeader   string
	ContentType  string // default application/json
	BodyTemplate string // default DefaultSMSBody; with GET no body is sent
	Timeout      time.Duration
	// Client makes the requests; nil = a client with Timeout (default
	// 30 seconds) and the system's roots.
	Client *http.Client
}

// SMSGateway sends SMS through an HTTP gateway.
type SMSGateway struct {
	cfg                   SMSConfig
	url, body             *template.Template
	authName, authValue   string
	client                *http.Client
	method, contentType   string
	maxResponseBodyToKeep int64
}

var templateFuncs = template.FuncMap{
	"json": func(s string) (string, error) {
		b, err := json.Marshal(s)
		return string(b), err
	},
	"urlquery": url.QueryEscape,
}

// NewSMSGateway checks the configuration and parses its templates.
func NewSMSGateway(cfg SMSConfig) (*SMSGateway, error) {
	g := &SMSGateway{cfg: cfg, method: strings.ToUpper(cfg.Method), contentType: cfg.ContentType, maxResponseBodyToKeep: 200}
	if g.method == "" {
		g.method = http.MethodPost
	}
	if g.contentType == "" {
		g.contentType = "application/json"
	}
	var err error
	if g.url, err = template.New("url").Funcs(templateFuncs).Option("missingkey=error").Parse(cfg.URL); err != nil {
		return nil, fmt.Errorf("sms: url template: %w", err)
	}
	// The URL must be valid with a sample message, so a typo fails at
	// start-up and not at the first SMS.
	sample, err := g.render(g.url, Message{ID: "0", To: "+4512345678", Text: "test"})
	if err != nil {
		return nil, fmt.Errorf("sms: url template: %w", err)
	}
	if u, err := url.Parse(sample); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("sms: url %q: want an http or https URL", cfg.URL)
	}
	bodyText := cfg.BodyTemplate
	if bodyText == "" {
		bodyText = DefaultSMSBody
	}
	if g.body, err = template.New("body").Funcs(templateFuncs).Option("missingkey=error").Parse(bodyText); err != nil {
		return nil, fmt.Errorf("sms: body template: %w", err)
	}
	if cfg.AuthHeader != "" {
		name, value, ok := strings.Cut(cfg.AuthHeader, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
			return nil, errors.New("sms: auth header: want one header line such as \"Authorization: Bearer …\"")
		}
		g.authName, g.authValue = name, value
	}
	g.client = cfg.Client
	if g.client == nil {
		timeout := cfg.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		g.client = &http.Client{Timeout: timeout}
	}
	return g, nil
}

func (g *SMSGateway) render(t *template.Template, msg Message) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, msg); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Send sends one SMS. A 2xx answer is success. 408, 425, 429 and 5xx
// answers and network failures may be tried again; any other answer (the
// gateway refused the request or the number) is a Permanent error.
func (g *SMSGateway) Send(ctx context.Context, msg Message) error {
	u, err := g.render(g.url, msg)
	if err != nil {
		return Permanent(fmt.Errorf("sms: url: %w", err))
	}
	var body io.Reader
	if g.method != http.MethodGet && g.method != http.MethodHead {
		b, err := g.render(g.body, msg)
		if err != nil {
			return Permanent(fmt.Errorf("sms: body: %w", err))
		}
		body = strings.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, g.method, u, body)
	if err != nil {
		return Permanent(fmt.Errorf("sms: %w", err))
	}
	if body != nil {
		req.Header.Set("Content-Type", g.contentType)
	}
	if g.authName != "" {
		req.Header.Set(g.authName, g.authValue)
	}
	// draft-ietf-httpapi-idempotency-key-header: the same key for a
	// message sent again after a crash.
	req.Header.Set("Idempotency-Key", `"`+msg.ID+`"`)
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms: %s %s: %w", g.method, redact(req.URL), err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, g.maxResponseBodyToKeep))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("sms: %s %s: %s: %s", g.method, redact(req.URL), resp.Status, bytes.TrimSpace(snippet))
	switch resp.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return err
	}
	if resp.StatusCode >= 500 {
		return err
	}
	return Permanent(err)
}

// redact returns the URL without its query, which may hold the number,
// the text or a key.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery, c.User = "", nil
	return c.String()
}
