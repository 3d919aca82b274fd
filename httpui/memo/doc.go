// Package memo reads a MeMo message — Meddelelsesmodel, the message format
// of Denmark's Digital Post (Digitaliseringsstyrelsen) — into a Message of
// plain types that the sender API (POST /api/v1/memo, API.md "MeMo") turns
// into a delivery. It only parses: whether the recipient, the sender, the
// documents and the dates are acceptable is the store's business. It
// imports nothing of Postkasse.
//
// # Strictness
//
// A MeMo message is untrusted input from the network, so Parse reads it as
// a stream of XML tokens (encoding/xml, Decoder.Strict) and checks every
// element against the structure below as it goes:
//
//   - No DTD: a <!DOCTYPE …> (or any other <!…> declaration) is refused
//     outright, so no entity can be declared; entity references other than
//     XML's five predefined ones (&lt; &gt; &amp; &apos; &quot;) and
//     character references are malformed. Only UTF-8 (no CharsetReader).
//     No processing instruction other than the XML declaration.
//   - Limits (Limits): the input's size (read through an io.LimitReader,
//     and the input must end within the limit: trailing content or bytes
//     past it are an error, not ignored), the nesting depth, the number of
//     documents (File elements) and of actions, the decoded size of each
//     document, and the length of every text, which is MeMo's own
//     maxLength (256 characters for most texts, 150 for notification, 512
//     for comment, 2 for language).
//   - Every element must be in MeMo's namespace, in MeMo's order, as often
//     as MeMo allows; attributes other than namespace declarations are
//     refused (on Message: memoVersion, memoSchVersion and
//     xsi:schemaLocation only). Text between elements must be white space.
//
// An element MeMo does not define, or one Postkasse does not support, is
// an *UnsupportedError naming its path ("MessageHeader/ForwardData"; a
// repeatable element has its 1-based position: "MessageBody/
// AdditionalDocument[2]/File[1]"). A message that breaks MeMo's rules is an
// *InvalidError with the path and the reason; over a size limit, an error
// wrapping ErrTooLarge. An error from the reader itself (such as
// *http.MaxBytesError) is returned wrapped, as it is.
//
// # The schema
//
// Namespace https://DigitalPost.dk/MeMo-1 for both versions: MeMo 1.1
// (<Message memoVersion="1.1" memoSchVersion="1.1.0">) and MeMo 1.2
// (memoVersion="1.2", memoSchVersion no longer required). The element
// names, order, cardinalities and types below are those of the MeMo XSD
// (Digitaliseringsstyrelsen, "MeMo – Meddelelsesmodel", digitaliser.dk),
// read from the classes generated from it in two public client libraries
// (itk-dev/serviceplatformen, lib/metadata/DigitalPost/MeMo/*.yml, whose
// property order is the XSD's sequence; itk-dev-rpa/python-serviceplatformen,
// python_serviceplatformen/memo/core.py, which carries the maxLength,
// pattern and occurrence facets) and from Digitaliseringsstyrelsen's
// published examples MeMo_Minimum_Example.xml (1.1) and
// MeMo_Full_Example.xml (1.2). The differences between 1.1 and 1.2 that
// matter here: memoSchVersion is required in 1.1 only, and 1.2 adds
// Sender/Representative (a representative sending on another's behalf) and
// ForwardData/originalRepresentative, which Postkasse refuses in either
// version (ForwardData as a whole). The action codes are those of
// "Vejledning til Actions og frister i MeMo" (digitaliser.dk).
//
// Below, "→ field" is where an element goes in Message; "checked" means it
// is read, checked against its type and length and then not kept;
// "refused" is an *UnsupportedError. Cardinalities are MeMo's, except that
// Postkasse needs a MessageBody.
//
//	Message  @memoVersion "1.1"|"1.2" → Version; @memoSchVersion (1.1: "1.1.n" required)
//	  MessageHeader 1
//	    messageType 1          "DIGITALPOST"; "NEMSMS" refused
//	    messageUUID 1          UUID v4 (XSD pattern) → UUID, in lower case: the idempotency key
//	    messageID 0..1         checked
//	    messageCode 0..1       checked
//	    label 1                → Label (the subject)
//	    notification 0..1      checked (Postkasse's notifications never carry a letter's text)
//	    additionalNotification 0..1  checked
//	    reply 0..1             xs:boolean → ReplyAllowed
//	    replyByDateTime 0..1   refused (no reply deadline in Postkasse)
//	    doNotDeliverUntilDate 0..1  xs:date → NotBefore (see below)
//	    mandatory 1            xs:boolean; "true" refused
//	    legalNotification 1    xs:boolean; "true" refused
//	    postType 0..1          checked
//	    Sender 1
//	      senderID 1           → SenderID, as given
//	      idType 1             "CVR"; others (MyndighedsID, CPR, Andet) refused
//	      idTypeLabel 0..1, label 1   checked (the sender's name is the registered one)
//	      AttentionData 0..1, ContactPoint 0..1, Representative 0..1 (1.2)   refused
//	    Recipient 1
//	      recipientID 1        → RecipientCPR, as given
//	      idType 1             "CPR"; others refused (residents only)
//	      idTypeLabel 0..1, label 0..1   checked
//	      AttentionData 0..1, ContactPoint 0..1   refused
//	    ContentData 0..1       checked: its children (grd:CPRdata, grd:CVRdata,
//	                           dmv:MotorVehicle, grd:PropertyNumber, CaseID, kle:KLEdata,
//	                           form:FORMdata, grd:ProductionUnit, udd:Education,
//	                           grd:Address, grd:UnstructuredAddress, AdditionalContentData
//	                           0..10) by name, namespace and order; below them only
//	                           depth, text length (1024) and no attributes
//	    ForwardData 0..1       refused
//	    ReplyData 0..n         checked: messageID?, messageUUID (UUID v4), replyUUID?,
//	                           senderID?, recipientID?, caseID?, contactPointID?,
//	                           generatingSystemID?, comment? (512), AdditionalReplyData
//	                           0..4 (label, value). A reply reaches the sender with the
//	                           letter's senderReference, which is the messageUUID.
//	  MessageBody 0..1 (Postkasse: 1)
//	    createdDateTime 1      xs:dateTime in UTC ("…Z"), checked
//	    MainDocument 1         → Documents, Role "main"
//	      mainDocumentID 0..1, label 0..1   checked
//	      File 1..n
//	        encodingFormat 1   → Document.ContentType (a MIME type, as given)
//	        filename 1         → Document.Name
//	        language 1         two letters, checked
//	        content 1          xs:base64Binary → Document.Content
//	      Action 0..n          → Actions
//	    AdditionalDocument 0..n  like MainDocument, Role "additional"
//	    TechnicalDocument 0..n   like MainDocument without Action, Role "technical"
//
// Each File is one Document, in the order of the message, so the first is
// the main document's first file.
//
// # Dates
//
// doNotDeliverUntilDate is an xs:date: a day, not an instant. Parse reads
// it as the start of that day in Europe/Copenhagen (Digital Post's time
// zone: a letter "not delivered until 15 September" appears at 00:00
// Danish time), or, when the date carries a time zone ("2026-09-15+02:00",
// "2026-09-15Z"), as the start of the day at that offset. MeMo's
// xs:dateTime elements must be in UTC (the XSD's pattern ".+Z").
//
// # Actions
//
// An Action (label 1, actionCode 1, startDateTime 0..1, endDateTime 0..1,
// Reservation 0..1, EntryPoint 0..1 with url 1) becomes an Action of the
// sender API (API.md "actions"):
//
//	actionCode      Type          needs
//	AFTALE          appointment   Reservation (At = its startDateTime) or startDateTime (At); url optional
//	BETALING        pay           EntryPoint/url
//	UNDERSKRIV      sign          EntryPoint/url (signing at the sender's service)
//	SELVBETJENING   link          EntryPoint/url
//	INFORMATION     link          EntryPoint/url
//	TILMELDING      link          EntryPoint/url
//	FORBEREDELSE    link          EntryPoint/url
//	BEKRAEFT        link          EntryPoint/url
//
// Any other code is refused. Deadline is the day of endDateTime in
// Europe/Copenhagen. A url must be absolute https without user
// information (Digital Post has required https since November 2024). What
// the sender API's action has no room for is checked and not kept: the
// startDateTime of an action other than AFTALE, and a Reservation's
// description, reservationUUID, abstract, location, endDateTime,
// organizerMail and organizerName. A Reservation on an action other than
// AFTALE is refused. MeMo has no action that maps to the API's "reply":
// replying is MessageHeader/reply (ReplyAllowed).
package memo
