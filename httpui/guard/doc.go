// Package guard owns what keeps the web layer's costly or abusable work
// bounded: the login throttle, which counts failed password checks per
// account and per client address in a sliding window (throttle.go); the
// slots for password checks at once, each an Argon2id evaluation that
// holds the KDF's memory, with the first-come-first-served line of checks
// waiting for one, bounded by the checks' measured cost, and the return of
// that memory to the system once the checks go idle (passwords.go), which
// every check reserves in the throttle first; the token bucket per sender
// of the sender API, the sender's own or the default (ratelimit.go); the
// bytes of request bodies the deliveries read at once, for the whole
// process (inflight.go); and the connections open at once per client
// address (conns.go). Each rule has one home, which works on a small state
// value per key; the states live behind one interface (states.go), in
// this process's memory, where a restart forgets them (which costs an
// attacker a restart of the server, not a bypass), or in the store, where
// the nodes of a cluster on one database count together (the last two
// are this process's own). It knows nothing of pages; packages httpui
// and api map its refusals to 429 and 503 answers.
package guard
