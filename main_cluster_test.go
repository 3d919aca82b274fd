package main

import (
	"context"
	cryptorand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/internal/testsupport/pgtest"
	"github.com/postkasse/postkasse/internal/testsupport/s3test"
	"github.com/postkasse/postkasse/store"
)

// The tests in this file run Postkasse as a cluster: several `postkasse
// serve` processes (nodes), each on a data folder of its own copied from
// one made by init, on one PostgreSQL database and one S3 bucket, both
// servers of the test's own (so a test may stop them). The nodes serve a
// certificate from files ([tls]), as nodes behind a load balancer do: one
// ACME account per node could not answer the CA's challenges for a
// domain whose address is the load balancer's.

// clusterDomain is the cluster's domain; the test clients dial the node
// they are given whatever the name resolves to.
const clusterDomain = "post.example.dk"

// clusterEnv is a cluster deployment under test.
type clusterEnv struct {
	t      *testing.T
	pg     *pgtest.Server
	s3     *s3test.Server
	base   string // the data folder the nodes' folders are copied from
	bucket string
	// roots trusts the nodes' certificate.
	roots *x509.CertPool
	// A resident with an activated mailbox, and two senders.
	nid, password   string
	public, private tls.Certificate
}

// newCluster makes the deployment: its database and bucket, a data folder
// made by init and set to the cluster engine with a certificate of its
// own, a resident who activated the mailbox on a first node (then
// stopped), and two senders.
func newCluster(t *testing.T) *clusterEnv {
	t.Helper()
	c := &clusterEnv{t: t, pg: pgtest.Start(t), s3: s3test.Start(t), nid: "1203861234", password: "a long test password"}
	dbURL := c.pg.NewDatabase(t)
	endpoint, bucket, ak, sk := c.s3.NewBucket(t)
	c.bucket = bucket
	c.base = initFolder(t)
	if err := os.WriteFile(filepath.Join(c.base, "s3-credentials"), []byte(ak+"\n"+sk+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The nodes' certificate, from a CA of the test's own.
	c.roots = ownCertificate(t, c.base, clusterDomain)
	setConfigKeys(t, c.base, map[string]string{
		"engine": "cluster", "database_url": dbURL, "blobs_endpoint": endpoint, "blobs_bucket": bucket,
		"blobs_region": s3test.Region, "blobs_credentials_file": "s3-credentials",
	})
	// The operator enrols with the command line on the folder: no node
	// runs, so the commands open the database and bucket themselves.
	var code string
	code, c.public, c.private = enrol(t, c.base, c.nid)
	first := c.startNode("node-0")
	activate(t, c.browser(), first.base(), c.nid, code, c.password)
	first.stop()
	return c
}

// ownCertificate gives the data folder dir a server certificate for
// domain of its own (node.crt and node.key, set in the configuration),
// issued by a CA of the test's, whose pool it returns.
func ownCertificate(t *testing.T, dir, domain string) *x509.CertPool {
	t.Helper()
	ca, err := crypto.NewCA(cryptorand.Reader, "Test server CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer(cryptorand.Reader, []string{domain}, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "node.crt"), "CERTIFICATE", cert.Certificate[0])
	writePEM(t, filepath.Join(dir, "node.key"), "PRIVATE KEY", keyDER)
	setConfigKeys(t, dir, map[string]string{"certificate_file": "node.crt", "key_file": "node.key"})
	return ca.Pool()
}

// writePEM writes one PEM block to path, readable by its owner only.
func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// clusterNode is a running node: `postkasse serve` on a folder of its own.
type clusterNode struct {
	*serveProcess
	env  *clusterEnv
	name string
	dir  string
	addr string // its HTTPS listener, 127.0.0.1:port
}

// servingHTTPS finds the HTTPS address in the line serve prints.
var servingHTTPS = regexp.MustCompile(`\(HTTPS on ([0-9.]+:[0-9]+),`)

// startNode copies the deployment's folder for a new node called name
// and starts it on free loopback ports.
func (c *clusterEnv) startNode(name string) *clusterNode {
	c.t.Helper()
	dir := filepath.Join(c.t.TempDir(), name)
	copyTree(c.t, c.base, dir)
	setConfigKeys(c.t, dir, map[string]string{"node": name})
	n := &clusterNode{env: c, name: name, dir: dir}
	n.start()
	return n
}

// start starts the node's process (again, after kill or stop).
func (n *clusterNode) start() {
	n.env.t.Helper()
	n.serveProcess = startServe(n.env.t, os.Args[0], n.dir, "--http", "127.0.0.1:0", "--https", "127.0.0.1:0")
	m := servingHTTPS.FindStringSubmatch(n.stdout.String())
	if m == nil {
		n.env.t.Fatalf("node %s printed no HTTPS address:\n%s", n.name, n.stdout.String())
	}
	n.addr = m[1]
}

// base is the node's URL, by the cluster's domain.
func (n *clusterNode) base() string {
	_, port, _ := net.SplitHostPort(n.addr)
	return "https://" + clusterDomain + ":" + port
}

// kill ends the node with SIGKILL: no shutdown, no cleanup.
func (p *serveProcess) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// client is an HTTPS client that trusts the nodes' certificate, presents
// cert when it is not nil, and connects a URL of the cluster's domain to
// 127.0.0.1 on the URL's port: the node that port names. Its cookies go to
// every node, as a browser's go to a load balancer.
func (c *clusterEnv) client(cert *tls.Certificate) *http.Client {
	c.t.Helper()
	return loopbackClient(c.t, c.roots, cert)
}

// loopbackClient is an HTTPS client that trusts roots, presents cert when
// it is not nil, keeps cookies, and connects every URL to 127.0.0.1 on
// the URL's port, whatever its host name.
func loopbackClient(t *testing.T, roots *x509.CertPool, cert *tls.Certificate) *http.Client {
	t.Helper()
	return dialingClient(t, func(hostPort string) string {
		_, port, _ := net.SplitHostPort(hostPort)
		return net.JoinHostPort("127.0.0.1", port)
	}, roots, cert, false)
}

// browser is a client without a certificate.
func (c *clusterEnv) browser() *http.Client { return c.client(nil) }

// get fetches u with cl and returns the status and body.
func get(t *testing.T, cl *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode, string(body)
}

// clusterLetter is a letter the test delivered.
type clusterLetter struct {
	ref    string
	sender int // 0 public, 1 private
	node   int // the node it was delivered to
}

// TestClusterTwoNodes: the end-to-end journey on two nodes of one
// cluster. Two senders deliver over both nodes at once; the resident signs
// in on one and reads every letter on the other; each sender sees its own
// letters' status on either node and never the other's; a delivery sent
// again to the other node is the same letter; the operator's commands
// work against either node's folder, and `check` and `audit verify` check
// the cluster's database and bucket, read-only.
func TestClusterTwoNodes(t *testing.T) {
	c := newCluster(t)
	nodes := []*clusterNode{c.startNode("node-a"), c.startNode("node-b")}
	senders := []*http.Client{c.client(&c.public), c.client(&c.private)}

	// 24 letters, from both senders, to both nodes, four at a time.
	const letters = 24
	var (
		mu        sync.Mutex
		delivered = map[string]clusterLetter{} // id → letter
		wg        sync.WaitGroup
		jobs      = make(chan int)
	)
	for range 4 {
		wg.Go(func() {
			for i := range jobs {
				l := clusterLetter{ref: fmt.Sprintf("cluster-%d", i), sender: i % 2, node: (i / 2) % 2}
				status, answer, err := deliver(senders[l.sender], nodes[l.node].base(), c.nid, "Cluster letter "+l.ref, l.ref, crashPDF(l.ref))
				if err != nil || status != http.StatusCreated {
					t.Errorf("delivery of %s to %s: %d %+v %v", l.ref, nodes[l.node].name, status, answer, err)
					continue
				}
				mu.Lock()
				if _, dup := delivered[answer.ID]; dup {
					t.Errorf("letter id %s given twice", answer.ID)
				}
				delivered[answer.ID] = l
				mu.Unlock()
			}
		})
	}
	for i := range letters {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// Sent again to the other node: the same letter, not a second one.
	for id, l := range delivered {
		status, answer, err := deliver(senders[l.sender], nodes[1-l.node].base(), c.nid, "Cluster letter "+l.ref, l.ref, crashPDF(l.ref))
		if err != nil || status != http.StatusOK || answer.ID != id {
			t.Fatalf("%s sent again to the other node: %d %+v %v, want 200 with %s", l.ref, status, answer, err, id)
		}
		break
	}

	// The resident signs in on node a and reads on node b: the session
	// is in the database, not in a node.
	browser := c.browser()
	resp, err := browser.PostForm(nodes[0].base()+"/login", url.Values{"nationalId": {c.nid}, "password": {c.password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, n := range nodes {
		status, inbox := get(t, browser, n.base()+"/")
		if status != http.StatusOK {
			t.Fatalf("inbox on %s: %d", n.name, status)
		}
		for id, l := range delivered {
			if !strings.Contains(inbox, `href="/letters/`+id+`"`) || !strings.Contains(inbox, "Cluster letter "+l.ref) {
				t.Errorf("the inbox on %s lacks %s (%s)", n.name, id, l.ref)
			}
		}
	}
	for id, l := range delivered {
		other := nodes[1-l.node]
		if status, page := get(t, browser, other.base()+"/letters/"+id); status != http.StatusOK || !strings.Contains(page, "Cluster letter "+l.ref) {
			t.Fatalf("letter page %s (%s) on %s: %d", id, l.ref, other.name, status)
		}
		status, doc := get(t, browser, other.base()+"/letters/"+id+"/documents/0")
		if status != http.StatusOK || doc != string(crashPDF(l.ref)) {
			t.Fatalf("letter %s (%s, delivered to %s) on %s: %d, %d bytes", id, l.ref, nodes[l.node].name, other.name, status, len(doc))
		}
	}

	// Each sender sees its own letters, read, on either node; the other
	// sender's are not found on any node.
	for id, l := range delivered {
		for _, n := range nodes {
			status, body := get(t, senders[l.sender], n.base()+"/api/v1/messages/"+id)
			if status != http.StatusOK || !strings.Contains(body, `"status":"read"`) {
				t.Errorf("status of %s by its sender on %s: %d %s", id, n.name, status, body)
			}
			status, body = get(t, senders[1-l.sender], n.base()+"/api/v1/messages/"+id)
			if status != http.StatusNotFound {
				t.Errorf("status of %s by the other sender on %s: %d %s", id, n.name, status, body)
			}
		}
	}

	// The operator: a command on either node's folder goes to that node
	// through its socket; on the base folder, with no node there, it
	// opens the database itself.
	for _, dir := range []string{nodes[0].dir, nodes[1].dir, c.base} {
		if out := cli(t, "sender", "list", "--data", dir); !strings.Contains(out, "Forsyning Øst A/S") || !strings.Contains(out, "Eksempelby Kommune") {
			t.Errorf("sender list on %s:\n%s", dir, out)
		}
	}
	for _, n := range nodes {
		n.stop()
	}
	out := cli(t, "check", "--data", c.base)
	for _, want := range []string{"the cluster database of", "engine:     ok", "invariants: ok", fmt.Sprintf("%d letters sealed in v2", letters)} {
		if !strings.Contains(out, want) {
			t.Errorf("check printed no %q:\n%s", want, out)
		}
	}
	if out := cli(t, "audit", "verify", "--data", c.base); !strings.Contains(out, "the cluster database of") {
		t.Errorf("audit verify:\n%s", out)
	}
}

// open opens the deployment's store in the test, as a node would, on
// clock (nil: the time now).
func (c *clusterEnv) open(clock func() time.Time) *store.Store {
	c.t.Helper()
	cfg, err := loadResolved(c.base)
	if err != nil {
		c.t.Fatal(err)
	}
	a, err := buildAppliance(cfg, buildOptions{clock: clock, timeout: time.Second})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { a.Close() })
	return a.store
}

// checkLetters checks, in the deployment's store, that every acknowledged
// letter (reference → id) is in the resident's mailbox once and opens
// with its own content (checkStoreLetters).
func (c *clusterEnv) checkLetters(st *store.Store, acked map[string]string) {
	c.t.Helper()
	if err := checkStoreLetters(st, c.nid, c.password, acked); err != nil {
		c.t.Error(err)
	}
}

// objects counts the objects in the deployment's bucket.
func (c *clusterEnv) objects() int {
	c.t.Helper()
	n := 0
	for o := range c.s3.Client(c.t).ListObjects(context.Background(), c.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			c.t.Fatal(o.Err)
		}
		n++
	}
	return n
}

// TestClusterCrash is the crash test on the cluster engine: eight senders
// deliver over two nodes while one node or the other is killed with
// SIGKILL at random moments and started again, POSTKASSE_CRASH_KILLS
// times (default 8). Then every acknowledged letter is there once and
// opens, a reference sent again is the same letter, the database passes
// its check, and after the blob sweep (on a clock past its grace) the
// bucket holds exactly the letters' documents: nothing a killed delivery
// left behind.
func TestClusterCrash(t *testing.T) {
	kills := 8
	if v := os.Getenv("POSTKASSE_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("POSTKASSE_CRASH_KILLS=%q: want a positive number", v)
		}
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("POSTKASSE_CRASH_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("POSTKASSE_CRASH_SEED=%d POSTKASSE_CRASH_KILLS=%d", seed, kills)
	rng := rand.New(rand.NewPCG(seed, 2))

	c := newCluster(t)
	nodes := []*clusterNode{c.startNode("node-a"), c.startNode("node-b")}
	sender := c.client(&c.public)
	const workers = 8
	var (
		mu      sync.Mutex
		acked   = map[string]string{} // reference → letter id
		pending = make([]string, workers)
		next    = make([]int, workers)
	)
	record := func(ref, id string) {
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := acked[ref]; ok && prev != id {
			t.Errorf("reference %s delivered twice: %s and %s", ref, prev, id)
		}
		acked[ref] = id
	}
	// send delivers worker w's letters to node n until a request fails
	// or stop is closed.
	send := func(n *clusterNode, w int, stop <-chan struct{}) {
		for {
			select {
			case <-stop:
				return
			default:
			}
			ref := pending[w]
			if ref == "" {
				ref = fmt.Sprintf("crash-%d-%d", w, next[w])
				next[w]++
				pending[w] = ref
			}
			status, resp, err := deliver(sender, n.base(), c.nid, "Crash test letter "+ref, ref, crashPDF(ref))
			if err != nil {
				return // killed: the outcome of ref is unknown, send it again later
			}
			if status != http.StatusCreated && status != http.StatusOK {
				t.Errorf("delivery of %s to %s: status %d, code %s", ref, n.name, status, resp.Code)
				return
			}
			record(ref, resp.ID)
			pending[w] = ""
		}
	}
	for range kills {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			n := nodes[w%2]
			wg.Go(func() { send(n, w, stop) })
		}
		time.Sleep(time.Duration(10+rng.IntN(390)) * time.Millisecond)
		victim := nodes[rng.IntN(2)]
		victim.kill()
		close(stop)
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		victim.start()
	}
	// What was cut off is sent again, and every acknowledged reference
	// once more, each to the other node: 200 with the same letter.
	for w, ref := range pending {
		if ref == "" {
			continue
		}
		status, resp, err := deliver(sender, nodes[w%2].base(), c.nid, "Crash test letter "+ref, ref, crashPDF(ref))
		if err != nil || (status != http.StatusCreated && status != http.StatusOK) {
			t.Fatalf("resend of %s: %d %v", ref, status, err)
		}
		record(ref, resp.ID)
	}
	i := 0
	for ref, id := range acked {
		status, resp, err := deliver(sender, nodes[i%2].base(), c.nid, "Crash test letter "+ref, ref, crashPDF(ref))
		if err != nil || status != http.StatusOK || resp.ID != id {
			t.Fatalf("acknowledged %s (%s) on repeat: status %d id %s err %v", ref, id, status, resp.ID, err)
		}
		i++
	}
	for _, n := range nodes {
		n.stop()
	}
	t.Logf("%d kills, %d letters acknowledged", kills, len(acked))
	if len(acked) == 0 {
		t.Fatal("no delivery was acknowledged; the test proved nothing")
	}

	// A node started two hours later: past the blob sweep's grace.
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	st := c.open(later)
	ctx := context.Background()
	if err := st.Check(ctx); err != nil {
		t.Fatalf("the cluster's check: %v", err)
	}
	if err := st.CheckInvariants(ctx); err != nil {
		t.Fatalf("invariants: %v", err)
	}
	c.checkLetters(st, acked)
	before := c.objects()
	swept, _, err := st.SweepBlobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after := c.objects(); after != len(acked) {
		t.Errorf("the bucket holds %d objects after the sweep (%d before, %d swept), want one per letter: %d", after, before, swept, len(acked))
	}
	t.Logf("blob sweep: %d of %d objects were left by killed deliveries", swept, before)
}

// waitFor polls cond until it holds, failing the test after two minutes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited two minutes for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterOutages: PostgreSQL stops in the middle of a delivery run
// on two nodes, then the object store does. While either is down,
// deliveries answer 503 UNAVAILABLE and store nothing, and pages answer
// the page that says the mailbox is unavailable; when it is back,
// deliveries succeed again on the same processes, without a restart.
// Every acknowledged letter is there and opens; every refused one, sent
// again, is a new letter (it had not been stored).
func TestClusterOutages(t *testing.T) {
	c := newCluster(t)
	nodes := []*clusterNode{c.startNode("node-a"), c.startNode("node-b")}
	sender := c.client(&c.public)
	browser := c.browser()
	resp, err := browser.PostForm(nodes[0].base()+"/login", url.Values{"nationalId": {c.nid}, "password": {c.password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	var (
		mu       sync.Mutex
		acked    = map[string]string{} // reference → letter id
		refused  = map[string]bool{}
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		next     int
		nAcked   int
		nRefused int
	)
	counts := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return nAcked, nRefused
	}
	const senders = 4 // deliveries at once, two on each node
	for w := range senders {
		n := nodes[w%2]
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				ref := fmt.Sprintf("outage-%d", next)
				next++
				mu.Unlock()
				status, answer, err := deliver(sender, n.base(), c.nid, "Crash test letter "+ref, ref, crashPDF(ref))
				mu.Lock()
				switch {
				case err != nil:
					t.Errorf("delivery of %s to %s: %v", ref, n.name, err)
				case status == http.StatusCreated:
					acked[ref] = answer.ID
					nAcked++
				case status == http.StatusServiceUnavailable && answer.Code == "UNAVAILABLE":
					refused[ref] = true
					nRefused++
				default:
					t.Errorf("delivery of %s to %s: %d %+v", ref, n.name, status, answer)
				}
				mu.Unlock()
				if status == http.StatusServiceUnavailable {
					time.Sleep(50 * time.Millisecond) // as a sender backs off
				}
			}
		})
	}
	// Some letter that was delivered before the outages, to open during
	// them.
	waitFor(t, "the first deliveries", func() bool { a, _ := counts(); return a >= 8 })
	mu.Lock()
	var someID string
	for _, id := range acked {
		someID = id
		break
	}
	mu.Unlock()

	outage := func(what string, down, up func() error, page string, wantPage int) {
		t.Helper()
		a0, _ := counts()
		waitFor(t, "deliveries before "+what+" stops", func() bool { a, _ := counts(); return a >= a0+4 })
		if err := down(); err != nil {
			t.Fatalf("stop %s: %v", what, err)
		}
		_, r0 := counts()
		waitFor(t, "deliveries refused while "+what+" is down", func() bool { _, r := counts(); return r >= r0+4 })
		for _, n := range nodes {
			status, body := get(t, browser, n.base()+page)
			if status != wantPage || (wantPage == http.StatusServiceUnavailable && !strings.Contains(body, "The mailbox is unavailable right now")) {
				t.Errorf("%s on %s while %s is down: %d", page, n.name, what, status)
			}
		}
		if err := up(); err != nil {
			t.Fatalf("start %s: %v", what, err)
		}
		a1, _ := counts()
		waitFor(t, "deliveries after "+what+" is back", func() bool { a, _ := counts(); return a >= a1+4 })
		t.Logf("%s: deliveries refused while it was down, and delivered again once it was back", what)
	}
	outage("PostgreSQL", c.pg.Stop, c.pg.Start, "/", http.StatusServiceUnavailable)
	outage("the object store", c.s3.Stop, c.s3.Start, "/letters/"+someID+"/documents/0", http.StatusServiceUnavailable)
	close(stop)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	a, r := counts()
	t.Logf("%d letters acknowledged, %d refused with 503", a, r)

	// Refused means not acknowledged, and stored at most once: sent
	// again, each is a new letter (201), or, where PostgreSQL stopped
	// between committing the delivery and answering the commit (the
	// connection closed: the node cannot know the outcome, and says 503),
	// the letter stored then (200, a repeat), which checkLetters then
	// finds whole.
	repeats := 0
	for ref := range refused {
		status, answer, err := deliver(sender, nodes[0].base(), c.nid, "Crash test letter "+ref, ref, crashPDF(ref))
		if err != nil || (status != http.StatusCreated && status != http.StatusOK) {
			t.Fatalf("%s, refused with 503, sent again: %d %+v %v; want 201 (a new letter) or 200 (stored by a commit whose answer was lost)", ref, status, answer, err)
		}
		if status == http.StatusOK {
			repeats++
		}
		acked[ref] = answer.ID
	}
	if repeats > senders {
		// At most each sender's commit in flight when PostgreSQL stops.
		t.Errorf("%d letters refused with 503 were stored; at most %d commits can lose their answer", repeats, senders)
	}
	for _, n := range nodes {
		n.stop()
	}
	st := c.open(nil)
	c.checkLetters(st, acked)
	if err := st.CheckInvariants(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestClusterJobsFailover: of two nodes, one holds the jobs lease and
// runs the jobs; killed, the other takes the lease once it has run out
// (30 seconds) and runs the jobs: within a minute.
func TestClusterJobsFailover(t *testing.T) {
	c := newCluster(t)
	setConfigKeys(t, c.base, map[string]string{"notifications_schedule": "@every 2s"})
	nodes := map[string]*clusterNode{"node-a": c.startNode("node-a"), "node-b": c.startNode("node-b")}
	st := c.open(nil)
	ctx := context.Background()
	holder := func() string {
		h, expires, err := st.LeaseHolder(ctx, store.LeaseJobs)
		if err != nil || time.Now().After(expires) {
			return ""
		}
		return h
	}
	waitFor(t, "a node to take the jobs lease", func() bool { return nodes[holder()] != nil })
	victim := holder()
	survivor := "node-a"
	if victim == survivor {
		survivor = "node-b"
	}
	killed := time.Now()
	nodes[victim].kill()
	waitFor(t, survivor+" to take the jobs lease", func() bool { return holder() == survivor })
	took := time.Since(killed)
	ran := func() bool {
		runs, err := st.JobRuns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.Job == "notifications" && r.Started.After(killed.Add(took-time.Second)) && r.Outcome == store.JobOK {
				return true
			}
		}
		return false
	}
	waitFor(t, survivor+" to run the notifications job", ran)
	t.Logf("%s killed; %s took the jobs lease after %s and ran the jobs", victim, survivor, took.Round(time.Second))
	if took > time.Minute {
		t.Errorf("%s took the jobs over %s after %s died, want within a minute", survivor, took, victim)
	}
	nodes[survivor].stop()
}
