// Package guard owns what keeps the web layer's costly or abusable work
// bounded: the login throttle, which counts failed password checks per
// account and per client address in a sliding window (throttle.go); the
// slots for password checks at once, each an Argon2id evaluation that
// holds the KDF's memory, with the first-come-first-served line of checks
// waiting for one, bounded by the checks' measured cost, and the return of
// that memory to the system once the checks go idle (passwords.go), which
// every check reserves in the throttle first; and the token bucket per sender of the sender API
// (ratelimit.go). Each rule has one home, which works on a small state
// value per key; the states live behind one interface (states.go), in
// this process's memory, where a restart forgets them (which costs an
// attacker a restart of the server, not a bypass), or in the store, where
// the nodes of a cluster on one database count together. It knows
// nothing of HTTP or of pages; package httpui maps its refusals to 429 and
// 503 answers.
package guard
