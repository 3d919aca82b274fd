package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/postkasse/postkasse/store"
)

// runVerify checks a resident's export archive offline, with no data
// folder: every document's SHA-256 against the manifest, every receipt's
// signature with the receipt key the archive carries (or, for a letter
// imported from another appliance, that appliance's key, which its entry
// carries) and its binding to the letter and its documents
// (store.OpenExport, store.ExportArchive.Verify). The first failure is
// an error that names the file of the archive at fault.
func runVerify(args []string, stdout io.Writer) error {
	fs := newFlagSet("verify")
	sigFile := fs.String("signature", "", "a detached CMS signature (.p7s) of FILE, as GET /api/v1/messages/{id}/signature gives it")
	caFile := fs.String("ca", "", "the appliance's signing CA certificate (PEM) that a resident's signature must chain to")
	// Flags may come after the file (FILE --signature FILE.p7s).
	if _, err := interspersed(fs, args); err != nil {
		return err
	}
	if *sigFile != "" || *caFile != "" || (fs.NArg() == 1 && strings.HasSuffix(strings.ToLower(fs.Arg(0)), ".pdf")) {
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: verify: one file is needed (SIGNED.pdf, or FILE with --signature FILE.p7s)", errUsage)
		}
		return verifySignature(fs.Arg(0), *sigFile, *caFile, stdout)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: verify: one export archive (EXPORT.zip) is needed", errUsage)
	}
	name := fs.Arg(0)
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	a, err := store.OpenExport(f, fi.Size(), store.DefaultExportLimits())
	if err != nil {
		return fmt.Errorf("verify: %s: %w", name, err)
	}
	rep, err := a.Verify()
	if err != nil {
		return fmt.Errorf("verify: %s: %w", name, err)
	}
	m := a.Manifest
	own := m.Appliance.ReceiptKey.KeyID
	fmt.Fprintf(stdout, "postkasse verify: %s\n", name)
	fmt.Fprintf(stdout, "export of the mailbox of %s (%s), made %s by %s\n", m.Resident.NationalID, m.Resident.Name,
		m.Exported.UTC().Format("2006-01-02 15:04 UTC"), m.Appliance.Name)
	fmt.Fprintf(stdout, "receipt key of that appliance: ed25519, key id %s\n", own)
	fmt.Fprintf(stdout, "documents: %d (%d bytes), each of the size and SHA-256 the manifest states\n", rep.Documents, rep.Bytes)
	if rep.Sanitised > 0 {
		fmt.Fprintf(stdout, "  %d kept otherwise than sent (HTML sanitised, a file name shortened): the receipt binds what was sent\n", rep.Sanitised)
	}
	fmt.Fprintf(stdout, "letters: %d, each with a good receipt signature and audit proof, stating its letter id, recipient,\n", rep.Letters)
	fmt.Fprintf(stdout, "  sender, reference, time of delivery and the content hash of its subject, text and documents\n")
	keys := make([]string, 0, len(rep.Keys))
	for k := range rep.Keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		who := "letters imported there from the appliance with this key"
		if k == own {
			who = "delivered by that appliance"
		}
		fmt.Fprintf(stdout, "  %d signed by key %s (%s)\n", rep.Keys[k], k, who)
	}
	if rep.Unreadable > 0 {
		fmt.Fprintf(stdout, "unreadable: %d letters that did not open on that appliance (damaged) are named, not included\n", rep.Unreadable)
	}
	if rep.Withheld > 0 {
		fmt.Fprintf(stdout, "withheld: %d letters made inaccessible under a legal obligation are named, not included\n", rep.Withheld)
	}
	if rep.Own > 0 {
		fmt.Fprintf(stdout, "own documents (archive/): %d, the resident's own copies with no receipt: their files' sizes and SHA-256 checked\n", rep.Own)
	} else {
		fmt.Fprintf(stdout, "own documents (archive/): none\n")
	}
	if rep.Replies > 0 {
		fmt.Fprintf(stdout, "replies and messages (replies/): %d, written by the resident (no receipt): their attachments' sizes and SHA-256 checked\n", rep.Replies)
	}
	fmt.Fprintln(stdout, "OK: the export verifies")
	return nil
}
