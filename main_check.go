package main

// The auditor's offline commands: `check` and `audit verify` read a data
// folder's database, or a copy of one, read-only, with the binary alone;
// for a cluster deployment's folder, its database and bucket, read-only.

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/postkasse/postkasse/store"
	"github.com/postkasse/postkasse/store/auditlog"
	"github.com/postkasse/postkasse/store/cluster"
	"github.com/postkasse/postkasse/store/embedded"
)

// openForAudit opens a data folder's database (data), a database file or
// a file `postkasse backup` wrote (backup) read-only, and returns how to
// close it. A database the running server holds is refused with what to
// do instead.
func openForAudit(cmd, data, backup string) (*store.Store, string, func(), error) {
	path := backup
	switch {
	case data != "" && backup != "":
		return nil, "", nil, fmt.Errorf("%w: %s: --data or --backup, not both", errUsage, cmd)
	case backup == "":
		path = filepath.Join(data, dbFileName)
		if st, where, closeDB, ok, err := openClusterForAudit(cmd, data); ok {
			return st, where, closeDB, err
		}
	}
	if _, err := os.Stat(path); err != nil {
		return nil, "", nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if backup != "" && isBackupArchive(backup) {
		// A file `postkasse backup` wrote: its files are checked against
		// its manifest and its database is checked from a copy.
		tmp, err := os.MkdirTemp("", "postkasse-"+strings.ReplaceAll(cmd, " ", "-")+"-*")
		if err != nil {
			return nil, "", nil, err
		}
		f, err := os.Open(backup)
		if err != nil {
			os.RemoveAll(tmp)
			return nil, "", nil, err
		}
		_, err = unpackBackup(f, tmp)
		f.Close()
		if err != nil {
			os.RemoveAll(tmp)
			return nil, "", nil, fmt.Errorf("%s: %s: %w", cmd, backup, err)
		}
		st, _, closeDB, err := openForAudit(cmd, "", filepath.Join(tmp, dbFileName))
		if err != nil {
			os.RemoveAll(tmp)
			return nil, "", nil, err
		}
		return st, backup, func() { closeDB(); os.RemoveAll(tmp) }, nil
	}
	// A database the running server holds is refused (the engine says
	// so): check a copy of it instead.
	eng, err := embedded.Open(path, embedded.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return nil, "", nil, fmt.Errorf("%s: %w", cmd, err)
	}
	st, err := store.New(eng, store.Options{})
	if err != nil {
		eng.Close()
		return nil, "", nil, fmt.Errorf("%s: %s: %w", cmd, path, err)
	}
	return st, path, func() { st.Close() }, nil
}

// openClusterForAudit opens, read-only, the database and bucket of a data
// folder whose postkasse.toml sets [store] engine = "cluster"; ok is
// false for any other folder (an embedded one, or one without a
// configuration, which openForAudit reads as a database file's folder).
func openClusterForAudit(cmd, data string) (st *store.Store, where string, closeDB func(), ok bool, err error) {
	dir, err := filepath.Abs(data)
	if err != nil {
		return nil, "", nil, false, nil
	}
	if _, err := os.Stat(filepath.Join(dir, configFileName)); err != nil {
		return nil, "", nil, false, nil
	}
	cfg, err := loadResolved(dir)
	if err != nil {
		return nil, "", nil, true, fmt.Errorf("%s: %w", cmd, err)
	}
	if cfg.Store.Engine != "cluster" {
		return nil, "", nil, false, nil
	}
	ccfg, err := cfg.clusterConfig()
	if err != nil {
		return nil, "", nil, true, fmt.Errorf("%s: %w", cmd, err)
	}
	ccfg.ReadOnly = true
	eng, err := cluster.Open(context.Background(), ccfg)
	if err != nil {
		return nil, "", nil, true, fmt.Errorf("%s: cluster engine: %w", cmd, err)
	}
	st, err = store.New(eng, store.Options{})
	if err != nil {
		eng.Close()
		return nil, "", nil, true, fmt.Errorf("%s: %w", cmd, err)
	}
	where = fmt.Sprintf("the cluster database of %s (%s, bucket %s)", dir, redactedDatabaseURL(cfg.Store.DatabaseURL), cfg.Store.BlobsBucket)
	return st, where, func() { st.Close() }, true, nil
}

// redactedDatabaseURL is a database URL as the reports print it: host,
// port and database, without user or query.
func redactedDatabaseURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "the database"
	}
	return u.Host + u.Path
}

