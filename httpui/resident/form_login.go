package resident

import (
	"net"
	"net/http"
	"strings"

	"github.com/postkasse/postkasse/store"
)

// maxFormSize bounds the body of a web form.
const maxFormSize = 16 << 10

// loginForm is the login form as sent. It only parses.
type loginForm struct {
	NationalID string
	Password   string
}

func parseLoginForm(w http.ResponseWriter, r *http.Request) loginForm {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	// A body over the limit or malformed leaves the fields empty, which
	// fails like wrong credentials.
	_ = r.ParseForm()
	return loginForm{
		NationalID: strings.TrimSpace(r.PostForm.Get("nationalId")),
		Password:   r.PostForm.Get("password"),
	}
}

// account is the key under which failed logins for the form's account are
// counted: the number's digits when it is valid, so "010170-1234" and
// "0101701234" count together.
func (f loginForm) account() string {
	if nid, err := store.ParseNationalID(f.NationalID); err == nil {
		return nid.Number
	}
	s := f.NationalID
	if len(s) > 32 {
		s = s[:32]
	}
	return "invalid:" + s
}

// clientAddress is the address failed logins are counted under: the TCP
// peer's IP. X-Forwarded-For is not trusted; it is whatever the client
// says.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.To4() == nil {
		// An IPv6 client usually has a whole /64: count it as one.
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return host
}
