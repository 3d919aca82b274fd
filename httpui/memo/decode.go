package memo

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Namespaces of ContentData's children (MeMo_Full_Example.xml; the
// python-serviceplatformen bindings).
const (
	nsXSI  = "http://www.w3.org/2001/XMLSchema-instance"
	nsGrd  = "https://data.gov.dk/model/core/"
	nsDmv  = "https://motorregister.skat.dk/"
	nsKle  = "http://kle-online.dk/"
	nsForm = "http://www.form-online.dk/"
	nsUdd  = "https://www.dst.dk/da/TilSalg/Forskningsservice/Dokumentation/hoejkvalitetsvariable/elevregister-2/udd#"
)

// MeMo's maxLength facets, in characters.
const (
	maxText         = 256  // most texts
	maxNotification = 150  // MessageHeader/notification
	maxComment      = 512  // ReplyData/comment
	maxLanguage     = 2    // File/language
	maxOtherText    = 1024 // a text below ContentData's children, whose types are not MeMo's
)

// parser reads one message. Its methods that read an element are called
// after the element's start tag and return after its end tag.
type parser struct {
	dec     *xml.Decoder
	in      *countingReader
	limits  Limits
	msg     *Message
	depth   int  // elements open
	started bool // a token has been read
	files   int  // File elements so far
	cph     *time.Location
}

// next returns the next start tag, end tag or text, skipping comments.
// path names where the reader is, for errors. It refuses declarations
// (<!DOCTYPE …>) and processing instructions other than the XML
// declaration, and counts the depth.
func (p *parser) next(path string) (xml.Token, error) {
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return nil, p.readError(path, err)
		}
		first := !p.started
		if cd, ok := tok.(xml.CharData); ok && first {
			// A byte order mark, as some XML writers put first, is
			// not text (XML 1.0 §4.3.3, appendix F.1).
			if tok = xml.CharData(bytes.TrimPrefix(cd, []byte("\ufeff"))); len(tok.(xml.CharData)) == 0 {
				continue
			}
		}
		p.started = true
		switch t := tok.(type) {
		case xml.StartElement:
			p.depth++
			if p.depth > p.limits.MaxDepth {
				return nil, &InvalidError{Element: join(path, t.Name.Local), Reason: fmt.Sprintf("elements nested more than %d deep", p.limits.MaxDepth)}
			}
			return t, nil
		case xml.EndElement:
			p.depth--
			return t, nil
		case xml.CharData:
			return t, nil
		case xml.Comment:
			continue
		case xml.ProcInst:
			if t.Target == "xml" && first {
				continue // the XML declaration; Decoder has checked its encoding
			}
			return nil, &UnsupportedError{Element: "?" + t.Target}
		case xml.Directive:
			return nil, directiveError(t)
		}
	}
}

// directiveError refuses a declaration such as <!DOCTYPE …> or
// <!ENTITY …>: no DTD, so no entity is ever declared, let alone expanded.
func directiveError(d xml.Directive) error {
	name := "!"
	if f := strings.Fields(string(d)); len(f) > 0 {
		name += f[0]
	}
	return &UnsupportedError{Element: name}
}

// readError makes an error of the decoder into one of the package's.
func (p *parser) readError(path string, err error) error {
	path = orMessage(path)
	switch {
	case p.in.err != nil:
		return fmt.Errorf("read MeMo message: %w", p.in.err)
	case p.in.n > p.limits.MaxSize:
		return fmt.Errorf("%w: over %d bytes", ErrTooLarge, p.limits.MaxSize)
	case err == io.EOF:
		return &InvalidError{Element: path, Reason: "the input ends before the message does"}
	}
	return &InvalidError{Element: path, Reason: "not well-formed XML: " + err.Error()}
}

// orMessage names the element at path, which is Message when path is
// empty.
func orMessage(path string) string {
	if path == "" {
		return "Message"
	}
	return path
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "/" + name
}

