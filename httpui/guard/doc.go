// Package guard owns what keeps the web layer's costly or abusable work
// bounded: the login throttle, which counts failed password checks per
// account and per client address in a sliding window (throttle.go); the
// slots for password checks at once, each an Argon2id evaluation that
// holds the KDF's memory (passwords.go), which every check reserves in the
// throttle first; and the token bucket per sender of the sender API
// (ratelimit.go). Everything lives in memory: a restart forgets it, which
// costs an attacker a restart of the server, not a bypass. It knows
// nothing of HTTP or of pages; package httpui maps its refusals to 429 and
// 503 answers.
package guard
