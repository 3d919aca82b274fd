package auditlog

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ReceiptProof is what a version-2 receipt adds to prove its delivery's
// entry in the log: the tree size when the receipt was made, the entry's
// index, the audit path from the entry's leaf to the root (RFC 6962
// §2.1.1, as tlog.ProveRecord makes it) and the root hash. Checkpoint is
// optional: the signed checkpoint of the same size and root, for a
// receipt that should stand as a checkpoint by itself. Without it, the
// root hash is vouched for by the receipt's own signature, which covers
// the whole proof.
//
// Its JSON (field order fixed, hashes in standard base64):
//
//	{"treeSize":120,"leafIndex":33,"rootHash":"…","proof":["…","…"],"checkpoint":"…"}
type ReceiptProof struct {
	TreeSize   int64
	LeafIndex  int64
	RootHash   tlog.Hash
	Proof      tlog.RecordProof
	Checkpoint []byte // a signed note, or nil
}

// maxProofHashes bounds the audit path: one hash per level of a tree of at
// most MaxTreeSize entries.
const maxProofHashes = 40

// MaxProofJSONSize bounds a proof's JSON: the path, the root, a checkpoint.
const MaxProofJSONSize = 4<<10 + 2*MaxCheckpointSize

type receiptProofJSON struct {
	TreeSize   int64    `json:"treeSize"`
	LeafIndex  int64    `json:"leafIndex"`
	RootHash   string   `json:"rootHash"`
	Proof      []string `json:"proof"`
	Checkpoint string   `json:"checkpoint,omitempty"`
}

// Prove returns the proof, without checkpoint, that entry index is in the
// log's first size entries, read from the stored hashes.
func Prove(index, size int64, r tlog.HashReader) (ReceiptProof, error) {
	path, err := ProveInclusion(index, size, r)
	if err != nil {
		return ReceiptProof{}, err
	}
	root, err := TreeHash(size, r)
	if err != nil {
		return ReceiptProof{}, err
	}
	return ReceiptProof{TreeSize: size, LeafIndex: index, RootHash: root, Proof: path}, nil
}

// check checks p's numbers, so that tlog's proof arithmetic only ever sees
// sizes it handles.
func (p ReceiptProof) check() error {
	switch {
	case p.TreeSize < 1 || p.TreeSize > MaxTreeSize:
		return fmt.Errorf("tree size %d: %w", p.TreeSize, ErrProofFormat)
	case p.LeafIndex < 0 || p.LeafIndex >= p.TreeSize:
		return fmt.Errorf("leaf index %d in a tree of %d: %w", p.LeafIndex, p.TreeSize, ErrProofFormat)
	case len(p.Proof) > maxProofHashes:
		return fmt.Errorf("audit path of %d hashes: %w", len(p.Proof), ErrProofFormat)
	case len(p.Checkpoint) > MaxCheckpointSize:
		return fmt.Errorf("checkpoint of %d bytes: %w", len(p.Checkpoint), ErrProofFormat)
	}
	return nil
}

// MarshalJSON encodes p as the receipt carries it.
func (p ReceiptProof) MarshalJSON() ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	j := receiptProofJSON{
		TreeSize:   p.TreeSize,
		LeafIndex:  p.LeafIndex,
		RootHash:   base64.StdEncoding.EncodeToString(p.RootHash[:]),
		Proof:      make([]string, len(p.Proof)),
		Checkpoint: string(p.Checkpoint),
	}
	for i, h := range p.Proof {
		j.Proof[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON encodes, strictly: no unknown
// field, no trailing data, hashes in canonical base64, sizes in range.
// It fails with ErrProofFormat.
func (p *ReceiptProof) UnmarshalJSON(b []byte) error {
	if len(b) > MaxProofJSONSize {
		return fmt.Errorf("%d bytes: %w", len(b), ErrProofFormat)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var j receiptProofJSON
	if err := d.Decode(&j); err != nil {
		return fmt.Errorf("%v: %w", err, ErrProofFormat)
	}
	if d.More() {
		return fmt.Errorf("data after the proof: %w", ErrProofFormat)
	}
	if j.Proof == nil {
		return fmt.Errorf("no audit path: %w", ErrProofFormat)
	}
	if len(j.Proof) > maxProofHashes {
		return fmt.Errorf("audit path of %d hashes: %w", len(j.Proof), ErrProofFormat)
	}
	out := ReceiptProof{TreeSize: j.TreeSize, LeafIndex: j.LeafIndex, Proof: make(tlog.RecordProof, len(j.Proof))}
	var err error
	if out.RootHash, err = parseHash(j.RootHash); err != nil {
		return fmt.Errorf("root hash: %w", ErrProofFormat)
	}
	for i, s := range j.Proof {
		if out.Proof[i], err = parseHash(s); err != nil {
			return fmt.Errorf("audit path hash %d: %w", i, ErrProofFormat)
		}
	}
	if j.Checkpoint != "" {
		out.Checkpoint = []byte(j.Checkpoint)
	}
	if err := out.check(); err != nil {
		return err
	}
	*p = out
	return nil
}

// VerifyReceiptProof checks that p proves the entry with leaf hash leaf
// (Entry.LeafHash of the delivery's entry, rebuilt from the receipt) at
// p.LeafIndex in the tree of p.TreeSize entries with root p.RootHash. If p
// carries a checkpoint, it must verify with v and state the same size and
// root; v may be nil only for a proof without one. It fails with
// ErrProofFormat, ErrProof, or a checkpoint's error (ErrCheckpointKey for
// another appliance's).
//
// This checks the receipt by itself. Whether the log a data folder holds
// still has that entry and that root is Verify's question.
func VerifyReceiptProof(leaf tlog.Hash, p ReceiptProof, v note.Verifier) error {
	if err := p.check(); err != nil {
		return err
	}
	if err := tlog.CheckRecord(p.Proof, p.TreeSize, p.RootHash, p.LeafIndex, leaf); err != nil {
		return fmt.Errorf("entry %d in a tree of %d: %w", p.LeafIndex, p.TreeSize, ErrProof)
	}
	if p.Checkpoint == nil {
		return nil
	}
	if v == nil {
		return errors.New("receipt proof has a checkpoint but no verifier was given")
	}
	c, err := ParseCheckpoint(v, p.Checkpoint)
	if err != nil {
		return fmt.Errorf("receipt's checkpoint: %w", err)
	}
	if c.Size != p.TreeSize || c.Hash != p.RootHash {
		return fmt.Errorf("receipt's checkpoint states size %d root %s, the proof size %d root %s: %w",
			c.Size, c.Hash, p.TreeSize, p.RootHash, ErrProof)
	}
	return nil
}
