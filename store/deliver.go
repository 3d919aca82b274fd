package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/auditlog"
	"github.com/postkasse/postkasse/store/storage"
)

// recipientKeys returns the public keys a letter to rec is sealed to:
// both halves when the resident has an ML-KEM key (sealed data key v2),
// the X25519 key alone otherwise (v1). A record with a key of the wrong
// length is refused (crypto.ErrFormat): nothing is sealed to half a key.
func recipientKeys(rec *residentRecord) (crypto.PublicKeys, error) {
	var to crypto.PublicKeys
	if len(rec.PublicKey) != len(to.X25519) {
		return to, fmt.Errorf("resident %s: X25519 public key of %d bytes: %w", rec.ID, len(rec.PublicKey), crypto.ErrFormat)
	}
	copy(to.X25519[:], rec.PublicKey)
	if len(rec.MLKEMPublicKey) != 0 && len(rec.MLKEMPublicKey) != crypto.MLKEMPublicKeySize {
		return to, fmt.Errorf("resident %s: ML-KEM public key of %d bytes: %w", rec.ID, len(rec.MLKEMPublicKey), crypto.ErrFormat)
	}
	to.MLKEM = rec.MLKEMPublicKey
	return to, nil
}

// letterRecord is a letter as the engine stores it (storage.Letter):
// Subject, Body and the documents' names are sealed with the letter's
// data key; SealedKey is the data key sealed to the recipient. Everything
// else is in clear.
type letterRecord = storage.Letter

// documentRecord describes one document; its sealed content is a blob.
type documentRecord = storage.DocumentRecord

func letterStatus(r *letterRecord) LetterStatus {
	st := LetterStatus{ID: r.ID, Status: "delivered", DeliveredAt: r.DeliveredAt, ReadAt: r.ReadAt}
	switch {
	case r.IsTombstone():
		st.Status = "deleted"
	case r.IsScheduled():
		st.Status = "scheduled"
	case !r.ReadAt.IsZero():
		st.Status = "read"
	}
	return st
}

func letterBinding(r *letterRecord) crypto.Binding {
	return crypto.Binding{LetterID: r.ID, RecipientID: r.ResidentID, SenderID: r.SenderID}
}

// pendingDelivery is a sealed letter waiting for the committer.
type pendingDelivery struct {
	rec   *letterRecord
	blobs []storage.Blob // the sealed documents, written ahead
	bufs  [][]byte       // their buffers, for the pool (release)
	size  int
	// recipientKey is the public key the letter was sealed to; the commit
	// checks it is still the recipient's.
	recipientKey []byte
	recipient    NationalID
	orgNumber    string
	// answersResident: Delivery.answersResident.
	answersResident bool
	// print is the sealed copy to print if the letter is still unread at
	// its time (store/print.go), or nil.
	print *storage.PrintLetter
	// The engine's stamps of the sender's and the recipient's records as
	// Deliver checked them (apply).
	senderStamp, recipientStamp []byte
	// senderKind is the sender's kind, for the grants that cover the
	// letter (delegation.go).
	senderKind storage.SenderKind

	result DeliveryResult
	err    error
	done   chan struct{}
}

// Deliver stores a letter from a sender in the recipient's mailbox. It
// returns only after the letter is durably committed: the result's
// DeliveredAt is the legal time of receipt. Delivery is idempotent on
// (sender, SenderReference): the same content again returns the original
// result with Repeated set; other content gives ErrDuplicateReference.
// On any error nothing is stored. Its documents are read like those of
// DeliverDocuments (Documents.Add), from their Reader or Content.
func (s *Store) Deliver(ctx context.Context, senderID string, d Delivery) (DeliveryResult, error) {
	if err := s.checkFields(&d); err != nil {
		return DeliveryResult{}, err
	}
	if len(d.Documents) == 0 {
		return DeliveryResult{}, invalid("document", "a letter needs at least one document")
	}
	ds, err := s.NewDocuments()
	if err != nil {
		return DeliveryResult{}, err
	}
	for _, doc := range d.Documents {
		if err := ds.Add(ctx, doc); err != nil {
			return DeliveryResult{}, err
		}
	}
	d.Documents = nil
	return s.deliver(ctx, senderID, d, ds)
}