// document reads the whole input: the prolog, Message, and the rest up to
// the end of the input.
func (p *parser) document() error {
	for {
		tok, err := p.next("")
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !isSpace(t) {
				return &InvalidError{Element: "Message", Reason: "text before the Message element"}
			}
			continue
		case xml.StartElement:
			if err := p.message(t); err != nil {
				return err
			}
		}
		break
	}
	for {
		tok, err := p.dec.Token()
		if err == io.EOF {
			if p.in.n > p.limits.MaxSize {
				return fmt.Errorf("%w: over %d bytes", ErrTooLarge, p.limits.MaxSize)
			}
			return nil
		} else if err != nil {
			return p.readError("Message", err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !isSpace(t) {
				return &InvalidError{Element: "Message", Reason: "text after the Message element"}
			}
		case xml.Comment:
		case xml.StartElement:
			return &InvalidError{Element: t.Name.Local, Reason: "an element after the Message element; the input holds one message"}
		case xml.ProcInst:
			return &UnsupportedError{Element: "?" + t.Target}
		case xml.Directive:
			return directiveError(t)
		}
	}
}

// message reads the Message element.
func (p *parser) message(start xml.StartElement) error {
	if start.Name.Local != "Message" || start.Name.Space != Namespace {
		return &InvalidError{Element: "Message", Reason: fmt.Sprintf("the root element is %s; a MeMo message is Message in the namespace %s", describe(start.Name), Namespace)}
	}
	var version, schVersion string
	seen := map[xml.Name]bool{}
	for _, a := range start.Attr {
		if seen[a.Name] {
			return &InvalidError{Element: "@" + a.Name.Local, Reason: "given twice"}
		}
		seen[a.Name] = true
		switch {
		case isNamespaceDecl(a.Name):
		case a.Name.Space == "" && a.Name.Local == "memoVersion":
			version = strings.TrimSpace(a.Value)
		case a.Name.Space == "" && a.Name.Local == "memoSchVersion":
			schVersion = strings.TrimSpace(a.Value)
		case a.Name.Space == nsXSI && a.Name.Local == "schemaLocation":
		default:
			return &UnsupportedError{Element: "@" + a.Name.Local}
		}
	}
	switch version {
	case "":
		return &InvalidError{Element: "@memoVersion", Reason: "missing"}
	case "1.1":
		if !isVersion(schVersion, "1.1.") {
			return &InvalidError{Element: "@memoSchVersion", Reason: fmt.Sprintf("%q; MeMo 1.1 requires 1.1.n", schVersion)}
		}
	case "1.2":
		if schVersion != "" && !isVersion(schVersion, "1.2.") {
			return &InvalidError{Element: "@memoSchVersion", Reason: fmt.Sprintf("%q does not match memoVersion 1.2", schVersion)}
		}
	default:
		return &UnsupportedError{Element: "@memoVersion", Value: version}
	}
	p.msg.Version = version
	return p.sequence("", []child{
		{name: "MessageHeader", min: 1, max: 1, read: (*parser).header},
		{name: "MessageBody", min: 1, max: 1, read: (*parser).body},
	})
}

// isVersion reports whether v is prefix followed by a number.
func isVersion(v, prefix string) bool {
	rest, ok := strings.CutPrefix(v, prefix)
	return ok && rest != "" && strings.Trim(rest, "0123456789") == ""
}

func (p *parser) header(path string) error {
	m := p.msg
	var mandatory, legal bool
	err := p.sequence(path, []child{
		{name: "messageType", min: 1, max: 1, read: func(p *parser, path string) error {
			s, err := p.text(path, maxText)
			if err == nil && s != "DIGITALPOST" {
				if s == "NEMSMS" {
					return &UnsupportedError{Element: path, Value: s}
				}
				return &InvalidError{Element: path, Reason: fmt.Sprintf("%q is not DIGITALPOST or NEMSMS", s)}
			}
			return err
		}},
		{name: "messageUUID", min: 1, max: 1, read: uuidTo(&m.UUID)},
		{name: "messageID", max: 1, read: checked(maxText)},
		{name: "messageCode", max: 1, read: checked(maxText)},
		{name: "label", min: 1, max: 1, read: textTo(&m.Label, maxText)},
		{name: "notification", max: 1, read: checked(maxNotification)},
		{name: "additionalNotification", max: 1, read: checked(maxText)},
		{name: "reply", max: 1, read: boolTo(&m.ReplyAllowed)},
		{name: "replyByDateTime", max: 1, read: unsupported},
		{name: "doNotDeliverUntilDate", max: 1, read: func(p *parser, path string) error {
			t, err := p.date(path)
			m.NotBefore = t
			return err
		}},
		{name: "mandatory", min: 1, max: 1, read: boolTo(&mandatory)},
		{name: "legalNotification", min: 1, max: 1, read: boolTo(&legal)},
		{name: "postType", max: 1, read: checked(maxText)},
		{name: "Sender", min: 1, max: 1, read: (*parser).sender},
		{name: "Recipient", min: 1, max: 1, read: (*parser).recipient},
		{name: "ContentData", max: 1, read: (*parser).contentData},
		{name: "ForwardData", max: 1, read: unsupported},
		{name: "ReplyData", max: -1, read: (*parser).replyData},
	})
	if err != nil {
		return err
	}
	// Their effects (delivery in spite of an opt-out or a block) are rules
	// Postkasse does not have: refused rather than silently not applied.
	if mandatory {
		return &UnsupportedError{Element: join(path, "mandatory"), Value: "true"}
	}
	if legal {
		return &UnsupportedError{Element: join(path, "legalNotification"), Value: "true"}
	}
	return nil
}

