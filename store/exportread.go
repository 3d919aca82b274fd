package store

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/postkasse/postkasse/crypto"
)

// ExportProblem is what is wrong with an export archive that a reader
// refuses (ExportError).
type ExportProblem string

// Problems of an export archive.
const (
	// ExportCorrupt: not a ZIP file, or a damaged one.
	ExportCorrupt ExportProblem = "corrupt"
	// ExportTooLarge: more files or bytes than the limits allow, or a
	// file larger than its header declares (a ZIP bomb).
	ExportTooLarge ExportProblem = "too-large"
	// ExportUnsafeName: a file name that is absolute, climbs out of the
	// archive (".."), or holds a backslash or control characters.
	ExportUnsafeName ExportProblem = "unsafe-name"
	// ExportDuplicateName: two files of the same name (ignoring case).
	ExportDuplicateName ExportProblem = "duplicate-name"
	// ExportNotAnExport: a ZIP file, but no Postkasse export (no or an
	// unreadable manifest, an unknown format, files the manifest does
	// not list or lists but are missing).
	ExportNotAnExport ExportProblem = "not-an-export"
	// ExportTampered: a receipt's signature, or its binding to the
	// letter, or a document's size or SHA-256 does not verify.
	ExportTampered ExportProblem = "tampered"
	// ExportOtherResident: the export is another resident's mailbox.
	ExportOtherResident ExportProblem = "other-resident"
)

// ExportError is an export archive refused: the problem, the file of the
// archive at fault ("" for the archive as a whole) and what is wrong.
type ExportError struct {
	Problem ExportProblem
	File    string
	// Letter is the letter of the manifest at fault: its id, or its
	// place in the list ("#3") when its id is no good; "" for none.
	Letter string
	Detail string
}

func (e *ExportError) Error() string {
	where := e.File
	if e.Letter != "" {
		where += " (letter " + e.Letter + ")"
	}
	if where == "" {
		return "export archive: " + e.Detail
	}
	return "export archive: " + where + ": " + e.Detail
}

func exportErr(p ExportProblem, file, format string, args ...any) error {
	return &ExportError{Problem: p, File: file, Detail: fmt.Sprintf(format, args...)}
}

// letterErr is exportErr about a letter of the manifest.
func letterErr(p ExportProblem, letter, format string, args ...any) error {
	return &ExportError{Problem: p, File: exportManifest, Letter: letter, Detail: fmt.Sprintf(format, args...)}
}

// ExportLimits bound what OpenExport reads. Sizes are of the contents
// uncompressed, as each file's header declares them: a file that holds
// more than its header says is refused when it is read.
type ExportLimits struct {
	MaxFiles        int
	MaxManifestSize int64
	MaxDocumentSize int64
	MaxTotalSize    int64
}

// DefaultExportLimits are the limits of `postkasse verify`: generous, as
// it stores nothing.
func DefaultExportLimits() ExportLimits {
	return ExportLimits{MaxFiles: 500_000, MaxManifestSize: 1 << 30, MaxDocumentSize: 1 << 30, MaxTotalSize: 64 << 30}
}

// ExportArchive is an export archive opened by OpenExport: its manifest
// is read and its structure checked; Verify checks its contents.
type ExportArchive struct {
	Manifest ExportManifest
	files    map[string]*zip.File
	limits   ExportLimits
}

