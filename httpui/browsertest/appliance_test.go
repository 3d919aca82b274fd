package browsertest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/eid"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/pgtest"
	"github.com/postkasse/postkasse/internal/testsupport/s3test"
	"github.com/postkasse/postkasse/internal/testsupport/teststore"
	"github.com/postkasse/postkasse/store"
)

// The resident of the tests and her password.
const (
	annaNID      = "1203861234"
	annaName     = "Anna Jensen"
	annaPassword = "anna-demo-2026"
)

// clock is the appliance's clock: the seed moves it through the weeks in
// which the letters arrived, then it stands at "now" for the test, so
// dates on the pages (and the screenshots) are the same on every run.
type clock = testsupport.Clock

// now is the moment the tests look at the mailbox.
var now = testsupport.Start

// appliance is a real Postkasse on loopback: a bbolt store in the test's
// temporary folder and httpui's handler on an HTTP listener; or, with
// applianceOptions.nodes, that many nodes of a cluster (each a store of
// its own on one PostgreSQL database and S3 bucket, and an httpui server
// of its own) behind one listener that hands the requests to them in
// turn, as a load balancer does.
type appliance struct {
	t       *testing.T
	store   *store.Store   // the first node's
	served  []atomic.Int64 // requests each node served
	clock   *clock
	url     string // http://127.0.0.1:port
	letters map[string]seeded
}

// seeded is a letter the seed delivered.
type seeded struct {
	ID       string
	Delivery store.Delivery
}

type applianceOptions struct {
	throttle httpui.ThrottleConfig
	hostile  bool        // also deliver a letter that carries script and markup
	https    bool        // serve over TLS (https://127.0.0.1:port) with serverCertificate
	nodes    int         // 2 or more: as nodes of a cluster (0: the embedded engine)
	eid      *eid.Client // sign in with eID at this relying party's provider
}

// The cluster's PostgreSQL and S3 servers, started by the first test that
// needs them and stopped by TestMain.
var (
	pg pgtest.Shared
	s3 s3test.Shared
)

// The one server certificate of the package, for 127.0.0.1, issued by a
// throwaway CA. The browser is started trusting its key.
var serverCert struct {
	once sync.Once
	cert tls.Certificate
	err  error
}

func serverCertificate() (tls.Certificate, error) {
	serverCert.once.Do(func() {
		ca, err := crypto.NewCA(rand.Reader, "Postkasse browser test CA", time.Now())
		if err != nil {
			serverCert.err = err
			return
		}
		serverCert.cert, serverCert.err = ca.IssueServer(rand.Reader, []string{"127.0.0.1"}, time.Now(), 24*time.Hour)
		if serverCert.err == nil && serverCert.cert.Leaf == nil {
			serverCert.cert.Leaf, serverCert.err = x509.ParseCertificate(serverCert.cert.Certificate[0])
		}
	})
	return serverCert.cert, serverCert.err
}

func newAppliance(t *testing.T, opts applianceOptions) *appliance {
	t.Helper()
	c := testsupport.NewClockAt(now)
	var stores []*store.Store
	if opts.nodes > 1 {
		stores = teststore.OpenCluster(t, &pg, &s3, opts.nodes, store.Options{Clock: c.Now})
	} else {
		stores = []*store.Store{teststore.Open(t, store.Options{Clock: c.Now})}
	}
	handlers := make([]http.Handler, len(stores))
	for i, st := range stores {
		srv, err := httpui.New(httpui.Config{
			Store:    st,
			Clock:    c.Now,
			Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
			Throttle: opts.throttle,
			// Nodes of a cluster count failed logins together, as the
			// appliance has them do.
			SharedLimits: len(stores) > 1,
			EID:          opts.eid,
		})
		if err != nil {
			t.Fatal(err)
		}
		handlers[i] = srv.Handler()
	}
	st := stores[0]
	a := &appliance{t: t, store: st, clock: c, letters: map[string]seeded{}, served: make([]atomic.Int64, len(handlers))}
	var turn atomic.Uint64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int((turn.Add(1) - 1) % uint64(len(handlers)))
		a.served[i].Add(1)
		handlers[i].ServeHTTP(w, r)
	})
	if opts.https {
		cert, err := serverCertificate()
		if err != nil {
			t.Fatal(err)
		}
		cfg := httpui.TLSConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }, x509.NewCertPool())
		a.url = "https://" + serveTLS(t, h, cfg)
	} else {
		a.url = "http://" + serve(t, h)
	}
	a.seed(opts.hostile)
	return a
}