func (p *parser) sender(path string) error {
	return p.sequence(path, []child{
		{name: "senderID", min: 1, max: 1, read: textTo(&p.msg.SenderID, maxText)},
		{name: "idType", min: 1, max: 1, read: idType("CVR", "MyndighedsID", "CPR", "Andet")},
		{name: "idTypeLabel", max: 1, read: checked(maxText)},
		{name: "label", min: 1, max: 1, read: checked(maxText)},
		{name: "AttentionData", max: 1, read: unsupported},
		{name: "ContactPoint", max: 1, read: unsupported},
		{name: "Representative", max: 1, read: unsupported},
	})
}

func (p *parser) recipient(path string) error {
	return p.sequence(path, []child{
		{name: "recipientID", min: 1, max: 1, read: textTo(&p.msg.RecipientCPR, maxText)},
		{name: "idType", min: 1, max: 1, read: idType("CPR", "MyndighedsID", "CVR", "Andet")},
		{name: "idTypeLabel", max: 1, read: checked(maxText)},
		{name: "label", max: 1, read: checked(maxText)},
		{name: "AttentionData", max: 1, read: unsupported},
		{name: "ContactPoint", max: 1, read: unsupported},
	})
}

// idType reads an idType that must be want; the other MeMo values are
// refused as unsupported, anything else is invalid.
func idType(want string, others ...string) readFunc {
	return func(p *parser, path string) error {
		s, err := p.text(path, maxText)
		if err != nil || s == want {
			return err
		}
		for _, o := range others {
			if s == o {
				return &UnsupportedError{Element: path, Value: s}
			}
		}
		return &InvalidError{Element: path, Reason: fmt.Sprintf("%q is not one of MeMo's id types", s)}
	}
}

func (p *parser) contentData(path string) error {
	return p.sequence(path, []child{
		{name: "CPRdata", ns: nsGrd, max: 1, read: (*parser).skip},
		{name: "CVRdata", ns: nsGrd, max: 1, read: (*parser).skip},
		{name: "MotorVehicle", ns: nsDmv, max: 1, read: (*parser).skip},
		{name: "PropertyNumber", ns: nsGrd, max: 1, read: (*parser).skip},
		{name: "CaseID", max: 1, read: (*parser).skip},
		{name: "KLEdata", ns: nsKle, max: 1, read: (*parser).skip},
		{name: "FORMdata", ns: nsForm, max: 1, read: (*parser).skip},
		{name: "ProductionUnit", ns: nsGrd, max: 1, read: (*parser).skip},
		{name: "Education", ns: nsUdd, max: 1, read: (*parser).skip},
		{name: "Address", ns: nsGrd, max: 1, read: (*parser).skip},
		{name: "UnstructuredAddress", ns: nsGrd, max: 1, read: (*parser).skip},
		{name: "AdditionalContentData", max: 10, read: (*parser).skip},
	})
}

