package memo

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"time"
	_ "time/tzdata" // Europe/Copenhagen on a machine without a zone database
)

// Namespace is MeMo's XML namespace, the same for MeMo 1.1 and 1.2.
const Namespace = "https://DigitalPost.dk/MeMo-1"

// Errors of the package. Callers map them with errors.Is; InvalidError and
// UnsupportedError with errors.As.
var (
	// ErrTooLarge: the message, or a document in it, is over its size
	// limit. Nothing of the message should be stored.
	ErrTooLarge = errors.New("MeMo message too large")
)

// InvalidError is a message that breaks a rule of MeMo or one of the
// limits other than a size: malformed XML, a missing or misplaced element,
// a value not of its type, a text too long, too many documents or actions,
// nesting too deep.
type InvalidError struct {
	// Element is the path of the element at fault below Message, such as
	// "MessageHeader/messageUUID" or "MessageBody/AdditionalDocument[2]";
	// "Message" for the document as a whole, "@memoVersion" for an
	// attribute of Message.
	Element string
	Reason  string
}

func (e *InvalidError) Error() string { return fmt.Sprintf("MeMo %s: %s", e.Element, e.Reason) }

// UnsupportedError is an element, attribute or value that MeMo may allow
// but Postkasse does not take (or that MeMo does not define).
type UnsupportedError struct {
	// Element is the path below Message, as in InvalidError; an attribute
	// is its element's path with "/@name", a declaration "!DOCTYPE".
	Element string
	// Value is the value refused when it is the value that is not
	// supported (an actionCode, messageType "NEMSMS", mandatory "true");
	// empty when the element itself is not.
	Value string
}

func (e *UnsupportedError) Error() string {
	if e.Value != "" {
		return fmt.Sprintf("MeMo %s %q is not supported", e.Element, e.Value)
	}
	return fmt.Sprintf("MeMo %s is not supported", e.Element)
}

// Limits bound what Parse reads. A field that is zero or negative takes
// its value from DefaultLimits.
type Limits struct {
	MaxSize         int64 // bytes of XML
	MaxDepth        int   // nesting of elements, Message being 1
	MaxDocuments    int   // File elements in the message
	MaxDocumentSize int64 // decoded bytes of one File's content
	MaxActions      int   // Action elements in the message
}

// DefaultLimits returns limits that match the store's defaults: 20
// documents of at most 10 MiB, 25 MiB of documents in all (35 MiB of XML
// holds that in base64 with room for the rest), 5 actions (API.md), and a
// depth of 12, twice what MeMo's deepest element needs (Message/
// MessageHeader/Sender/AttentionData/Address/AddressPoint/…Measure is 7).
func DefaultLimits() Limits {
	return Limits{
		MaxSize:         35 << 20,
		MaxDepth:        12,
		MaxDocuments:    20,
		MaxDocumentSize: 10 << 20,
		MaxActions:      5,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxSize <= 0 {
		l.MaxSize = d.MaxSize
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxDocuments <= 0 {
		l.MaxDocuments = d.MaxDocuments
	}
	if l.MaxDocumentSize <= 0 {
		l.MaxDocumentSize = d.MaxDocumentSize
	}
	if l.MaxActions <= 0 {
		l.MaxActions = d.MaxActions
	}
	return l
}

// Message is what Postkasse takes from a MeMo message (see the package
// documentation for where each field comes from).
type Message struct {
	Version      string // memoVersion: "1.1" or "1.2"
	UUID         string // messageUUID in lower case: the idempotency key (senderReference)
	Label        string // the subject
	SenderID     string // Sender/senderID as given; its idType is CVR
	RecipientCPR string // Recipient/recipientID as given; its idType is CPR
	// NotBefore is the start of doNotDeliverUntilDate (in
	// Europe/Copenhagen unless the date has a zone); zero without one.
	NotBefore    time.Time
	ReplyAllowed bool // MessageHeader/reply
	Documents    []Document
	Actions      []Action
}

// Role says which kind of MeMo document a file came from.
type Role string

// The roles of a document.
const (
	RoleMain       Role = "main"       // MainDocument
	RoleAdditional Role = "additional" // AdditionalDocument
	RoleTechnical  Role = "technical"  // TechnicalDocument
)

// Document is one File of the message.
type Document struct {
	Name        string // filename
	ContentType string // encodingFormat, as given
	Content     []byte // content, decoded
	Role        Role
}

// ActionType is the type of an action in the sender API (API.md).
type ActionType string

// The action types of the sender API. MeMo has no action that maps to
// ActionReply; it is here so the set is whole.
const (
	ActionLink        ActionType = "link"
	ActionAppointment ActionType = "appointment"
	ActionPay         ActionType = "pay"
	ActionSign        ActionType = "sign"
	ActionReply       ActionType = "reply"
)

// Action is one Action of the message.
type Action struct {
	Type  ActionType
	Code  string // MeMo's actionCode, such as "BETALING"
	Label string
	URL   string    // EntryPoint/url; empty only for an appointment
	At    time.Time // an appointment's start; zero for other types
	// Deadline is the day of endDateTime in Europe/Copenhagen as
	// YYYY-MM-DD; empty without one.
	Deadline string
}

// Parse reads one MeMo 1.1 or 1.2 Message from r, within limits, and
// returns what Postkasse takes from it. It reads until r ends (or the size
// limit is passed): anything after the Message element but white space and
// comments is an error. Errors: *InvalidError, *UnsupportedError, an
// error wrapping ErrTooLarge, or one wrapping r's own error.
func Parse(r io.Reader, limits Limits) (*Message, error) {
	limits = limits.withDefaults()
	in := &countingReader{r: io.LimitReader(r, limits.MaxSize+1)}
	dec := xml.NewDecoder(in)
	// Strict is the default; Entity stays nil (only XML's five predefined
	// entities) and CharsetReader nil (UTF-8 only). Said here so that a
	// change to any of them is a visible one.
	dec.Strict, dec.Entity, dec.CharsetReader = true, nil, nil
	p := &parser{dec: dec, in: in, limits: limits, msg: &Message{}}
	if err := p.document(); err != nil {
		return nil, err
	}
	return p.msg, nil
}

// countingReader counts the bytes read and keeps the first error of the
// underlying reader other than io.EOF, so that Parse can tell a reader's
// failure from malformed XML and an input cut at the size limit from one
// that ended.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}
