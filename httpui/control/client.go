package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/postkasse/postkasse/store"
)

// ErrNoServer is returned by Dial when no server answers on the socket:
// the socket file is missing, or nothing listens on it any more (the
// server stopped or died).
var ErrNoServer = errors.New("no server answers on the control socket")

// Error is a refusal from the server, with the message of the error the
// server met. It matches the store's sentinels with errors.Is, so the
// command line treats it like the same error met directly.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is maps the protocol's codes back to the sentinels they came from.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case codeExists:
		return target == store.ErrExists
	case codeNotFound:
		return target == store.ErrNotFound
	case codeRevoked:
		return target == store.ErrSenderRevoked
	case codeInvalid:
		return target == ErrBadRequest
	case codeTermsNoticePeriod:
		return target == store.ErrTermsNoticePeriod
	case codeWrongPrintKey:
		return target == store.ErrWrongPrintKey
	case codeNoPrintKey:
		return target == store.ErrNoPrintKey
	case codeUnavailable:
		return target == ErrNoScheduler
	}
	return false
}

// Client talks to a running server over its control socket.
type Client struct {
	hc *http.Client
	// PID is the server's process id.
	PID int
}

var _ Operations = (*Client)(nil)

// Dial connects to the control socket at path and checks that a server
// answers. It returns ErrNoServer (wrapped) when none does.
func Dial(ctx context.Context, path string) (*Client, error) {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	c := &Client{hc: &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "unix", path)
			},
			MaxIdleConns: 1,
		},
	}}
	var st Status
	if err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st); err != nil {
		c.Close()
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%s: %w", path, ErrNoServer)
		}
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	c.PID = st.PID
	return c, nil
}

// Close closes idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// AddSender implements Operations.
func (c *Client) AddSender(ctx context.Context, req SenderRequest) (NewSender, error) {
	var out NewSender
	err := c.do(ctx, http.MethodPost, "/v1/senders", req, &out)
	return out, err
}

// Senders implements Operations.
func (c *Client) Senders(ctx context.Context) ([]SenderInfo, error) {
	var out []SenderInfo
	err := c.do(ctx, http.MethodGet, "/v1/senders", nil, &out)
	return out, err
}

// RevokeSender implements Operations.
func (c *Client) RevokeSender(ctx context.Context, req RevokeRequest) (SenderInfo, error) {
	var out SenderInfo
	err := c.do(ctx, http.MethodPost, "/v1/senders/revoke", req, &out)
	return out, err
}

// IssueCertificate implements Operations.
func (c *Client) IssueCertificate(ctx context.Context, ref SenderRef) (NewSender, error) {
	var out NewSender
	err := c.do(ctx, http.MethodPost, "/v1/senders/certificates", ref, &out)
	return out, err
}

// SetSenderRate implements Operations.
func (c *Client) SetSenderRate(ctx context.Context, req RateRequest) (SenderInfo, error) {
	var out SenderInfo
	err := c.do(ctx, http.MethodPost, "/v1/senders/rate", req, &out)
	return out, err
}

// SetSenderReplyKey implements Operations.
func (c *Client) SetSenderReplyKey(ctx context.Context, req ReplyKeyRequest) (SenderInfo, error) {
	var out SenderInfo
	err := c.do(ctx, http.MethodPost, "/v1/senders/reply-key", req, &out)
	return out, err
}

// SetSenderMessages implements Operations.
func (c *Client) SetSenderMessages(ctx context.Context, req MessagesRequest) (SenderInfo, error) {
	var out SenderInfo
	err := c.do(ctx, http.MethodPost, "/v1/senders/messages", req, &out)
	return out, err
}

// EnrolResident implements Operations.
func (c *Client) EnrolResident(ctx context.Context, req ResidentRequest) (NewResident, error) {
	var out NewResident
	err := c.do(ctx, http.MethodPost, "/v1/residents", req, &out)
	return out, err
}

// Residents implements Operations.
func (c *Client) Residents(ctx context.Context) ([]ResidentInfo, error) {
	var out []ResidentInfo
	err := c.do(ctx, http.MethodGet, "/v1/residents", nil, &out)
	return out, err
}

// do makes one request; the host name in the URL is a placeholder, the
// transport always dials the socket.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://postkasse"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var p problem
		if err := json.Unmarshal(data, &p); err != nil || p.Error == "" {
			return &Error{Status: resp.StatusCode, Code: codeInternal, Message: fmt.Sprintf("control socket: %s: %q", resp.Status, data)}
		}
		return &Error{Status: resp.StatusCode, Code: p.Code, Message: p.Error}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("control socket: decode the answer to %s %s: %w", method, path, err)
	}
	return nil
}
