// Package httpui is Postkasse's HTTP face. It owns the Server: New builds
// every part from Config, mounts the two faces on one gorilla/mux router,
// answers what no route matches (a problem under /api/, a page elsewhere)
// and wraps it all in the middleware (panic recovery, security headers,
// the language of the request, cross-origin protection); TLSConfig is the
// HTTPS listener's. The parts are packages of their own:
//
//   - package resident: the resident pages (server rendered, no
//     JavaScript) — sign-in, activation, inbox, letters and documents,
//     terms of use, settings, deleting the mailbox, the recovery key.
//   - package api: the sender API (API.md, base /api/v1, authenticated by
//     TLS client certificates).
//   - package web: what both faces share — the language of a request,
//     problems (RFC 9457) and JSON answers, the security headers, and
//     Pages: the templates, error pages and static files.
//   - package guard: the login throttle, the slots for password checks
//     and the senders' rate limits.
//   - package internal/uitest: the test appliance and helpers that the
//     tests of all of them share.
//
// (Operator pages, when they come, are a third face beside these two.)
//
// Handlers parse the request, call package store and respond; the rules of
// the domain live in store. One file per handler (resident/login.go,
// resident/inbox.go, api/deliver.go …); forms and message parts only parse
// (resident/form_*.go, api/form_message.go); web/problem.go and
// web/pages.go are the response helpers. Templates come from package
// assets, found by listing templates/, and are parsed once per language
// by New (web.NewPages), so a missing or broken view fails at start-up,
// not at request time. URLs are built from the names of gorilla/mux
// routes.
//
// # Languages
//
// Every text a page, an error page or a problem's title shows comes from
// the message catalogue (package i18n over assets/i18n/*.toml): templates
// call T ("{{T "inbox.title"}}") and TH (for the few messages with a link
// or emphasis in them, whose values are escaped), handlers look messages
// up with the request's language (web.Kit.Lang). The language is the lang query
// parameter, remembered in a cookie; else that cookie; else the
// resident's choice on the settings page (stored with
// store.Mailbox.SetLanguage); else the best match of Accept-Language;
// else Config.DefaultLanguage (web/language.go). <html lang> and
// Content-Language say which, and every footer links the page in the other
// languages. Dates, sizes and periods are written the language's way.
//
// # Renewed keys
//
// A sign-in that gave the resident's key pair its ML-KEM-768 half renews
// the recovery key too (store.Session.NewRecoveryKey); the answer to that
// sign-in is the page with the new key, before the inbox
// (resident/recovery_key.go).
//
// # Sessions
//
// A successful login sets a cookie whose value is the store's session
// token: it names the session and carries the secret that unwraps the
// resident's private key for one request (store.OpenSession). Over HTTPS
// the cookie is "__Host-postkasse" (Secure, Path=/, no Domain: RFC 6265bis
// §4.1.3.2); over plain HTTP, which the demo serves on loopback, it is
// "postkasse". Both are HttpOnly and SameSite=Lax, and neither has an
// expiry: closing the browser forgets the cookie, while the store ends the
// session itself after its idle time or lifetime. Signing in again ends
// the session the browser had, so one browser holds one session.
//
// A resident with two-step verification on gets no session for the
// password: the cookie "__Host-postkasse-step" ("postkasse-step" over
// HTTP; HttpOnly, SameSite=Strict, five minutes) carries the token of
// the sign-in's first step, which only the code at /login/code turns into
// a session (resident/login_code.go, store/secondstep.go). Codes are
// checked under the login throttle like passwords.
//
// # Password checks
//
// A password is checked (Argon2id, costly on purpose) to sign in and to
// delete the mailbox. Each check first reserves its place in the login
// throttle, which counts failures and checks under way per account and per
// client address, then takes one of a bounded number of slots for checks
// at once (Config.MaxPasswordChecks), so neither a burst against one
// account nor one spread over many can get more checks, or more memory,
// than allowed. A check that finds the slots taken waits in line, for at
// most Config.PasswordCheckWait (guard.PasswordChecks). Both, and the senders' rate limit, are package guard's;
// resident/password_check.go and api/sender.go (withSender) use them.
//
// # Activation
//
// A mailbox the operator enrolled (store.EnrolResident) is pending, with no
// key pair, until the resident activates it at /activate (resident/activate.go)
// with the activation code and a password of their own; the page then
// shows the recovery key, once. The operator sees neither. An activation
// goes through the same throttle and slots as a password check, and a
// wrong code counts as a failure of the account and the address.
//
// # Terms of use
//
// Once a version of the terms of use is in force that the resident has
// not accepted, every page that opens the mailbox answers 303 to /terms
// (termsGate in withMailbox, package resident), which shows the text in full with the choice
// of accepting it or deleting the mailbox; only those pages pass the gate.
//
// # Cross-site requests
//
// The whole handler is wrapped in net/http's CrossOriginProtection, which
// refuses non-safe requests that a browser marks as cross-site
// (Sec-Fetch-Site, or an Origin that is not the Host). Requests without
// those headers — curl, the senders' API clients — pass; API requests are
// authenticated by client certificates, not cookies.
package httpui