func (p *parser) replyData(path string) error {
	return p.sequence(path, []child{
		{name: "messageID", max: 1, read: checked(maxText)},
		{name: "messageUUID", min: 1, max: 1, read: uuidTo(new(string))},
		{name: "replyUUID", max: 1, read: uuidTo(new(string))},
		{name: "senderID", max: 1, read: checked(maxText)},
		{name: "recipientID", max: 1, read: checked(maxText)},
		{name: "caseID", max: 1, read: checked(maxText)},
		{name: "contactPointID", max: 1, read: checked(maxText)},
		{name: "generatingSystemID", max: 1, read: checked(maxText)},
		{name: "comment", max: 1, read: checked(maxComment)},
		{name: "AdditionalReplyData", max: 4, read: func(p *parser, path string) error {
			return p.sequence(path, []child{
				{name: "label", min: 1, max: 1, read: checked(maxText)},
				{name: "value", min: 1, max: 1, read: checked(maxText)},
			})
		}},
	})
}

func (p *parser) body(path string) error {
	return p.sequence(path, []child{
		{name: "createdDateTime", min: 1, max: 1, read: func(p *parser, path string) error {
			_, err := p.dateTime(path)
			return err
		}},
		{name: "MainDocument", min: 1, max: 1, read: document(RoleMain, "mainDocumentID", true)},
		{name: "AdditionalDocument", max: -1, read: document(RoleAdditional, "additionalDocumentID", true)},
		{name: "TechnicalDocument", max: -1, read: document(RoleTechnical, "technicalDocumentID", false)},
	})
}

// document reads a MainDocument, AdditionalDocument or TechnicalDocument
// (which has no actions).
func document(role Role, idName string, actions bool) readFunc {
	return func(p *parser, path string) error {
		children := []child{
			{name: idName, max: 1, read: checked(maxText)},
			{name: "label", max: 1, read: checked(maxText)},
			{name: "File", min: 1, max: -1, read: func(p *parser, path string) error { return p.file(path, role) }},
		}
		if actions {
			children = append(children, child{name: "Action", max: -1, read: (*parser).action})
		}
		return p.sequence(path, children)
	}
}

func (p *parser) file(path string, role Role) error {
	if p.files++; p.files > p.limits.MaxDocuments {
		return &InvalidError{Element: path, Reason: fmt.Sprintf("more than %d files in the message", p.limits.MaxDocuments)}
	}
	d := Document{Role: role}
	err := p.sequence(path, []child{
		{name: "encodingFormat", min: 1, max: 1, read: textTo(&d.ContentType, maxText)},
		{name: "filename", min: 1, max: 1, read: textTo(&d.Name, maxText)},
		{name: "language", min: 1, max: 1, read: func(p *parser, path string) error {
			s, err := p.text(path, maxLanguage)
			if err == nil && (len(s) != 2 || strings.Trim(strings.ToLower(s), "abcdefghijklmnopqrstuvwxyz") != "") {
				return &InvalidError{Element: path, Reason: fmt.Sprintf("%q is not a two-letter language code", s)}
			}
			return err
		}},
		{name: "content", min: 1, max: 1, read: func(p *parser, path string) error {
			var err error
			d.Content, err = p.base64(path)
			return err
		}},
	})
	if err != nil {
		return err
	}
	p.msg.Documents = append(p.msg.Documents, d)
	return nil
}

func (p *parser) action(path string) error {
	if len(p.msg.Actions) >= p.limits.MaxActions {
		return &InvalidError{Element: path, Reason: fmt.Sprintf("more than %d actions in the message", p.limits.MaxActions)}
	}
	var a Action
	var start, end, reservationStart time.Time
	var reservation bool
	err := p.sequence(path, []child{
		{name: "label", min: 1, max: 1, read: textTo(&a.Label, maxText)},
		{name: "actionCode", min: 1, max: 1, read: textTo(&a.Code, maxText)},
		{name: "startDateTime", max: 1, read: dateTimeTo(&start)},
		{name: "endDateTime", max: 1, read: dateTimeTo(&end)},
		{name: "Reservation", max: 1, read: func(p *parser, path string) error {
			reservation = true
			return p.reservation(path, &reservationStart)
		}},
		{name: "EntryPoint", max: 1, read: func(p *parser, path string) error {
			return p.sequence(path, []child{{name: "url", min: 1, max: 1, read: urlTo(&a.URL)}})
		}},
	})
	if err != nil {
		return err
	}
	switch a.Code {
	case "AFTALE":
		a.Type, a.At = ActionAppointment, start
		if reservation {
			a.At = reservationStart
		}
		if a.At.IsZero() {
			return &InvalidError{Element: path, Reason: "an AFTALE action needs a Reservation or a startDateTime: the time of the appointment"}
		}
	case "BETALING":
		a.Type = ActionPay
	case "UNDERSKRIV":
		a.Type = ActionSign
	case "SELVBETJENING", "INFORMATION", "TILMELDING", "FORBEREDELSE", "BEKRAEFT":
		a.Type = ActionLink
	default:
		return &UnsupportedError{Element: join(path, "actionCode"), Value: a.Code}
	}
	if a.Type != ActionAppointment {
		if reservation {
			return &UnsupportedError{Element: join(path, "Reservation")}
		}
		if a.URL == "" {
			return &InvalidError{Element: join(path, "EntryPoint"), Reason: fmt.Sprintf("missing: a %s action is a link to the sender's service", a.Code)}
		}
	}
	if !end.IsZero() {
		cph, err := p.copenhagen()
		if err != nil {
			return err
		}
		a.Deadline = end.In(cph).Format(time.DateOnly)
	}
	p.msg.Actions = append(p.msg.Actions, a)
	return nil
}