// serve runs h on a new loopback listener until the test ends and returns
// its address.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	return serveTLS(t, h, nil)
}

// serveTLS is serve with TLS when cfg is not nil.
func serveTLS(t *testing.T, h http.Handler, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() {
		var err error
		if cfg != nil {
			srv.TLSConfig = cfg
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// Names of the seeded letters.
const (
	letterDecision  = "decision"  // a decision: PDF and a text note, read
	letterSeptember = "september" // an invoice, overdue, read
	letterSchool    = "school"    // several documents: PDF, PDF, PNG, text
	letterWaste     = "waste"     // an HTML notice, framed
	letterOctober   = "october"   // an invoice due in 5 days, unread
	letterTax       = "tax"       // an invoice due in 70 days
	letterHostile   = "hostile"   // script and markup everywhere
)

// Hostile content: if any of it ran, the page would get a dialog, a
// changed title or a global flag.
const (
	hostileSubject = `<script>alert("subject")</script><img src=x onerror="document.title='pwned'"> Final notice & <b>bold</b>`
	hostileBody    = `<b onmouseover="alert('body')">Pay now</b><script>window.pwned=1</script>`
	hostileHTML    = `<h1 onclick="alert(1)">Parking notice</h1><script>alert("doc");parent.document.title="pwned"</script>` +
		`<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">pay here</a>` +
		`<iframe src="https://evil.example/"></iframe><form action="https://evil.example/"><input name=card></form>` +
		`<p style="color:#1a4f8b">The fine is <strong>DKK 510</strong>.</p>`
)

// seed enrols Anna and delivers her letters from three senders, oldest
// first, then opens two of them (read) as she would have.
func (a *appliance) seed(hostile bool) {
	t := a.t
	t.Helper()
	nid, err := store.ParseNationalID(annaNID)
	if err != nil {
		t.Fatal(err)
	}
	a.clock.Set(now.AddDate(0, 0, -100))
	if _, _, err := a.store.AddResident(context.Background(), nid, annaName, annaPassword); err != nil {
		t.Fatal(err)
	}
	sender := func(name, org string, kind store.SenderKind) string {
		s, err := a.store.AddSender(context.Background(), name, org, kind)
		if err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	kommune := sender("Eksempelby Kommune", "29189846", store.SenderPublic)
	energi := sender("Nordlys Energi A/S", "10403782", store.SenderPrivate)
	bank := sender("Fjordbanken", "61126228", store.SenderPrivate)

	due := func(days int) string { return now.AddDate(0, 0, days).Format(time.DateOnly) }
	text := func(name, content string) store.DocumentInput {
		return store.DocumentInput{Name: name, ContentType: "text/plain", Content: []byte(content)}
	}
	letters := []struct {
		name    string
		sender  string
		daysAgo int
		read    bool
		d       store.Delivery
	}{
		{"", bank, 60, true, store.Delivery{Subject: "Your annual account statement", Type: store.TypeLetter,
			Documents: []store.DocumentInput{document(t, "statement-2026.pdf")}}},
		{letterDecision, kommune, 41, true, store.Delivery{Subject: "Decision on your application for a building permit", Type: store.TypeDecision,
			Body: "Your application of 2 September for a carport at Skovvej 12 has been decided. The decision is enclosed.",
			Documents: []store.DocumentInput{
				document(t, "decision-building-permit.pdf"),
				text("appeal-guide.txt", "How to appeal\n\nWrite to the Planning Appeals Board within four weeks.\n"),
			}}},
		{letterSeptember, energi, 33, true, store.Delivery{Subject: "Electricity bill for September", Type: store.TypeInvoice, DueDate: due(-3),
			Documents: []store.DocumentInput{document(t, "invoice-2026-09.pdf")}}},
		{letterSchool, kommune, 21, false, store.Delivery{Subject: "School enrolment for the 2027/28 school year", Type: store.TypeLetter,
			Body: "Your child can start school in August 2027. Enclosed are the letter, the form and a map of the school district.",
			Documents: []store.DocumentInput{
				document(t, "enrolment-letter.pdf"),
				document(t, "enrolment-form.pdf"),
				document(t, "school-district-map.png"),
				text("opening-hours.txt", "Eksempelby Skole\nOffice open Monday to Friday 8:00–15:00\n"),
			}}},
		{letterWaste, kommune, 14, false, store.Delivery{Subject: "Change to waste collection days from January", Type: store.TypeNotice,
			Documents: []store.DocumentInput{{Name: "waste-collection.html", ContentType: "text/html", Content: []byte(
				"<h1>New waste collection days</h1><p>From 5 January, household waste at <strong>Skovvej</strong> is collected on " +
					"<em>Tuesdays</em> instead of Thursdays.</p><ul><li>Paper and cardboard: every fourth Friday</li>" +
					"<li>Glass and metal: every eighth Friday</li></ul><p>Questions? Write to the technical department.</p>")}}}},
		{letterOctober, energi, 9, false, store.Delivery{Subject: "Electricity bill for October", Type: store.TypeInvoice, DueDate: due(5),
			Documents: []store.DocumentInput{document(t, "invoice-2026-10.pdf")}}},
		{letterTax, kommune, 6, false, store.Delivery{Subject: "Property tax for the first half of 2027", Type: store.TypeInvoice, DueDate: due(70),
			Documents: []store.DocumentInput{document(t, "property-tax-2027-1.pdf")}}},
		{"", kommune, 2, false, store.Delivery{Subject: "Appointment at the citizens' service centre", Type: store.TypeLetter,
			Documents: []store.DocumentInput{text("appointment.txt",
				"Your appointment: Thursday at 10:30, Borgerservice, Rådhuspladsen 1.\nBring photo identification.\n")}}},
	}
	if hostile {
		letters = append(letters, struct {
			name    string
			sender  string
			daysAgo int
			read    bool
			d       store.Delivery
		}{letterHostile, energi, 1, false, store.Delivery{Subject: hostileSubject, Type: store.TypeNotice, Body: hostileBody,
			Documents: []store.DocumentInput{{Name: `notice"><img src=x onerror=alert(5)>.html`, ContentType: "text/html", Content: []byte(hostileHTML)}}}})
	}
	var toRead []string
	for i, l := range letters {
		l.d.Recipient = nid
		l.d.SenderReference = fmt.Sprintf("seed-%d", i)
		a.clock.Set(now.AddDate(0, 0, -l.daysAgo).Add(-time.Duration(i) * 17 * time.Minute))
		res, err := a.store.Deliver(context.Background(), l.sender, l.d)
		if err != nil {
			t.Fatalf("deliver %q: %v", l.d.Subject, err)
		}
		if l.name != "" {
			a.letters[l.name] = seeded{ID: res.Letter.ID, Delivery: l.d}
		}
		if l.read {
			toRead = append(toRead, res.Letter.ID)
		}
	}
	a.clock.Set(now.Add(-time.Hour))
	sess, err := a.store.Login(context.Background(), annaNID, annaPassword)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := a.store.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range toRead {
		if _, err := mb.Letter(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	mb.Close()
	if err := a.store.Logout(context.Background(), sess.Token); err != nil {
		t.Fatal(err)
	}
	a.clock.Set(now)
}

// withMailbox signs the resident with the number in with the tests'
// password and runs fn on their open mailbox.
func (a *appliance) withMailbox(nid string, fn func(mb *store.Mailbox)) {
	a.t.Helper()
	ctx := context.Background()
	sess, err := a.store.Login(ctx, nid, annaPassword)
	if err != nil {
		a.t.Fatal(err)
	}
	mb, err := a.store.OpenSession(ctx, sess.Token)
	if err != nil {
		a.t.Fatal(err)
	}
	defer mb.Close()
	fn(mb)
}

// boNID is the number of Bo Berg, a second resident some tests add.
const boNID = "0202802345"

// addBo adds Bo Berg's mailbox (the tests' password), gives Anna access
// to it as asked, has Anna accept it, and returns the grant and Bo's
// number.
func (a *appliance) addBo(access store.DelegationAccess, scope store.DelegationScope) (store.Grant, store.NationalID) {
	a.t.Helper()
	ctx := context.Background()
	bo, err := store.ParseNationalID(boNID)
	if err != nil {
		a.t.Fatal(err)
	}
	if _, _, err := a.store.AddResident(ctx, bo, "Bo Berg", annaPassword); err != nil {
		a.t.Fatal(err)
	}
	var grant store.Grant
	a.withMailbox(bo.String(), func(mb *store.Mailbox) {
		if grant, err = mb.GrantAccess(ctx, store.GrantRequest{DelegateNationalID: annaNID, Access: access, Scope: scope}); err != nil {
			a.t.Fatal(err)
		}
	})
	a.withMailbox(annaNID, func(mb *store.Mailbox) {
		if err := mb.AcceptGrant(ctx, grant.ID); err != nil {
			a.t.Fatal(err)
		}
	})
	return grant, bo
}

// letter returns a seeded letter by name.
func (a *appliance) letter(name string) seeded {
	a.t.Helper()
	l, ok := a.letters[name]
	if !ok {
		a.t.Fatalf("no seeded letter %q", name)
	}
	return l
}

// logins counts successful logins in the audit log.
func (a *appliance) logins() int {
	a.t.Helper()
	entries, err := a.store.AuditLog(context.Background())
	if err != nil {
		a.t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == "login" {
			n++
		}
	}
	return n
}

// document is the file testdata/name as a letter's document: a one-page
// PDF 1.4 with a title and a few lines of Helvetica text (the text is
// readable in the file's content stream), or the school district's map
// as a PNG. Headless Chromium shows no PDF, so the tests need real, small
// files, not particular content; a changed file needs its /Length and
// xref offsets made right again.
func document(t *testing.T, name string) store.DocumentInput {
	t.Helper()
	content, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	contentType := "application/pdf"
	if filepath.Ext(name) == ".png" {
		contentType = "image/png"
	}
	return store.DocumentInput{Name: name, ContentType: contentType, Content: content}
}

// senderID returns the id of the seeded sender named name.
func (a *appliance) senderID(name string) string {
	a.t.Helper()
	senders, err := a.store.Senders(context.Background())
	if err != nil {
		a.t.Fatal(err)
	}
	for _, s := range senders {
		if s.Name == name {
			return s.ID
		}
	}
	a.t.Fatalf("no sender %q", name)
	return ""
}

// deliverToAnna delivers d from Eksempelby Kommune to Anna Jensen.
// addReplyKey registers a fresh reply key for the named sender, as a
// signature request needs, and returns its private half.
func (a *appliance) addReplyKey(sender string) *crypto.PrivateKey {
	a.t.Helper()
	k, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		a.t.Fatal(err)
	}
	pub := k.Public()
	if err := a.store.SetSenderReplyKey(context.Background(), a.senderID(sender), pub[:], false); err != nil {
		a.t.Fatal(err)
	}
	return k
}

func (a *appliance) deliverToAnna(d store.Delivery) store.DeliveryResult {
	a.t.Helper()
	nid, err := store.ParseNationalID(annaNID)
	if err != nil {
		a.t.Fatal(err)
	}
	d.Recipient = nid
	res, err := a.store.Deliver(context.Background(), a.senderID("Eksempelby Kommune"), d)
	if err != nil {
		a.t.Fatal(err)
	}
	return res
}
