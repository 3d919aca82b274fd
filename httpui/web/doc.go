// Package web is what both faces of httpui share — the sender API
// (package api) and the resident pages (package httpui for now): the
// language of each request (the message catalogue chosen per request),
// RFC 9457 problem details and JSON answers, the security headers every
// response carries and the names of routes for logs.
//
// A Kit holds the catalogue and the logger; it is built once by
// httpui.New and handed to each face. It keeps no state of its own
// between requests: the language of a request lives in its context
// (WithLanguage, Lang).
package web
