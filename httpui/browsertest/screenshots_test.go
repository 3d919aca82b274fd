package browsertest

import (
	"bytes"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

var update = flag.Bool("update", false, "write the screenshots to docs/screenshots (go test -run TestScreenshots -update)")

// screenshotDir is where -update writes: the repository's docs/screenshots,
// two folders above this package.
const screenshotDir = "../../docs/screenshots"

// widths are the viewports every page is shown and checked at: a phone
// and a laptop, in CSS pixels.
var widths = []int64{375, 1280}

// TestScreenshots takes a full-page screenshot of each page at each width.
// With -update they replace docs/screenshots/*.png (the README's tour);
// without, they go to a temporary folder and are only checked to be
// whole images of the right width.
func TestScreenshots(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if *update {
		dir = screenshotDir
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, width := range widths {
		// A new mailbox for each width: opening a letter marks it read.
		a := newAppliance(t, applianceOptions{})
		tb := newTab(t, "screenshots-"+itoa(width))
		tb.viewport(width)
		shoot := func(name string) {
			t.Helper()
			// Screenshots show the page as a resident sees it, not with
			// the pointer or the focus on something.
			tb.do(chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
			img := run(tb, chromedp.FullScreenshot(100))
			cfg, err := png.DecodeConfig(bytes.NewReader(img))
			if err != nil || int64(cfg.Width) != width {
				t.Fatalf("%s at %d px: not a PNG of that width (%v, %d px)", name, width, err, cfg.Width)
			}
			file := filepath.Join(dir, name+"-"+itoa(width)+".png")
			if err := os.WriteFile(file, img, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s (%dx%d)", file, cfg.Width, cfg.Height)
		}
		tb.do(chromedp.Navigate(a.url + "/login"))
		shoot("login")
		tb.login(annaNID, annaPassword)
		shoot("inbox")
		tb.do(chromedp.Navigate(a.url + "/letters/" + a.letter(letterSchool).ID))
		shoot("letter")
		tb.do(chromedp.Navigate(a.url + "/letters/" + a.letter(letterWaste).ID))
		shoot("letter-html")
	}
}