// DeliverDocuments is Deliver of a letter whose documents were added to
// ds as they streamed in (d.Documents is empty): the sender API's path.
// It ends ds: what it does not deliver is discarded, whatever the
// outcome. A repeat (the same senderReference and content delivered
// before) answers the original result, and ds's blobs are discarded.
func (s *Store) DeliverDocuments(ctx context.Context, senderID string, d Delivery, ds *Documents) (DeliveryResult, error) {
	if ds.ended {
		return DeliveryResult{}, errDocumentsEnded
	}
	if len(d.Documents) > 0 {
		ds.Discard()
		return DeliveryResult{}, errors.New("deliver documents: the documents are in Documents, not in the Delivery")
	}
	if err := s.checkFields(&d); err != nil {
		ds.Discard()
		return DeliveryResult{}, err
	}
	return s.deliver(ctx, senderID, d, ds)
}

// deliver delivers a letter whose fields are checked and whose documents
// are in ds, and ends ds.
func (s *Store) deliver(ctx context.Context, senderID string, d Delivery, ds *Documents) (DeliveryResult, error) {
	defer ds.Discard() // after a delivery queued, only the data key is left
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return DeliveryResult{}, ErrClosed
	}
	s.inflight.Add(1)
	s.mu.RUnlock()
	defer s.inflight.Done()

	docs, err := s.checkLetterDocuments(&d, ds)
	if err != nil {
		return DeliveryResult{}, err
	}
	hash := contentHashOf(&d, ds.hashed())
	s.sealing.Add(1)
	p, repeat, err := s.prepare(ctx, senderID, &d, docs, ds, hash)
	if p != nil {
		s.queue <- p
	}
	s.sealing.Add(-1)
	if err != nil && d.Print != nil && notDigital(err) {
		res, perr := s.queueForPrint(ctx, senderID, &d, docs, hash)
		if errors.Is(perr, ErrNoPrintKey) {
			// Refused as without print details, saying why.
			return DeliveryResult{}, fmt.Errorf("%w; not queued for print: %w", err, perr)
		}
		return res, perr
	}
	if err != nil {
		return DeliveryResult{}, err
	}
	if repeat != nil {
		return *repeat, nil
	}
	if s.hookQueued != nil {
		s.hookQueued()
	}
	<-p.done
	return p.result, p.err
}