func (p *parser) reservation(path string, start *time.Time) error {
	return p.sequence(path, []child{
		{name: "description", min: 1, max: 1, read: checked(maxText)},
		{name: "reservationUUID", min: 1, max: 1, read: uuidTo(new(string))},
		{name: "abstract", min: 1, max: 1, read: checked(maxText)},
		{name: "location", min: 1, max: 1, read: checked(maxText)},
		{name: "startDateTime", min: 1, max: 1, read: dateTimeTo(start)},
		{name: "endDateTime", min: 1, max: 1, read: dateTimeTo(new(time.Time))},
		{name: "organizerMail", max: 1, read: checked(maxText)},
		{name: "organizerName", max: 1, read: checked(maxText)},
	})
}

// copenhagen returns Europe/Copenhagen, loaded once per message.
func (p *parser) copenhagen() (*time.Location, error) {
	if p.cph == nil {
		loc, err := time.LoadLocation("Europe/Copenhagen")
		if err != nil {
			return nil, fmt.Errorf("memo: time zone: %w", err)
		}
		p.cph = loc
	}
	return p.cph, nil
}

// readFunc reads an element whose start tag has been read, up to and
// including its end tag. path is the element's own path.
type readFunc func(p *parser, path string) error

// child is an element in a sequence: its local name, namespace (empty for
// MeMo's), occurrences (max < 0: unbounded) and how to read it.
type child struct {
	name     string
	ns       string
	min, max int
	read     readFunc
}

func (c child) namespace() string {
	if c.ns == "" {
		return Namespace
	}
	return c.ns
}

// sequence reads the children of the element at path as an xs:sequence of
// children, up to the element's end tag: each in its place, as often as
// allowed, only white space between them.
func (p *parser) sequence(path string, children []child) error {
	count := make([]int, len(children))
	pos := 0
	for {
		tok, err := p.next(path)
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !isSpace(t) {
				return &InvalidError{Element: orMessage(path), Reason: "text between elements"}
			}
		case xml.EndElement:
			for i := pos; i < len(children); i++ {
				if count[i] < children[i].min {
					return &InvalidError{Element: join(path, children[i].name), Reason: "missing"}
				}
			}
			return nil
		case xml.StartElement:
			i := pos
			for i < len(children) && !(children[i].name == t.Name.Local && children[i].namespace() == t.Name.Space) {
				i++
			}
			if i == len(children) {
				return p.misplaced(path, t.Name, children, pos)
			}
			for k := pos; k < i; k++ {
				if count[k] < children[k].min {
					return &InvalidError{Element: join(path, children[k].name), Reason: fmt.Sprintf("missing (MeMo puts it before %s)", t.Name.Local)}
				}
			}
			pos = i
			c := children[i]
			count[i]++
			elem := join(path, c.name)
			if c.max != 1 {
				elem = fmt.Sprintf("%s[%d]", elem, count[i])
			}
			if c.max >= 0 && count[i] > c.max {
				return &InvalidError{Element: elem, Reason: fmt.Sprintf("MeMo allows at most %d", c.max)}
			}
			if err := noAttributes(elem, t); err != nil {
				return err
			}
			if err := c.read(p, elem); err != nil {
				return err
			}
		}
	}
}