// runCheck runs the engine's consistency check, the domain's invariants
// (the audit log's verification among them) and counts the letters and
// residents of each envelope version.
func runCheck(args []string, stdout io.Writer) error {
	fs := newFlagSet("check")
	data := fs.String("data", "", "data folder (default "+defaultDataDir+")")
	backup := fs.String("backup", "", "a file that postkasse backup wrote, or a copy of a database file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" && *backup == "" {
		*data = defaultDataDir
	}
	st, path, closeStore, err := openForAudit("check", *data, *backup)
	if err != nil {
		return err
	}
	defer closeStore()
	fmt.Fprintf(stdout, "postkasse check: %s\n", path)
	var failed []string
	report := func(what string, err error) {
		if err == nil {
			fmt.Fprintf(stdout, "  %-11s ok\n", what+":")
			return
		}
		failed = append(failed, what)
		fmt.Fprintf(stdout, "  %-11s FAILED\n", what+":")
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stdout, "    %s\n", line)
		}
	}
	report("engine", st.Check(context.Background()))
	report("invariants", st.CheckInvariants(context.Background()))
	counts, err := st.Envelopes(context.Background())
	if err != nil {
		return fmt.Errorf("check: envelopes: %w", err)
	}
	fmt.Fprintf(stdout, "  envelopes:  %d letters sealed in v2 (ML-KEM-768 + X25519), %d in v1 (X25519 only), %d in neither\n",
		counts.LettersV2, counts.LettersV1, counts.Unknown)
	fmt.Fprintf(stdout, "              %d residents with an ML-KEM-768 key, %d without (until their next sign-in)\n",
		counts.ResidentsV2, counts.ResidentsV1)
	if len(failed) > 0 {
		return fmt.Errorf("check: %s failed", strings.Join(failed, " and "))
	}
	return nil
}

// runAudit runs `audit verify`.
func runAudit(args []string, stdout io.Writer) error {
	return dispatch("audit", "a subcommand (verify)", args, stdout, subcommands{"verify": auditVerify})
}

// fileList is a flag that may be given many times.
type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(s string) error { *f = append(*f, s); return nil }

// auditVerify verifies the audit log of a data folder or a database file
// against itself and against checkpoints and receipts held elsewhere.
func auditVerify(args []string, stdout io.Writer) error {
	fs := newFlagSet("audit verify")
	data := fs.String("data", "", "data folder (default "+defaultDataDir+")")
	backup := fs.String("backup", "", "a file that postkasse backup wrote, or a copy of a database file")
	var checkpoints, receipts fileList
	fs.Var(&checkpoints, "checkpoint", "a file of signed checkpoints (may be given again)")
	fs.Var(&receipts, "receipt", "a receipt as the API returned it (may be given again)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" && *backup == "" {
		*data = defaultDataDir
	}
	st, path, closeStore, err := openForAudit("audit verify", *data, *backup)
	if err != nil {
		return err
	}
	defer closeStore()
	var ev auditlog.Evidence
	for _, name := range checkpoints {
		b, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
		ev.Checkpoints = append(ev.Checkpoints, auditlog.File{Name: name, Data: b})
	}
	for _, name := range receipts {
		claim, err := receiptClaim(st, name)
		if err != nil {
			return fmt.Errorf("audit verify: receipt %s: %w", name, err)
		}
		if claim != nil {
			ev.Receipts = append(ev.Receipts, *claim)
		} else {
			fmt.Fprintf(stdout, "note: %s is a version-1 receipt (signature good); it holds no proof to check against the log\n", name)
		}
	}
	report, err := st.VerifyAudit(context.Background(), ev)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	fmt.Fprintf(stdout, "postkasse audit verify: %s\n%s\n", path, report)
	if !report.OK() {
		return errors.New("audit verify: the audit log does not verify (see above)")
	}
	return nil
}

// receiptClaim reads a receipt file (the `receipt` object of a delivery's
// answer, or the whole answer), checks its signature with the
// appliance's key, and returns what it claims about the audit log (nil for
// a version-1 receipt, which claims nothing).
func receiptClaim(st *store.Store, name string) (*auditlog.ReceiptClaim, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var answer struct {
		Receipt *store.Receipt `json:"receipt"`
	}
	var r store.Receipt
	if err := json.Unmarshal(b, &answer); err == nil && answer.Receipt != nil {
		r = *answer.Receipt
	} else if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("not a receipt: %w", err)
	}
	p, err := st.VerifyReceipt(r)
	if err != nil {
		return nil, err
	}
	if p.Audit == nil {
		return nil, nil
	}
	return &auditlog.ReceiptClaim{Name: "receipt of letter " + p.LetterID, Entry: p.AuditEntry(), Proof: *p.Audit}, nil
}

// isBackupArchive reports whether path is a file `postkasse backup` wrote
// (a tar archive whose first file is the database), not a database file.
func isBackupArchive(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	h, err := tar.NewReader(f).Next()
	return err == nil && h.Name == dbFileName
}
