package browsertest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// stepTimeout bounds one step of a test in the browser (a navigation, a
// wait, an evaluation). Steps wait on events, never on the clock; this is
// only how long a step may take before the test fails instead of hanging.
const stepTimeout = 30 * time.Second

// The one browser of the package, started by the first test that needs it
// and closed by TestMain.
var shared struct {
	once   sync.Once
	ctx    context.Context // the browser's root context: run nothing on it
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	for _, close := range []func() error{pg.Close, s3.Close} {
		if err := close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	// A folder of artefacts this run made and left empty is not kept.
	if artefacts.dir != "" && os.Getenv("POSTKASSE_ARTIFACTS") == "" {
		os.Remove(artefacts.dir) // fails, as it should, when not empty
	}
	os.Exit(code)
}

// chromiumPath finds the browser: POSTKASSE_CHROMIUM, or chromium on
// PATH (Debian's package), or its usual place.
func chromiumPath() (string, error) {
	if p := os.Getenv("POSTKASSE_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	return "", errors.New("no chromium on PATH")
}

// browserContext returns the root context of the shared browser, starting
// it at the first call. A browser that cannot start fails the test: these
// tests never skip.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	shared.once.Do(func() {
		path, err := chromiumPath()
		if err != nil {
			shared.err = err
			return
		}
		cert, err := serverCertificate()
		if err != nil {
			shared.err = err
			return
		}
		spki := sha256.Sum256(cert.Leaf.RawSubjectPublicKeyInfo)
		// The profile lives as long as the package's tests, not one
		// test's TempDir; chromedp removes a profile it made itself.
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // the tests run as root in CI
			chromedp.DisableGPU,
			// Quiet on a closed network: no updates, no QUIC probes, no
			// background requests to Google's services.
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("no-first-run", true),
			chromedp.Flag("lang", "en-GB"),
			// Trust exactly the test server's key (and nothing else that
			// fails verification), so HTTPS pages are secure contexts and
			// take __Host- cookies. Chromium honours the flag only with a
			// profile of its own (chromedp makes one).
			chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
			chromedp.WindowSize(1280, 900),
		)
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(allocCtx)
		// The first Do starts the browser and binds it to ctx, so it has
		// no deadline of its own.
		if err := chromedp.Do(ctx, chromedp.Func(func(context.Context, *chromedp.Target) error {
			return nil
		})); err != nil {
			cancel()
			cancelAlloc()
			shared.err = fmt.Errorf("start %s: %w", path, err)
			return
		}
		shared.ctx = ctx
		shared.cancel = func() { cancel(); cancelAlloc() }
	})
	if shared.err != nil {
		t.Fatalf("the browser tests need headless Chromium: %v\n"+
			"install Debian's chromium (apt-get install chromium, as ./test does), "+
			"or set POSTKASSE_CHROMIUM to a Chromium or Chrome binary", shared.err)
	}
	return shared.ctx
}

// tab is one browser tab in its own incognito browser context (its own
// cookies and cache), for one test.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context // the tab's context, without a deadline

	mu      sync.Mutex
	console []string // console messages, exceptions and dialogs, in order
	dialogs int      // JavaScript dialogs (alert, confirm) opened
}

// newTab opens a fresh incognito tab for t, closed when t ends. If t has
// failed by then, the tab's screenshot, HTML and console are saved first.
func newTab(t *testing.T, name string) *tab {
	t.Helper()
	root := browserContext(t)
	tb := &tab{t: t, name: name}
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext(),
		chromedp.WithListener(tb.listen))
	tb.ctx = ctx
	t.Cleanup(cancel)
	// Open the tab now, with the tab's own context: the first Do binds
	// the tab's life to the context it is given, so not to a step's
	// deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab %s: %v", name, err)
	}
	// Registered after cancel, so it runs before it.
	t.Cleanup(func() {
		if t.Failed() {
			tb.saveArtefacts()
		}
	})
	return tb
}

// listen records what the page says, and any JavaScript dialog: pages of
// Postkasse run no script, so a dialog means injected code ran. It runs in
// the tab's event loop: fast, no commands.
func (tb *tab) listen(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range ev.Args {
			if len(a.Value) > 0 {
				args = append(args, string(a.Value))
			} else {
				args = append(args, a.Description)
			}
		}
		tb.console = append(tb.console, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		tb.console = append(tb.console, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
	case *page.EventJavascriptDialogOpening:
		tb.dialogs++
		tb.console = append(tb.console, fmt.Sprintf("dialog %s: %q", ev.Type, ev.Message))
		// Close it from outside the event loop, or the page hangs.
		go chromedp.Call(tb.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
	}
}

// dialogCount is how many JavaScript dialogs the tab has seen.
func (tb *tab) dialogCount() int {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.dialogs
}

func (tb *tab) consoleLog() string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return strings.Join(tb.console, "\n")
}

// do runs steps in the tab, failing the test at the first error.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", tb.name, err)
	}
}

