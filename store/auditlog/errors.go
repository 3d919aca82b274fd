package auditlog

import "errors"

// Errors of the audit log. Every decoder of untrusted bytes fails with one
// of them (wrapped with the detail), never with a panic; callers at the
// edges tell them apart with errors.Is.
var (
	// ErrEntryFormat: the bytes are not an entry in the canonical
	// encoding, or the entry has no encoding (a field empty or with a
	// control character, an index or time out of range).
	ErrEntryFormat = errors.New("malformed audit entry")
	// ErrCheckpointFormat: the bytes are not a signed checkpoint of this
	// package's format (note syntax, three lines, origin, size, hash).
	ErrCheckpointFormat = errors.New("malformed checkpoint")
	// ErrCheckpointKey: the checkpoint is well formed but not signed by
	// the key the verifier holds: it comes from another appliance, or
	// the appliance's key was replaced.
	ErrCheckpointKey = errors.New("checkpoint not signed by this appliance's key")
	// ErrCheckpointSignature: the checkpoint names this appliance's key
	// but its signature does not verify: it was altered or forged.
	ErrCheckpointSignature = errors.New("checkpoint signature does not verify")
	// ErrProofFormat: the bytes are not a receipt's inclusion proof.
	ErrProofFormat = errors.New("malformed inclusion proof")
	// ErrProof: an inclusion proof does not prove its entry in its tree.
	ErrProof = errors.New("inclusion proof does not verify")
	// ErrStorage: the log's storage broke the Storage contract (a wrong
	// number of hashes read, an index out of range).
	ErrStorage = errors.New("audit log storage")
	// ErrWitness: the witness did not take the checkpoint.
	ErrWitness = errors.New("witness refused the checkpoint")
)
