// Package uitest holds what the tests of httpui and of its faces (package
// api, the resident pages) share: Env, a real appliance on loopback (a
// bbolt store in a temporary folder, an HTTP and an HTTPS listener, a
// sender CA, a clock moved by hand), clients that act as a browser or as
// a sender with its client certificate, requests that read the whole
// answer, problem checks (env.go, requests.go), and valid national
// identity numbers, documents and multipart deliveries (multipart.go).
//
// It does not import httpui, so that httpui's own (internal) tests can
// use it: NewEnv takes a function that builds the server. httpui's tests
// build their Server themselves, to look inside it; the faces' tests get
// the whole appliance from package apptest.
package uitest
