package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/postkasse/postkasse/crypto/signing"
)

// interspersed parses fs from args that may have flags after the
// positional arguments (`verify FILE --signature FILE.p7s`), and leaves
// the positional ones as fs.Args.
func interspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := parseFlagsOnly(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if err := fs.Parse(append([]string{"--"}, positional...)); err != nil {
		return nil, err
	}
	return positional, nil
}

// parseFlagsOnly is parseFlags without its refusal of positional
// arguments.
func parseFlagsOnly(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return parseFlags(fs, args)
	} else if err != nil {
		return fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	return nil
}

// verifySignature checks a resident's signature offline
// (crypto/signing): a signed PDF's embedded signatures, or a detached
// CMS signature of a file. With caFile the signature must chain to that
// CA; without, to the self-signed CA the signature carries, whose
// fingerprint it prints to compare with the appliance's.
func verifySignature(file, sigFile, caFile string, stdout io.Writer) error {
	doc, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	var p7s []byte
	if sigFile != "" {
		if p7s, err = os.ReadFile(sigFile); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
	}
	var roots []*x509.Certificate
	given := caFile != ""
	if given {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		ca, err := signing.ParseCertificatePEM(b)
		if err != nil {
			return fmt.Errorf("verify: %s: %w", caFile, err)
		}
		roots = []*x509.Certificate{ca}
	} else if p7s != nil {
		roots = signing.CACertificates(p7s)
	} else {
		roots = signing.PDFCACertificates(doc)
	}
	if len(roots) == 0 {
		return fmt.Errorf("verify: %s: the signature carries no CA certificate; give the appliance's with --ca", file)
	}
	fmt.Fprintf(stdout, "postkasse verify: %s\n", file)
	var lastErr error
	for _, root := range roots {
		var vs []*signing.Verified
		if p7s != nil {
			var v *signing.Verified
			if v, err = signing.VerifyCMS(doc, p7s, root); err == nil {
				vs = []*signing.Verified{v}
			}
		} else {
			vs, err = signing.VerifyPDF(doc, root)
		}
		if err != nil {
			lastErr = err
			continue
		}
		kind := "detached CMS signature (RFC 5652) " + sigFile + " of the file"
		if p7s == nil {
			kind = fmt.Sprintf("%d PAdES signature(s) embedded in the PDF", len(vs))
		}
		fmt.Fprintf(stdout, "%s\n", kind)
		for _, v := range vs {
			fmt.Fprintf(stdout, "signed by: %s (%s)\n", v.Signer.Subject.CommonName, v.Signer.Subject.SerialNumber)
			fmt.Fprintf(stdout, "  signing time (the signer's): %s\n", v.SigningTime.UTC().Format(time.RFC3339))
			if !v.Timestamp.IsZero() {
				fmt.Fprintf(stdout, "  time-stamp (the appliance's, RFC 3161): %s\n", v.Timestamp.UTC().Format(time.RFC3339))
			}
		}
		fp := sha256.Sum256(root.Raw)
		fmt.Fprintf(stdout, "signing CA: %s, SHA-256 %s\n", root.Subject.CommonName, hex.EncodeToString(fp[:]))
		if !given {
			fmt.Fprintln(stdout, "  (the CA the signature carries: compare its fingerprint with the appliance's, or give it with --ca)")
		}
		fmt.Fprintln(stdout, "OK: the signature verifies")
		return nil
	}
	return fmt.Errorf("verify: %s: %w", file, lastErr)
}
