// Package browsertest proves the resident web UI of package httpui in a
// real browser: headless Chromium, driven with chromedp over the DevTools
// protocol, against the real server (httpui.New over a real bbolt store)
// on loopback listeners. It holds only tests; this file is its doc.
//
// What the tests prove, each the way a resident meets it:
//
//   - TestJourney: sign in, see the inbox with its unread and due-date
//     states, open a letter (which marks it read), open and download its
//     PDF document, sign out; after that the back button shows no mail
//     (every page is no-store) and the session is dead on the server.
//   - TestHTTPSSession: over HTTPS the session is a __Host- cookie
//     (Secure, HttpOnly, SameSite=Lax, host-only) without an expiry, so
//     closing the browser forgets it; signing out ends it on the server.
//   - TestLoginRefusals: a wrong password and, after repeated failures,
//     the throttle each show a clear message on the login page.
//   - TestCrossSite: forms that another origin's page submits to /login
//     and /logout are refused and change nothing.
//   - TestHostileLetter: a subject, a body and an HTML document that carry
//     script or markup are shown as inert text; nothing runs.
//   - TestAccessibility: axe-core finds no serious or critical violation
//     on the login (with and without an error), inbox, letter and
//     not-found pages; each fits 375 and 1280 CSS pixels without
//     scrolling sideways and sets body text at 16 px or more.
//     TestAxeFindsViolations shows the harness reports faults under the
//     same Content-Security-Policy.
//   - TestKeyboard: with the keyboard alone a resident reaches the skip
//     link first, signs in, moves through the inbox in reading order
//     with the focus always visible and in view, opens a letter and its
//     receipt; at both widths.
//   - TestScreenshots: every page at both widths; with -update it writes
//     them to docs/screenshots for the README.
//
// The tests need Debian's chromium (or POSTKASSE_CHROMIUM naming another
// Chromium) and axe-core from the npm registry (.ci/axe, installed by
// ./test; or POSTKASSE_AXE_JS naming axe.min.js). Without them they fail
// and say how to install them; they never skip.
//
// One browser serves the whole package; each test gets fresh incognito
// tabs, so tests run in parallel without sharing cookies. When a test
// fails, the screenshot, the HTML and the console of each of its tabs are
// written to POSTKASSE_ARTIFACTS (or a new folder under the temporary
// directory) and the test's log names the files (TestFailureArtefacts).
//
// Headless Chromium has no PDF viewer: opening a PDF leaves the viewer's
// empty shell in the tab. TestJourney therefore checks the PDF as the
// browser received it (status, headers and the bytes, taken at the
// DevTools Fetch domain's response stage) and as it saved it (download).
package browsertest
