// Package assets holds the files the binary embeds: the web UI's
// html/template views (templates/*.html), its style sheet (static/*.css)
// and the message catalogue of every text the appliance shows or sends
// (i18n/<lang>.toml and i18n/<part>.<lang>.toml, read by package i18n). It imports nothing of the project; package httpui parses
// the templates once at start-up and serves the static files under a
// content hash.
package assets

import "embed"

//go:embed templates/*.html static/*.css static/*.js i18n/*.toml
var files embed.FS

// FS returns the embedded files: templates/*.html, static/*.css,
// static/*.js (the passkey pages' script) and i18n/*.toml. The file system is read-only.
func FS() embed.FS { return files }