// misplaced explains an element that is not next in the sequence: one
// that belongs earlier, one in the wrong namespace, or one MeMo (or
// Postkasse) does not know here.
func (p *parser) misplaced(path string, name xml.Name, children []child, pos int) error {
	elem := join(path, name.Local)
	for k, c := range children {
		if c.name != name.Local {
			continue
		}
		if c.namespace() != name.Space {
			return &InvalidError{Element: elem, Reason: fmt.Sprintf("in the namespace %q; it belongs in %q", name.Space, c.namespace())}
		}
		if k < pos {
			return &InvalidError{Element: elem, Reason: fmt.Sprintf("out of order: MeMo puts it before %s", children[pos].name)}
		}
	}
	return &UnsupportedError{Element: elem}
}

// noAttributes refuses attributes other than namespace declarations.
func noAttributes(path string, start xml.StartElement) error {
	for _, a := range start.Attr {
		if !isNamespaceDecl(a.Name) {
			return &UnsupportedError{Element: path + "/@" + a.Name.Local}
		}
	}
	return nil
}

func isNamespaceDecl(n xml.Name) bool {
	return n.Space == "xmlns" || (n.Space == "" && n.Local == "xmlns")
}

func describe(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return fmt.Sprintf("%s in the namespace %q", n.Local, n.Space)
}

// unsupported refuses an element that MeMo defines and Postkasse does not
// take.
func unsupported(_ *parser, path string) error { return &UnsupportedError{Element: path} }

// skip reads an element whose content is checked only for depth, text
// length and attributes (the children of ContentData).
func (p *parser) skip(path string) error {
	var text int // characters of text since the last tag
	for {
		tok, err := p.next(path)
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			elem := join(path, t.Name.Local)
			if err := noAttributes(elem, t); err != nil {
				return err
			}
			if err := p.skip(elem); err != nil {
				return err
			}
			text = 0
		case xml.EndElement:
			return nil
		case xml.CharData:
			if text += utf8.RuneCount(t); text > maxOtherText {
				return &InvalidError{Element: path, Reason: fmt.Sprintf("a text longer than %d characters", maxOtherText)}
			}
		}
	}
}

// text reads a text-only element and returns its value without leading
// and trailing white space, at most max characters.
func (p *parser) text(path string, max int) (string, error) {
	var b []byte
	for {
		tok, err := p.next(path)
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return "", &InvalidError{Element: join(path, t.Name.Local), Reason: fmt.Sprintf("%s holds text, not elements", path)}
		case xml.CharData:
			// UTF-8 has at most 4 bytes a character: stop early on a
			// long text, count exactly at the end.
			if len(b)+len(t) > 4*max+64 {
				return "", &InvalidError{Element: path, Reason: fmt.Sprintf("longer than %d characters", max)}
			}
			b = append(b, t...)
		case xml.EndElement:
			s := strings.TrimSpace(string(b))
			if n := utf8.RuneCountInString(s); n > max {
				return "", &InvalidError{Element: path, Reason: fmt.Sprintf("%d characters; MeMo allows %d", n, max)}
			}
			return s, nil
		}
	}
}

func checked(max int) readFunc {
	return func(p *parser, path string) error {
		_, err := p.text(path, max)
		return err
	}
}

func textTo(dst *string, max int) readFunc {
	return func(p *parser, path string) error {
		s, err := p.text(path, max)
		if err == nil && s == "" {
			return &InvalidError{Element: path, Reason: "empty"}
		}
		*dst = s
		return err
	}
}

// boolTo reads an xs:boolean: true, false, 1 or 0 (XML Schema Part 2
// §3.2.2).
func boolTo(dst *bool) readFunc {
	return func(p *parser, path string) error {
		s, err := p.text(path, maxText)
		if err != nil {
			return err
		}
		switch s {
		case "true", "1":
			*dst = true
		case "false", "0":
			*dst = false
		default:
			return &InvalidError{Element: path, Reason: fmt.Sprintf("%q is not a boolean (true, false, 1, 0)", s)}
		}
		return nil
	}
}

