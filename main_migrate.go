package main

// postkasse migrate: an embedded deployment copied into the cluster engine
// (store/migrate), compared and its audit log verified on the target.

import (
	"context"
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
	"github.com/postkasse/postkasse/store/migrate"
)

// runMigrate copies the data folder's database into the cluster engine,
// compares the two and verifies the copy's audit log; with --compare it
// only compares (a second run, or a check later). The source is opened
// read-only: stop the server first.
func runMigrate(args []string, stdout io.Writer) error {
	fs := newFlagSet("migrate")
	data := fs.String("data", defaultDataDir, "data folder of the embedded deployment (the server stopped)")
	to := fs.String("to", "", "the PostgreSQL URL, without its password (PGPASSWORD or PGPASSFILE)")
	blobs := fs.String("blobs", "", "the bucket: s3://HOST[:PORT]/BUCKET (https), or s3+http://… for plain HTTP")
	region := fs.String("blobs-region", "", "the bucket's region (us-east-1 when empty)")
	creds := fs.String("blobs-credentials", "", "a file of two lines, the access key and the secret key (else AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	compareOnly := fs.Bool("compare", false, "only compare the target with the source")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *to == "" || *blobs == "" {
		return fmt.Errorf("%w: migrate: --to and --blobs are required", errUsage)
	}
	sc := StoreConfig{Engine: "cluster", DatabaseURL: *to, BlobsRegion: *region, BlobsCredentialsFile: *creds}
	endpoint, bucket, ok := parseBlobsURL(*blobs)
	if !ok {
		return fmt.Errorf("%w: migrate: --blobs %q: want s3://HOST[:PORT]/BUCKET (s3+http:// for plain HTTP inside a private network)", errUsage, *blobs)
	}
	sc.BlobsEndpoint, sc.BlobsBucket = endpoint, bucket
	if err := sc.check(); err != nil {
		return fmt.Errorf("migrate: %v", strings.ReplaceAll(strings.ReplaceAll(err.Error(), "store.database_url", "--to"), "store.blobs_endpoint", "--blobs"))
	}
	if sc.BlobsCredentialsFile != "" && !filepath.IsAbs(sc.BlobsCredentialsFile) {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		sc.BlobsCredentialsFile = filepath.Join(wd, sc.BlobsCredentialsFile)
	}
	ccfg, err := (&resolved{Config: &Config{Store: sc}}).clusterConfig()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	path := filepath.Join(*data, dbFileName)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	src, err := embedded.Open(path, embedded.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer src.Close()
	ctx := context.Background()
	dst, err := cluster.Open(ctx, ccfg)
	if err != nil {
		return fmt.Errorf("migrate: the target: %w", err)
	}
	defer dst.Close()

	if !*compareOnly {
		fmt.Fprintf(stdout, "postkasse migrate: copying %s into the cluster engine\n", path)
		start := time.Now()
		rep, err := migrate.Copy(ctx, src, dst, func(kind string, n int) { fmt.Fprintf(stdout, "  %-18s %d\n", kind+":", n) })
		if errors.Is(err, migrate.ErrNotEmpty) {
			return fmt.Errorf("migrate: %w; compare it with --compare, or empty the database and the bucket to copy again", err)
		} else if err != nil {
			return fmt.Errorf("migrate: %w (the target holds part of the copy: empty the database and the bucket before trying again)", err)
		}
		fmt.Fprintf(stdout, "  documents:         %d (%d bytes) in %s\n", rep.Blobs, rep.BlobBytes, time.Since(start).Round(time.Millisecond))
	}
	rep, err := migrate.Compare(ctx, src, dst)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(stdout, "compared: the same %d records, %d letters, %d documents and %d audit entries\n",
		total(rep), rep.Records["letters"], rep.Blobs, rep.Records["audit entries"])

	// The copy's audit log, against the data folder's checkpoints.
	st, err := store.New(dst, store.Options{})
	if err != nil {
		return fmt.Errorf("migrate: the target: %w", err)
	}
	var ev auditlog.Evidence
	cp := filepath.Join(*data, checkpointFileName)
	if b, err := os.ReadFile(cp); err == nil {
		ev.Checkpoints = append(ev.Checkpoints, auditlog.File{Name: cp, Data: b})
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("migrate: %w", err)
	}
	report, err := st.VerifyAudit(context.Background(), ev)
	if err != nil {
		return fmt.Errorf("migrate: verify the copy's audit log: %w", err)
	}
	if !report.OK() {
		return fmt.Errorf("migrate: the copy's audit log does not verify:\n%s", report)
	}
	fmt.Fprintf(stdout, "the copy's audit log verifies: %d entries, %d checkpoints match\n", report.Size, report.Checkpoints)
	fmt.Fprintf(stdout, "\nTo run on the copy, set in %s:\n\n[store]\nengine = \"cluster\"\ndatabase_url = %q\nblobs_endpoint = %q\nblobs_bucket = %q\n",
		filepath.Join(*data, configFileName), sc.DatabaseURL, sc.BlobsEndpoint, sc.BlobsBucket)
	return nil
}

// total is the number of records of every kind but letters and the audit
// log.
func total(r migrate.Report) int {
	n := 0
	for k, v := range r.Records {
		if k != "letters" && k != "audit entries" {
			n += v
		}
	}
	return n
}

// parseBlobsURL reads a bucket's URL, s3://HOST[:PORT]/BUCKET (the
// endpoint over HTTPS) or s3+http://HOST[:PORT]/BUCKET (plain HTTP, inside
// a private network); https:// and http:// are taken too.
func parseBlobsURL(s string) (endpoint, bucket string, ok bool) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return "", "", false
	}
	bucket = strings.Trim(u.Path, "/")
	if bucket == "" || strings.Contains(bucket, "/") {
		return "", "", false
	}
	switch u.Scheme {
	case "s3", "https":
		return "https://" + u.Host, bucket, true
	case "s3+http", "http":
		return "http://" + u.Host, bucket, true
	}
	return "", "", false
}
