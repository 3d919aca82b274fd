package resident_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// TestCommonPasswordRefused: "password123" is refused wherever a
// password is chosen (activation, change, recovery), with a message that
// says why and what to do instead, in the resident's language; nothing
// is changed, and a password that is hard to guess is taken.
func TestCommonPasswordRefused(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	const weak, strong = "password123", "sommerferie i skagen"
	const says = "That password is too easy to guess"

	// Activation.
	code := e.Enrol(uitest.NIDBjorn, "Bjørn Hansen")
	b := e.Browser()
	r := e.PostForm(b, e.HTTPURL+"/activate", uitest.Activation(uitest.NIDBjorn, code, weak, weak), nil)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, says) || !strings.Contains(r.Text, `aria-invalid="true"`) {
		t.Fatalf("activation with %q: %d\n%s", weak, r.StatusCode, r.Text)
	}
	if n := e.AuditCount("activate"); n != 0 {
		t.Fatalf("activated with a common password")
	}
	da := http.Header{"Accept-Language": {"da"}}
	if r := e.PostForm(b, e.HTTPURL+"/activate", uitest.Activation(uitest.NIDBjorn, code, weak, weak), da); !strings.Contains(r.Text, "Den adgangskode er for let at gætte") {
		t.Errorf("activation in Danish:\n%s", r.Text)
	}

	// Changing the password.
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	change := func(next string, h http.Header) *uitest.Response {
		return e.PostForm(anna, e.HTTPURL+"/settings/password", url.Values{"current": {uitest.Password}, "new": {next}, "confirm": {next}}, h)
	}
	if r := change(weak, nil); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, says) {
		t.Fatalf("change to %q: %d\n%s", weak, r.StatusCode, r.Text)
	}
	if r := change(weak, http.Header{"Accept-Language": {"nb"}}); !strings.Contains(r.Text, "Det passordet er for lett å gjette") {
		t.Errorf("change in Norwegian:\n%s", r.Text)
	}
	if n := e.AuditCount("change-password"); n != 0 {
		t.Fatal("the password was changed to a common one")
	}
	if r := change(strong, nil); r.StatusCode != http.StatusOK {
		t.Fatalf("change to a strong password: %d\n%s", r.StatusCode, r.Text)
	}

	// Recovery with the recovery key: refused before the key is tried.
	r = e.PostForm(e.Browser(), e.HTTPURL+"/recover", url.Values{"nationalId": {uitest.NIDAnna},
		"recoveryKey": {strings.Repeat("a", 64)}, "new": {weak}, "confirm": {weak}}, nil)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, says) {
		t.Errorf("recovery with %q: %d\n%s", weak, r.StatusCode, r.Text)
	}
}