// run runs one action that returns a value, failing the test on error.
func run[T any](tb *tab, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatalf("%s: %v", tb.name, err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page (awaiting it when it
// is a promise) and decodes its value into T.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	return run(tb, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// location is the tab's URL.
func (tb *tab) location() string {
	tb.t.Helper()
	return run(tb, chromedp.Location())
}

// text is the visible text of the page's body.
func (tb *tab) text() string {
	tb.t.Helper()
	return eval[string](tb, `document.body.innerText`)
}

// viewport sets the tab's CSS viewport width (and a phone-like or desktop
// height).
func (tb *tab) viewport(width int64) {
	tb.t.Helper()
	height := int64(900)
	if width < 600 {
		height = 812
	}
	tb.do(chromedp.EmulateViewport(width, height))
}

// artefacts is the folder failure artefacts go to: POSTKASSE_ARTIFACTS, or
// a new folder under the temporary directory that outlives the test run.
var artefacts struct {
	once sync.Once
	dir  string
	err  error
}

func artefactDir() (string, error) {
	artefacts.once.Do(func() {
		if d := os.Getenv("POSTKASSE_ARTIFACTS"); d != "" {
			artefacts.dir, artefacts.err = d, os.MkdirAll(d, 0o755)
			return
		}
		artefacts.dir, artefacts.err = os.MkdirTemp("", "postkasse-browsertest-")
	})
	return artefacts.dir, artefacts.err
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// saveArtefacts writes the tab's screenshot, page HTML and console log
// where CI output shows them, and returns the files' paths.
func (tb *tab) saveArtefacts() []string {
	t := tb.t
	dir, err := artefactDir()
	if err != nil {
		t.Logf("failure artefacts: %v", err)
		return nil
	}
	base := filepath.Join(dir, unsafeName.ReplaceAllString(t.Name()+"-"+tb.name, "_"))
	// A fresh deadline: the step that failed may have used up its own.
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	var saved []string
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		t.Logf("failure artefacts: screenshot: %v", err)
	} else if err := os.WriteFile(base+".png", png, 0o644); err == nil {
		saved = append(saved, base+".png")
	}
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Logf("failure artefacts: page HTML: %v", err)
	} else {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		html = "<!-- " + strings.ReplaceAll(loc, "--", "%2D%2D") + " -->\n" + html
		if err := os.WriteFile(base+".html", []byte(html), 0o644); err == nil {
			saved = append(saved, base+".html")
		}
	}
	if log := tb.consoleLog(); log != "" {
		if err := os.WriteFile(base+".console.txt", []byte(log+"\n"), 0o644); err == nil {
			saved = append(saved, base+".console.txt")
		}
	}
	if len(saved) > 0 {
		t.Logf("failure artefacts of tab %q:\n\t%s", tb.name, strings.Join(saved, "\n\t"))
	}
	return saved
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// login signs in on the tab's current page, the login form, the way a
// resident does: type, then press Enter. It waits for the inbox.
func (tb *tab) login(nid, password string) {
	tb.t.Helper()
	tb.do(
		chromedp.WaitVisible(chromedp.ID("nationalId")),
		chromedp.SendKeys(chromedp.ID("nationalId"), nid),
		chromedp.SendKeys(chromedp.ID("password"), password+"\n"),
		chromedp.WaitVisible(chromedp.CSS("main .inbox")),
	)
}

// TestFailureArtefacts: what a failing test leaves behind is a real
// screenshot and the page's HTML, at paths the log names.
func TestFailureArtefacts(t *testing.T) {
	t.Parallel()
	a := newAppliance(t, applianceOptions{})
	tb := newTab(t, "artefacts")
	tb.do(chromedp.Navigate(a.url+"/login"), chromedp.Evaluate[chromedp.Void](`console.log("hello from the page")`))
	files := tb.saveArtefacts()
	want := map[string]string{".png": "\x89PNG\r\n", ".html": "Sign in to your mailbox", ".console.txt": "hello from the page"}
	if len(files) != len(want) {
		t.Fatalf("artefacts %q, want a screenshot, the HTML and the console", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ext := filepath.Ext(f)
		if strings.HasSuffix(f, ".console.txt") {
			ext = ".console.txt"
		}
		if !strings.Contains(string(b), want[ext]) {
			t.Errorf("%s lacks %q", f, want[ext])
		}
		os.Remove(f)
	}
}