// uuidTo reads a UUID as MeMo's pattern has it (a version 4 UUID:
// [a-fA-F0-9]{8}-[a-fA-F0-9]{4}-4[a-fA-F0-9]{3}-[aAbB89][a-fA-F0-9]{3}-
// [a-fA-F0-9]{12}) and stores it in lower case.
func uuidTo(dst *string) readFunc {
	return func(p *parser, path string) error {
		s, err := p.text(path, maxText)
		if err != nil {
			return err
		}
		s = strings.ToLower(s)
		ok := len(s) == 36 && s[14] == '4' && strings.IndexByte("89ab", s[19]) >= 0
		for i := 0; ok && i < len(s); i++ {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				ok = s[i] == '-'
			} else {
				ok = ('0' <= s[i] && s[i] <= '9') || ('a' <= s[i] && s[i] <= 'f')
			}
		}
		if !ok {
			return &InvalidError{Element: path, Reason: fmt.Sprintf("%q is not a version 4 UUID", s)}
		}
		*dst = s
		return nil
	}
}

// dateTime reads MeMo's xs:dateTime, which its pattern ".+Z" keeps in UTC.
func (p *parser) dateTime(path string) (time.Time, error) {
	s, err := p.text(path, maxText)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		return time.Time{}, &InvalidError{Element: path, Reason: fmt.Sprintf("%q is not a date and time in UTC (YYYY-MM-DDThh:mm:ssZ)", s)}
	}
	return t, nil
}

func dateTimeTo(dst *time.Time) readFunc {
	return func(p *parser, path string) error {
		t, err := p.dateTime(path)
		*dst = t
		return err
	}
}

// date reads an xs:date (YYYY-MM-DD, optionally with a zone: Z or ±hh:mm)
// as the start of that day: in Europe/Copenhagen without a zone, at the
// zone's offset with one.
func (p *parser) date(path string) (time.Time, error) {
	s, err := p.text(path, maxText)
	if err != nil {
		return time.Time{}, err
	}
	cph, err := p.copenhagen()
	if err != nil {
		return time.Time{}, err
	}
	var t time.Time
	if len(s) == len(time.DateOnly) {
		t, err = time.ParseInLocation(time.DateOnly, s, cph)
	} else {
		t, err = time.Parse("2006-01-02Z07:00", s)
	}
	if err != nil {
		return time.Time{}, &InvalidError{Element: path, Reason: fmt.Sprintf("%q is not a date (YYYY-MM-DD)", s)}
	}
	return t, nil
}

// urlTo reads an EntryPoint url: absolute https, a host, no user
// information (which would let a link show one host and go to another).
func urlTo(dst *string) readFunc {
	return func(p *parser, path string) error {
		s, err := p.text(path, maxText)
		if err != nil {
			return err
		}
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" {
			return &InvalidError{Element: path, Reason: fmt.Sprintf("%q is not an absolute https URL", s)}
		}
		*dst = s
		return nil
	}
}

// base64 reads an xs:base64Binary (XML Schema Part 2 §3.2.16): white space
// may appear anywhere (line breaks every 76 characters are common) and is
// dropped; the rest must be canonical standard base64 with padding.
func (p *parser) base64(path string) ([]byte, error) {
	var enc []byte
	max := p.limits.MaxDocumentSize
	for {
		tok, err := p.next(path)
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return nil, &InvalidError{Element: join(path, t.Name.Local), Reason: fmt.Sprintf("%s holds base64 text, not elements", path)}
		case xml.CharData:
			if enc == nil {
				enc = make([]byte, 0, len(t)) // usually the whole content
			}
			for _, c := range t {
				if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
					enc = append(enc, c)
				}
			}
			if int64(len(enc))/4*3 > max+3 {
				return nil, fmt.Errorf("%w: %s over %d bytes", ErrTooLarge, path, max)
			}
		case xml.EndElement:
			out := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
			n, err := base64.StdEncoding.Strict().Decode(out, enc)
			if err != nil {
				return nil, &InvalidError{Element: path, Reason: "not base64: " + err.Error()}
			}
			if int64(n) > max {
				return nil, fmt.Errorf("%w: %s of %d bytes, over %d", ErrTooLarge, path, n, max)
			}
			return out[:n], nil
		}
	}
}

func isSpace(b []byte) bool { return len(bytes.Trim(b, " \t\r\n")) == 0 }
