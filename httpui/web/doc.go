// Package web is what the faces of httpui share — the sender API (package
// api) and the resident pages (package resident), later the operator's:
//
//   - Kit: the catalogue and the logger; the language of each request
//     (WithLanguage, Lang: language.go), RFC 9457 problems and JSON
//     answers (problem.go).
//   - Pages: every template parsed once per language at start-up, the
//     rendering of a page in the request's language with the footer's
//     links to the other languages, the error pages, the static files
//     under their content hash and URLs built from route names (pages.go).
//   - The security headers every response carries and the
//     Content-Security-Policy of pages, letters and documents
//     (headers.go), the names of routes for logs (kit.go).
//
// Nothing here keeps state between requests: the language of a request
// lives in its context.
package web
