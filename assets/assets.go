// Package assets holds the files the binary embeds: the web UI's
// html/template views (templates/*.html) and its style sheet
// (static/*.css). It imports nothing of the project; package httpui parses
// the templates once at start-up and serves the static files under a
// content hash.
package assets

import "embed"

//go:embed templates/*.html static/*.css
var files embed.FS

// FS returns the embedded files: templates/*.html and static/*.css. The
// file system is read-only.
func FS() embed.FS { return files }
