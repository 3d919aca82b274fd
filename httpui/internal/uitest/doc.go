// Package uitest holds what the tests of httpui and its faces (api, the
// resident pages) share: valid national identity numbers, documents of
// each type and multipart/form-data deliveries built from parts
// (multipart.go). It does not import httpui, so httpui's own tests may
// use it.
package uitest