// prepare looks up a checked delivery's sender and recipient and seals
// it (its documents are sealed in ds already): the CPU-heavy part of Deliver (about 0.6 ms for a 100 KB letter
// on the reference machine, see docs/PERFORMANCE.md). It returns the sealed
// letter for the committer, or the original result of a repeat.
//
// At most GOMAXPROCS deliveries prepare at once (s.cpu), and each yields
// the processor between its steps. More would not seal faster, and the
// committer, whose fsyncs every delivery waits for, would queue for a
// processor behind all of them each time it comes back from a write: with
// 32 senders of 100 KB letters it spent a fifth of its time runnable but
// not running, against a twentieth with the limit and the yields.
func (s *Store) prepare(ctx context.Context, senderID string, d *Delivery, docs []DocumentInput, ds *Documents, hash string) (*pendingDelivery, *DeliveryResult, error) {
	s.cpu <- struct{}{}
	defer func() { <-s.cpu }()

	// Look before sealing the letter's key and fields: a repeat or a
	// refusal needs no more crypto. The commit checks all of this again,
	// as things may change meanwhile.
	var recipient *residentRecord
	var sender *senderRecord
	var repeat DeliveryResult
	var isRepeat bool
	var senderStamp, recipientStamp []byte
	var delegates []delegateTarget
	err := s.view(ctx, func(tx storage.Tx) error {
		var err error
		if sender, err = activeSender(tx, senderID); err != nil {
			return err
		}
		if repeat, isRepeat, err = repeated(tx, senderID, d.SenderReference, hash, d.NotBefore); err != nil {
			return err
		} else if isRepeat {
			return samePrint(tx, d, hash, repeat)
		}
		if err := checkReplyAllowed(d, sender); err != nil {
			return err
		}
		if err := checkSignatureKey(d, sender); err != nil {
			return err
		}
		if recipient, err = recipientFor(tx, d.Recipient, d.answersResident); err != nil {
			return err
		}
		if err := checkInReplyTo(tx, d.InReplyTo, sender.ID, recipient.ID); err != nil {
			return err
		}
		// A block is announced a week before it takes effect, so it is
		// checked here only, not again at the commit a moment later.
		if blocked, err := senderBlocked(tx, recipient.ID, sender.ID, s.now()); err != nil {
			return err
		} else if blocked {
			return ErrSenderBlocked
		}
		// The delegates whose grant covers the letter get a copy of its
		// data key (delegation.go); apply drops those whose grant ended
		// meanwhile.
		if delegates, err = delegatesFor(tx, recipient.ID, sender.Kind, s.now()); err != nil {
			return err
		}
		senderStamp = bytes.Clone(tx.Senders().Stamp(sender.ID))
		recipientStamp = bytes.Clone(tx.Residents().Stamp(d.Recipient.Number))
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if isRepeat {
		return nil, &repeat, nil
	}
	p, err := s.seal(ctx, sender, recipient, delegates, d, docs, ds, hash)
	if err != nil {
		return nil, nil, fmt.Errorf("seal letter: %w", err)
	}
	p.senderStamp, p.recipientStamp = senderStamp, recipientStamp
	p.answersResident = d.answersResident
	return p, nil, nil
}

// repeated reports whether ref was delivered (or scheduled) before: with
// the same content hash and notBefore it returns the original result and
// true; with another, ErrDuplicateReference; a new ref gives false. The
// result of a letter still scheduled has no receipt yet.
func repeated(tx storage.Tx, senderID, ref, hash string, notBefore time.Time) (DeliveryResult, bool, error) {
	id, err := tx.Letters().ByReference(senderID, ref)
	if errors.Is(err, ErrNotFound) {
		return repeatedPrint(tx, senderID, ref, hash, notBefore)
	} else if err != nil {
		return DeliveryResult{}, false, err
	}
	rec, err := tx.Letters().Get(id)
	if err != nil {
		return DeliveryResult{}, false, err
	}
	if rec.ContentHash != hash || !rec.NotBefore.Equal(notBefore) {
		return DeliveryResult{}, false, fmt.Errorf("senderReference %q: %w", ref, ErrDuplicateReference)
	}
	return DeliveryResult{Letter: letterStatus(rec), Receipt: rec.Receipt, Repeated: true}, true, nil
}

// seal makes the letter's record with ds's data key, sealed to the
// recipient's public key and bound to the letter, recipient and sender,
// and to each delegate whose grant covers it. The pending delivery takes
// over ds's sealed documents and their blobs.
func (s *Store) seal(ctx context.Context, sender *senderRecord, recipient *residentRecord, delegates []delegateTarget, d *Delivery, docs []DocumentInput, ds *Documents, hash string) (*pendingDelivery, error) {
	id, dk := ds.id, ds.dk
	rec := &letterRecord{
		ID: id, ResidentID: recipient.ID, SenderID: sender.ID, SenderReference: d.SenderReference,
		Type: d.Type, DueDate: d.DueDate, ReplyAllowed: d.ReplyAllowed, InReplyTo: d.InReplyTo, ContentHash: hash,
		Sensitive: d.Sensitive, OpeningReceipt: d.OpeningReceipt, NotBefore: d.NotBefore,
	}
	if d.NotBefore.After(s.now()) {
		// Scheduled: apply stores it out of the mailbox, unless the
		// time has come by the commit.
		rec.ReleaseAt = d.NotBefore.UTC()
	}
	to, err := recipientKeys(recipient)
	if err != nil {
		return nil, err
	}
	if rec.SealedKey, err = crypto.SealDataKey(s.rand, dk, to, letterBinding(rec)); err != nil {
		return nil, fmt.Errorf("resident %s: %w", recipient.ID, err)
	}
	for _, del := range delegates {
		sealed, err := crypto.SealDataKey(s.rand, dk, del.keys, delegateBinding(rec, del.delegateID))
		if err != nil {
			return nil, fmt.Errorf("delegate %s: %w", del.delegateID, err)
		}
		rec.DelegateKeys = append(rec.DelegateKeys, storage.DelegateKey{DelegationID: del.delegationID, DelegateID: del.delegateID, SealedKey: sealed})
	}
	runtime.Gosched() // see prepare
	if rec.Subject, err = dk.SealField(s.rand, "subject", []byte(d.Subject)); err != nil {
		return nil, err
	}
	if rec.Body, err = dk.SealField(s.rand, "body", []byte(d.Body)); err != nil {
		return nil, err
	}
	if rec.Structured, err = sealStructured(s.rand, dk, structuredData{Invoice: d.Invoice, Actions: d.Actions, SignatureRequest: d.SignatureRequest}); err != nil {
		return nil, err
	}
	p := &pendingDelivery{
		rec: rec, recipientKey: recipient.PublicKey, recipient: d.Recipient,
		orgNumber: sender.OrgNumber, senderKind: sender.Kind, done: make(chan struct{}),
	}
	if d.Print != nil && d.Print.When == PrintUnreadAfter {
		if p.print, err = s.sealPrintCopy(ctx, id, sender.ID, d, docs, hash); errors.Is(err, ErrNoPrintKey) {
			return nil, invalid("print", "unread-after needs the appliance's print key, which its operator has not made yet")
		} else if err != nil {
			return nil, err
		}
		p.print.WaitUntil = d.Print.UnreadAfter.UTC()
	}
	for _, doc := range ds.docs {
		rec.Documents = append(rec.Documents, documentRecord{Name: doc.sealedName, ContentType: doc.contentType, Size: doc.size, Sent: doc.sealedSent})
		rec.Size += doc.size
	}
	p.blobs, p.bufs, p.size = ds.blobs, ds.bufs, ds.size
	ds.blobs, ds.bufs, ds.size = nil, nil, 0
	return p, nil
}

// sealedBuffer returns an empty buffer for a sealed document of n bytes
// of content, from the pool when it has one large enough. Sealing a 100 KB
// letter into a fresh buffer cost about 30 µs more on the reference
// machine: the runtime zeroes and faults in new memory that it had
// returned to the system.
func (s *Store) sealedBuffer(n int) []byte {
	size := crypto.SealedDocumentSize(n)
	if b, ok := s.sealed.Get().(*[]byte); ok && cap(*b) >= size {
		return (*b)[:0]
	}
	return make([]byte, 0, size)
}

// maxPooledSealed is the largest sealed document buffer kept for reuse.
const maxPooledSealed = 4 << 20

// release returns a delivery's sealed documents to the pool once the
// committer is done with them: after the transaction that wrote them has
// ended (bbolt copies values into its pages during the commit), or when
// they were not written. keep is false for a delivery whose blobs no
// committed letter refers to: they are discarded.
func (s *Store) release(p *pendingDelivery, keep bool) {
	if !keep {
		s.eng.Blobs().Discard(context.Background(), p.blobs)
	}
	for _, b := range p.bufs {
		if cap(b) <= maxPooledSealed {
			s.sealed.Put(&b)
		}
	}
	p.bufs, p.blobs = nil, nil
}

// maxBatchWait bounds how long the committer waits for letters being
// sealed before it commits what it has.
const maxBatchWait = 3 * time.Millisecond

// commitLoop is the group committer: it takes every delivery waiting in
// the queue (up to a batch's limits) and commits them in one transaction,
// so N concurrent senders pay for one fsync, not N. A single sender pays
// no extra wait: the loop commits as soon as it has anything.
//
// When other deliveries are being sealed as it takes the queue, it waits
// for as many as were being sealed then, at most maxBatchWait: they are
// about to arrive, and each commit's fsyncs cost about as much as the
// sealing of a letter. With 32 senders of 100 KB letters that gives 15
// letters a commit instead of 11 and a tenth more letters a second (see
// docs/PERFORMANCE.md). It waits for the letters sealed at that moment,
// not for all senders: those in the batch cannot seal their next letter
// until it is committed, so a batch of everyone would leave the
// processors idle during its fsyncs.
func (s *Store) commitLoop() {
	defer s.committer.Done()
	for {
		var batch []*pendingDelivery
		select {
		case p := <-s.queue:
			batch = append(batch, p)
		case <-s.closing:
			return
		}
		if s.hookBatch != nil {
			s.hookBatch()
		}
		size := batch[0].size
	fill:
		for len(batch) < defaultMaxBatchLetters && size < defaultMaxBatchBytes {
			select {
			case p := <-s.queue:
				batch = append(batch, p)
				size += p.size
			default:
				break fill
			}
		}
		if want := len(batch) + int(s.sealing.Load()); len(batch) < want {
			timer := time.NewTimer(maxBatchWait)
		wait:
			for len(batch) < want && len(batch) < defaultMaxBatchLetters && size < defaultMaxBatchBytes && s.sealing.Load() > 0 {
				select {
				case p := <-s.queue:
					batch = append(batch, p)
					size += p.size
				case <-timer.C:
					break wait
				}
			}
			timer.Stop()
		}
		s.commit(batch)
	}
}

// commit stores a batch in one transaction. When the transaction fails as
// a whole (a write or the commit failed), each delivery is tried again on
// its own, so one bad letter cannot fail the others.
func (s *Store) commit(batch []*pendingDelivery) {
	s.commits.Add(1)
	err := s.update(context.Background(), func(tx storage.Tx) error {
		now := s.now()
		for _, p := range batch {
			if err := s.apply(tx, p, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for _, p := range batch {
			s.commit([]*pendingDelivery{p})
		}
		return
	}
	if err != nil && !errors.Is(err, ErrUnavailable) {
		// The engine's ErrUnavailable goes as it is, with what it wraps
		// (ErrDamaged); any other error is made one, but not with %w: an
		// error of apply's must not read as a refusal.
		err = fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	for _, p := range batch {
		if err != nil {
			p.result, p.err = DeliveryResult{}, err
		}
		// Blobs of a letter refused or found a repeat in a committed
		// transaction are attached to nothing: discard them. After a
		// failed transaction nobody can be sure (a commit can fail after
		// the database committed): the engine's sweep of blobs that no
		// letter refers to takes them later.
		if err == nil && p.err == nil && !p.result.Repeated {
			s.committed.Add(1)
		}
		s.release(p, err != nil || (p.err == nil && !p.result.Repeated))
		close(p.done)
	}
}

// apply checks one delivery against the state in tx and writes it. A
// refusal is recorded in p.err and writes nothing; a returned error means a
// write failed and the transaction must not commit.
func (s *Store) apply(tx storage.Tx, p *pendingDelivery, now time.Time) error {
	rec := p.rec
	p.result, p.err = DeliveryResult{}, nil
	refuse := func(err error) error { p.err = err; return nil }
	// The sender and the recipient are checked again only when their
	// records changed since Deliver checked them (the engine's stamps):
	// activeSender and recipientFor depend on nothing but those records
	// (and the national id index), so unchanged records pass again.
	// Decoding them was a tenth of the committer's work for a 100 KB
	// letter, in the section every delivery waits for.
	if st := tx.Senders().Stamp(rec.SenderID); st == nil || !bytes.Equal(st, p.senderStamp) {
		if _, err := activeSender(tx, rec.SenderID); err != nil {
			return refuse(err)
		}
	}
	repeat, isRepeat, err := repeated(tx, rec.SenderID, rec.SenderReference, rec.ContentHash, rec.NotBefore)
	if err != nil {
		return refuse(err)
	}
	if isRepeat && repeat.Letter.ID == rec.ID {
		// This very letter is stored: a batch's commit failed after the
		// database committed it (a connection lost at the commit), and
		// commit tries each delivery again. It is this delivery's own
		// result, and its blobs are the letter's: keep them.
		repeat.Repeated = false
		p.result = repeat
		return nil
	}
	if isRepeat {
		// The same letter was committed since Deliver looked: this one is
		// a repeat, and its sealed copy is dropped.
		p.result = repeat
		return nil
	}
	if st := tx.Residents().Stamp(p.recipient.Number); st == nil || !bytes.Equal(st, p.recipientStamp) {
		recipient, err := recipientFor(tx, p.recipient, p.answersResident)
		if err != nil {
			return refuse(err)
		}
		// Only the X25519 key is compared: a resident who gained an
		// ML-KEM key meanwhile (at sign-in) kept it, and a letter sealed
		// in v1 to it stays readable.
		if recipient.ID != rec.ResidentID || string(recipient.PublicKey) != string(p.recipientKey) {
			return refuse(fmt.Errorf("recipient changed during delivery: %w", ErrUnavailable))
		}
	}
	// An answer: its reply may have gone with its letter since.
	if err := checkInReplyTo(tx, rec.InReplyTo, rec.SenderID, rec.ResidentID); err != nil {
		return refuse(err)
	}
	if err := recordAnswer(tx, rec); err != nil {
		return err
	}

	if err := settleWrappings(tx, rec, p.senderKind, now); err != nil {
		return err
	}

	if rec.IsScheduled() && rec.ReleaseAt.After(now) {
		// Scheduled: stored, sealed and attached, out of the mailbox;
		// no receipt, event or notification until ReleaseScheduled.
		rec.DeliveredAt = rec.ReleaseAt
		if err := s.appendAudit(tx, now, "sender:"+rec.SenderID, "schedule", "letter:"+rec.ID); err != nil {
			return err
		}
		if err := tx.Letters().Put(rec); err != nil {
			return err
		}
		if err := tx.Documents().Put(rec.ID, p.blobs); err != nil {
			return err
		}
		if err := p.putPrint(tx); err != nil {
			return err
		}
		p.result = DeliveryResult{Letter: letterStatus(rec)}
		return nil
	}
	rec.ReleaseAt = time.Time{}
	rec.DeliveredAt = now
	receipt, err := s.completeDelivery(tx, rec, p.recipient, p.orgNumber, now)
	if err != nil {
		return err
	}
	if err := tx.Documents().Put(rec.ID, p.blobs); err != nil {
		return err
	}
	if err := p.putPrint(tx); err != nil {
		return err
	}
	p.result = DeliveryResult{Letter: letterStatus(rec), Receipt: receipt}
	return nil
}

// putPrint stores the letter's copy waiting to be printed if unread, if
// it has one.
func (p *pendingDelivery) putPrint(tx storage.Tx) error {
	if p.print == nil {
		return nil
	}
	return tx.Print().Put(p.print)
}

// completeDelivery makes rec, a letter with its DeliveredAt set and in no
// index of the mailbox yet, delivered within tx: the delivery's audit
// entry, the sender's "delivered" event, the signed receipt, the record
// (into the mailbox's indexes) and the resident's notification, sent as
// of now. Deliver does it at the commit, ReleaseScheduled at the release
// of a scheduled letter.
func (s *Store) completeDelivery(tx storage.Tx, rec *letterRecord, recipient NationalID, orgNumber string, now time.Time) (Receipt, error) {
	// The delivery's audit entry first: the receipt proves it is in the
	// log (receipt version 2).
	index, err := appendAuditEntry(tx, deliveryEntry(rec))
	if err != nil {
		return Receipt{}, err
	}
	if err := appendEvent(tx, rec, EventDelivered, rec.DeliveredAt); err != nil {
		return Receipt{}, err
	}
	proof, err := auditlog.Prove(index, index+1, tx.Audit())
	if err != nil {
		return Receipt{}, err
	}
	receipt, err := s.receipt(rec, recipient, orgNumber, &proof)
	if err != nil {
		return Receipt{}, err
	}
	rec.Receipt = receipt
	if err := tx.Letters().Put(rec); err != nil {
		return Receipt{}, err
	}
	if err := s.queueLetterNotification(tx, rec, now); err != nil {
		return Receipt{}, err
	}
	return receipt, nil
}

// deliveryEntry is the audit entry of a letter's delivery. A receipt
// states everything in it, so the entry is rebuilt from a receipt alone.
func deliveryEntry(rec *letterRecord) auditlog.Entry {
	return auditlog.Entry{Time: rec.DeliveredAt, Actor: "sender:" + rec.SenderID, Action: "deliver", Object: "letter:" + rec.ID}
}

// receipt signs the appliance's statement that rec was delivered, with the
// proof that its delivery's entry is in the audit log.
func (s *Store) receipt(rec *letterRecord, recipient NationalID, orgNumber string, proof *auditlog.ReceiptProof) (Receipt, error) {
	payload, err := json.Marshal(ReceiptPayload{
		Version: 2, LetterID: rec.ID, SenderID: rec.SenderID, SenderOrgNumber: orgNumber,
		Recipient: recipient.Number, SenderReference: rec.SenderReference,
		ContentHash: rec.ContentHash, DeliveredAt: rec.DeliveredAt, Audit: proof,
	})
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{
		Payload:   payload,
		Signature: s.signer.Sign("receipt", payload),
		KeyID:     crypto.KeyID(s.signer.PublicKey()),
	}, nil
}

// VerifyReceipt checks a receipt's signature with the appliance's key and
// returns what it states.
func (s *Store) VerifyReceipt(r Receipt) (ReceiptPayload, error) {
	return VerifyReceiptWith(s.signer.PublicKey(), r)
}

// VerifyReceiptWith checks a receipt's signature with an appliance's
// receipt key (this appliance's, or another's, as an export carries it)
// and its audit proof, and returns what it states.
func VerifyReceiptWith(key ed25519.PublicKey, r Receipt) (ReceiptPayload, error) {
	if !crypto.Verify(key, "receipt", r.Payload, r.Signature) {
		return ReceiptPayload{}, errors.New("receipt signature does not verify")
	}
	var p ReceiptPayload
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return ReceiptPayload{}, fmt.Errorf("decode receipt: %w", err)
	}
	if err := p.checkAudit(); err != nil {
		return ReceiptPayload{}, err
	}
	return p, nil
}

// checkAudit checks a version-2 receipt's proof that its delivery's entry
// is in the audit log (the proof's root is vouched for by the receipt's
// signature); a version-1 receipt has none.
func (p ReceiptPayload) checkAudit() error {
	switch {
	case p.Version == 1 && p.Audit == nil:
		return nil
	case p.Version == 1:
		return errors.New("receipt version 1 with an audit proof: not a receipt of this appliance's")
	case p.Version != 2:
		return fmt.Errorf("receipt version %d: unknown", p.Version)
	case p.Audit == nil:
		return errors.New("receipt version 2 without its audit proof")
	}
	leaf, err := p.AuditEntry().LeafHash()
	if err != nil {
		return fmt.Errorf("receipt's audit entry: %w", err)
	}
	if err := auditlog.VerifyReceiptProof(leaf, *p.Audit, nil); err != nil {
		return fmt.Errorf("receipt's audit proof: %w", err)
	}
	return nil
}

// AuditEntry returns the audit entry of the delivery a version-2 receipt
// states, rebuilt from the receipt, at the index its proof names.
func (p ReceiptPayload) AuditEntry() auditlog.Entry {
	e := deliveryEntry(&letterRecord{ID: p.LetterID, SenderID: p.SenderID, DeliveredAt: p.DeliveredAt})
	if p.Audit != nil {
		e.Index = p.Audit.LeafIndex
	}
	return e
}

// LetterStatus returns the status of a letter for the sender that sent it.
// Another sender's letter is ErrNotFound.
func (s *Store) LetterStatus(ctx context.Context, senderID, letterID string) (LetterStatus, error) {
	var out LetterStatus
	err := s.view(ctx, func(tx storage.Tx) error {
		rec, err := tx.Letters().Get(letterID)
		if errors.Is(err, ErrNotFound) {
			// Not in a mailbox: perhaps in the print queue.
			p, err := tx.Print().Get(letterID)
			if err != nil {
				return err
			}
			if p.SenderID != senderID {
				return fmt.Errorf("letter %s: %w", letterID, ErrNotFound)
			}
			out = printStatus(p)
			return nil
		}
		if err != nil {
			return err
		}
		if rec.SenderID != senderID {
			return fmt.Errorf("letter %s: %w", letterID, ErrNotFound)
		}
		out = letterStatus(rec)
		// Unread at its time, and so printed too (unread-after).
		if p, err := tx.Print().Get(letterID); err == nil && !p.Waiting() {
			out.Status = printStatus(p).Status
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	})
	return out, err
}