// letterIDPattern is a letter id: 128 bits in lowercase hex.
var letterIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// OpenExport opens an export archive of size bytes and checks its
// structure: a ZIP file within the limits, safe and distinct names,
// manifest.json of a known format whose letters and documents are in the
// archive, nothing it does not list, and receipt-key.json agreeing with
// it. It reads no document; Verify does. Every refusal is an
// *ExportError.
func OpenExport(r io.ReaderAt, size int64, lim ExportLimits) (*ExportArchive, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, exportErr(ExportCorrupt, "", "not a readable ZIP file: %v", err)
	}
	if len(zr.File) > lim.MaxFiles {
		return nil, exportErr(ExportTooLarge, "", "%d files, more than the %d allowed", len(zr.File), lim.MaxFiles)
	}
	a := &ExportArchive{files: make(map[string]*zip.File, len(zr.File)), limits: lim}
	folded := make(map[string]string, len(zr.File))
	var total uint64
	for _, f := range zr.File {
		if err := checkExportName(f.Name); err != nil {
			return nil, err
		}
		key := strings.ToLower(f.Name)
		if other, ok := folded[key]; ok {
			return nil, exportErr(ExportDuplicateName, f.Name, "the archive holds two files of this name (the other: %q)", other)
		}
		folded[key] = f.Name
		a.files[f.Name] = f
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return nil, exportErr(ExportCorrupt, f.Name, "compression method %d is not one of stored or deflate", f.Method)
		}
		max := uint64(lim.MaxDocumentSize)
		if f.Name == exportManifest {
			max = uint64(lim.MaxManifestSize)
		}
		if strings.HasSuffix(f.Name, "/") {
			max = 0
		}
		if f.UncompressedSize64 > max {
			return nil, exportErr(ExportTooLarge, f.Name, "declares %d bytes, more than the %d allowed", f.UncompressedSize64, max)
		}
		total += f.UncompressedSize64
		if total > uint64(lim.MaxTotalSize) {
			return nil, exportErr(ExportTooLarge, "", "more than %d bytes in all", lim.MaxTotalSize)
		}
	}
	if err := a.readManifest(); err != nil {
		return nil, err
	}
	return a, a.checkStructure()
}

// checkExportName refuses a name that would not stay inside a folder it
// is unpacked in, or shows otherwise than it reads.
func checkExportName(name string) error {
	bad := func(why string) error {
		return exportErr(ExportUnsafeName, fmt.Sprintf("%q", name), "unsafe file name: %s", why)
	}
	switch {
	case name == "":
		return bad("empty")
	case !utf8.ValidString(name):
		return bad("not UTF-8")
	case len(name) > 512:
		return bad("longer than 512 bytes")
	case strings.HasPrefix(name, "/"):
		return bad("absolute")
	case strings.ContainsAny(name, `\:`):
		return bad("holds a backslash or a colon")
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		return bad("holds control or format characters")
	}
	for i, el := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		switch {
		case el == "..":
			return bad("climbs out of the archive (..)")
		case el == "." || el == "":
			return bad(fmt.Sprintf("element %d is empty or \".\"", i+1))
		}
	}
	return nil
}

// readFile reads a whole file of the archive, refusing one that holds
// more than its header declares.
func (a *ExportArchive) readFile(f *zip.File) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := a.copyFile(&buf, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// copyFile copies a file of the archive to w and returns its SHA-256.
// archive/zip refuses a file whose content is longer or shorter than its
// header declares, or whose CRC-32 does not match; the limit here is a
// second guard against a header that lies.
func (a *ExportArchive) copyFile(w io.Writer, f *zip.File) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	rc, err := f.Open()
	if err != nil {
		return sum, exportErr(ExportCorrupt, f.Name, "cannot be read: %v", err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(rc, int64(f.UncompressedSize64)+1))
	if err != nil {
		// archive/zip's reader of a file's content says ErrFormat when
		// it holds more than its header declares.
		if errors.Is(err, zip.ErrFormat) {
			return sum, exportErr(ExportTooLarge, f.Name, "holds more than the %d bytes its header declares", f.UncompressedSize64)
		}
		return sum, exportErr(ExportCorrupt, f.Name, "cannot be read: %v", err)
	}
	if uint64(n) != f.UncompressedSize64 {
		return sum, exportErr(ExportTooLarge, f.Name, "holds more than the %d bytes its header declares", f.UncompressedSize64)
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

func (a *ExportArchive) readManifest() error {
	f, ok := a.files[exportManifest]
	if !ok {
		return exportErr(ExportNotAnExport, "", "no %s: not a Postkasse export", exportManifest)
	}
	b, err := a.readFile(f)
	if err != nil {
		return err
	}
	var format struct {
		Format int `json:"format"`
	}
	if err := json.Unmarshal(b, &format); err != nil {
		return exportErr(ExportNotAnExport, exportManifest, "not JSON: %v", err)
	}
	if !slices.Contains(exportFormats, format.Format) {
		return exportErr(ExportNotAnExport, exportManifest, "format %d is not one this Postkasse reads (%v)", format.Format, exportFormats)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a.Manifest); err != nil {
		return exportErr(ExportNotAnExport, exportManifest, "does not decode: %v", err)
	}
	if a.Manifest.Format < 2 && a.Manifest.Replies != nil {
		return exportErr(ExportNotAnExport, exportManifest, "format %d has no replies", a.Manifest.Format)
	}
	return nil
}

// checkKey checks a receipt key as a manifest states it.
func checkKey(k ExportKey, file, what string) error {
	switch {
	case k.Algorithm != "ed25519":
		return exportErr(ExportNotAnExport, file, "%s: algorithm %q, not ed25519", what, k.Algorithm)
	case len(k.PublicKey) != ed25519.PublicKeySize:
		return exportErr(ExportNotAnExport, file, "%s: a key of %d bytes, not %d", what, len(k.PublicKey), ed25519.PublicKeySize)
	case k.KeyID != crypto.KeyID(k.PublicKey):
		return exportErr(ExportTampered, file, "%s: key id %q does not name the key (%s)", what, k.KeyID, crypto.KeyID(k.PublicKey))
	}
	return nil
}

// checkStructure checks that the manifest describes the archive: every
// document it lists is there once, and nothing else is.
func (a *ExportArchive) checkStructure() error {
	m := &a.Manifest
	if err := checkKey(m.Appliance.ReceiptKey, exportManifest, "the appliance's receipt key"); err != nil {
		return err
	}
	kf, ok := a.files[exportReceiptKey]
	if !ok {
		return exportErr(ExportNotAnExport, "", "no %s", exportReceiptKey)
	}
	b, err := a.readFile(kf)
	if err != nil {
		return err
	}
	var key ExportKey
	if err := json.Unmarshal(b, &key); err != nil {
		return exportErr(ExportNotAnExport, exportReceiptKey, "does not decode: %v", err)
	}
	if key.KeyID != m.Appliance.ReceiptKey.KeyID || !bytes.Equal(key.PublicKey, m.Appliance.ReceiptKey.PublicKey) {
		return exportErr(ExportTampered, exportReceiptKey, "is not the key the manifest names (%s)", m.Appliance.ReceiptKey.KeyID)
	}
	if _, err := ParseNationalID(m.Resident.NationalID); err != nil {
		return exportErr(ExportNotAnExport, exportManifest, "the resident's national identity number: %v", err)
	}
	listed := map[string]bool{exportManifest: true, exportReceiptKey: true, exportArchiveDir: true, exportLettersDir: true}
	// checkFiles checks that the documents of an entry are in its folder
	// of the archive, each once.
	checkFiles := func(id, dir string, docs []ExportDocument) error {
		listed[dir] = true
		for j, d := range docs {
			if !strings.HasPrefix(d.Path, dir) || strings.Contains(d.Path[len(dir):], "/") || len(d.Path) == len(dir) {
				return letterErr(ExportUnsafeName, id, "document %d's path %q is not in %s", j+1, d.Path, dir)
			}
			f, ok := a.files[d.Path]
			switch {
			case !ok:
				return exportErr(ExportNotAnExport, d.Path, "listed in the manifest but not in the archive")
			case listed[d.Path]:
				return exportErr(ExportDuplicateName, d.Path, "listed twice in the manifest")
			case d.Size < 0 || uint64(d.Size) != f.UncompressedSize64:
				return exportErr(ExportTampered, d.Path, "%d bytes, but the manifest says %d", f.UncompressedSize64, d.Size)
			}
			listed[d.Path] = true
		}
		return nil
	}
	owns := map[string]bool{}
	for i, o := range m.Archive {
		if !letterIDPattern.MatchString(o.ID) {
			return letterErr(ExportNotAnExport, fmt.Sprintf("archive #%d", i+1), "document id %q is not one of Postkasse's", o.ID)
		}
		if owns[o.ID] {
			return letterErr(ExportDuplicateName, o.ID, "listed twice in the archive")
		}
		owns[o.ID] = true
		if err := checkFiles(o.ID, exportArchiveDir+o.ID+"/", o.Documents); err != nil {
			return err
		}
	}
	ids := map[string]bool{}
	for i, l := range m.Letters {
		if !letterIDPattern.MatchString(l.ID) {
			return letterErr(ExportNotAnExport, fmt.Sprintf("#%d", i+1), "letter id %q is not one of Postkasse's", l.ID)
		}
		if ids[l.ID] {
			return letterErr(ExportDuplicateName, l.ID, "listed twice")
		}
		ids[l.ID] = true
		if o := l.ImportedFrom; o != nil {
			if err := checkKey(o.ReceiptKey, exportManifest, "the receipt key of the appliance letter "+l.ID+" came from"); err != nil {
				return err
			}
		}
		if err := checkFiles(l.ID, exportLettersDir+l.ID+"/", l.Documents); err != nil {
			return err
		}
	}
	replies := map[string]bool{}
	for i, r := range m.Replies {
		switch {
		case !letterIDPattern.MatchString(r.ID):
			return letterErr(ExportNotAnExport, fmt.Sprintf("reply #%d", i+1), "reply id %q is not one of Postkasse's", r.ID)
		case replies[r.ID]:
			return letterErr(ExportDuplicateName, r.ID, "reply listed twice")
		case r.LetterID != "" && !ids[r.LetterID]:
			return letterErr(ExportNotAnExport, r.ID, "a reply to letter %q, which the manifest does not list", r.LetterID)
		}
		replies[r.ID] = true
		listed[exportRepliesDir] = true
		if err := checkFiles(r.ID, exportRepliesDir+r.ID+"/", r.Attachments); err != nil {
			return err
		}
	}
	for name := range a.files {
		if !listed[name] {
			return exportErr(ExportNotAnExport, name, "a file the manifest does not list")
		}
	}
	return nil
}

// ExportReport is what Verify found: everything it counts verified.
type ExportReport struct {
	Letters int
	// Own counts the resident's own documents (no receipt: their files'
	// sizes and SHA-256 verified); Documents and Bytes count their files
	// too.
	Own       int
	Documents int
	Bytes     int64
	// Replies counts the replies and messages (their attachments'
	// sizes and SHA-256 verified, counted in Documents and Bytes too).
	Replies int
	// Withheld and Unreadable count the letters the manifest names but
	// the archive leaves out (ExportManifest).
	Withheld, Unreadable int
	// Keys counts the letters whose receipts each receipt key (by id)
	// signed; the appliance's own is Manifest.Appliance.ReceiptKey.
	Keys map[string]int
	// Sanitised counts the documents kept otherwise than sent (HTML
	// sanitised, a name shortened): the receipt binds what was sent, the
	// manifest's SHA-256 what is kept.
	Sanitised int
}

// Verify checks every letter of the archive: each document's size and
// SHA-256 against the manifest, each receipt's signature (with the
// appliance's key, or the key of the appliance an imported letter came
// from) and audit proof, and that the receipt states this letter: its
// id, the resident, the sender's organisation number and reference, the
// time of delivery and the content hash of the subject, body, flags and
// documents. The first failure is an *ExportError naming the file.
func (a *ExportArchive) Verify() (ExportReport, error) {
	rep := ExportReport{Keys: map[string]int{}, Withheld: len(a.Manifest.Withheld), Unreadable: len(a.Manifest.Unreadable)}
	files := func(docs []ExportDocument) ([][sha256.Size]byte, error) {
		sums := make([][sha256.Size]byte, len(docs))
		for j, d := range docs {
			sum, err := a.copyFile(io.Discard, a.files[d.Path])
			if err != nil {
				return nil, err
			}
			if hex.EncodeToString(sum[:]) != d.SHA256 {
				return nil, exportErr(ExportTampered, d.Path, "its SHA-256 is %x, but the manifest says %s", sum, d.SHA256)
			}
			sums[j] = sum
			rep.Documents++
			rep.Bytes += d.Size
			if d.Sent != nil {
				rep.Sanitised++
			}
		}
		return sums, nil
	}
	for i := range a.Manifest.Archive {
		if _, err := files(a.Manifest.Archive[i].Documents); err != nil {
			return rep, err
		}
		rep.Own++
	}
	for i := range a.Manifest.Replies {
		if _, err := files(a.Manifest.Replies[i].Attachments); err != nil {
			return rep, err
		}
		rep.Replies++
	}
	for i := range a.Manifest.Letters {
		l := &a.Manifest.Letters[i]
		sums, err := files(l.Documents)
		if err != nil {
			return rep, err
		}
		key, err := a.checkReceipt(l, sums)
		if err != nil {
			return rep, err
		}
		rep.Keys[key]++
		rep.Letters++
	}
	return rep, nil
}

// checkReceipt checks a letter's receipt against the letter, whose
// documents have the SHA-256 sums given, and returns the id of the key
// that signed it.
func (a *ExportArchive) checkReceipt(l *ExportLetter, sums [][sha256.Size]byte) (string, error) {
	fail := func(format string, args ...any) (string, error) {
		return "", letterErr(ExportTampered, l.ID, "receipt: "+format, args...)
	}
	key, id := a.Manifest.Appliance.ReceiptKey, l.ID
	if o := l.ImportedFrom; o != nil {
		key, id = o.ReceiptKey, o.LetterID
	}
	if l.Receipt.KeyID != key.KeyID {
		return fail("signed by key %q, not %q", l.Receipt.KeyID, key.KeyID)
	}
	p, err := VerifyReceiptWith(key.PublicKey, l.Receipt)
	if err != nil {
		return fail("%v", err)
	}
	switch {
	case p.LetterID != id:
		return fail("states letter %s", p.LetterID)
	case p.Recipient != a.Manifest.Resident.NationalID:
		return fail("states another recipient")
	case !p.DeliveredAt.Equal(l.DeliveredAt):
		return fail("states delivery at %s, the manifest %s", p.DeliveredAt.Format("2006-01-02T15:04:05.999999Z07:00"), l.DeliveredAt.Format("2006-01-02T15:04:05.999999Z07:00"))
	case p.SenderOrgNumber != l.Sender.OrgNumber:
		return fail("states sender %s, the manifest %s", p.SenderOrgNumber, l.Sender.OrgNumber)
	case p.SenderReference != l.SenderReference:
		return fail("states another sender reference")
	}
	docs := make([]HashedDocument, len(l.Documents))
	for j, d := range l.Documents {
		docs[j] = HashedDocument{Name: d.Name, ContentType: d.ContentType, SHA256: sums[j]}
		if s := d.Sent; s != nil {
			sum, err := hex.DecodeString(s.SHA256)
			if err != nil || len(sum) != sha256.Size {
				return fail("document %d: the SHA-256 as sent is not hex", j+1)
			}
			docs[j] = HashedDocument{Name: s.Name, ContentType: s.ContentType, SHA256: [sha256.Size]byte(sum)}
		}
	}
	d := Delivery{Recipient: NationalID{Number: a.Manifest.Resident.NationalID}, Subject: l.Subject, Body: l.Body,
		Type: l.Type, DueDate: l.DueDate, ReplyAllowed: l.ReplyAllowed, Sensitive: l.Sensitive,
		OpeningReceipt: l.OpeningReceipt, Invoice: l.Invoice, Actions: l.Actions, SignatureRequest: l.SignatureRequest,
		InReplyTo: l.InReplyTo}
	if got := contentHashOf(&d, docs); got != p.ContentHash {
		return fail("its content hash does not match the letter's subject, text and documents")
	}
	return key.KeyID, nil
}

// document reads a document of the archive, checking its size and
// SHA-256 against the manifest again.
func (a *ExportArchive) document(d ExportDocument) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(d.Size))
	sum, err := a.copyFile(&buf, a.files[d.Path])
	if err != nil {
		return nil, err
	}
	if hex.EncodeToString(sum[:]) != d.SHA256 {
		return nil, exportErr(ExportTampered, d.Path, "its SHA-256 is %x, but the manifest says %s", sum, d.SHA256)
	}
	return buf.Bytes(), nil
}
