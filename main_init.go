package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/postkasse/postkasse/httpui/control"
	"github.com/postkasse/postkasse/store"
)

// acmeRootFileName is where init copies the --acme-root file, so the data
// folder carries it when it moves.
const acmeRootFileName = "acme-root.pem"

// runInit is `postkasse init`: it makes a data folder with a documented
// postkasse.toml, the database and the sender CA, and says what to do next.
// A data folder with a postkasse.toml is never touched; an init that failed
// half-way may be run again.
func runInit(args []string, stdout io.Writer) error {
	fs := newFlagSet("init")
	data := fs.String("data", "", "data folder to create (required)")
	domain := fs.String("domain", "", "the appliance's DNS name (required)")
	email := fs.String("email", "", "contact address for the ACME account")
	var f serveFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return fmt.Errorf("%w: init: --data is required", errUsage)
	}
	if *domain == "" {
		return fmt.Errorf("%w: init: --domain is required", errUsage)
	}
	cfg := defaultConfig()
	cfg.Domain = strings.ToLower(strings.TrimSuffix(*domain, "."))
	cfg.ACME.Email = *email
	acmeRoot := f.acmeRoot
	f.acmeRoot = "" // copied into the folder below, not referred to
	if err := f.apply(&cfg); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if cfg.Domain == "" {
		return fmt.Errorf("%w: init: --domain is empty", errUsage)
	}
	var rootPEM []byte
	if acmeRoot != "" {
		var err error
		if rootPEM, err = os.ReadFile(acmeRoot); err != nil {
			return fmt.Errorf("--acme-root: %w", err)
		}
		if _, err := rootPool(rootPEM); err != nil {
			return fmt.Errorf("--acme-root %s: %w", acmeRoot, err)
		}
		cfg.ACME.TrustedRoot = acmeRootFileName
	}

	dir, err := filepath.Abs(*data)
	if err != nil {
		return err
	}
	configPath := filepath.Join(dir, configFileName)
	if _, err := os.Stat(configPath); err == nil {
		return fmt.Errorf("%s is initialised already (it has %s); nothing was changed", dir, configFileName)
	}
	if _, err := os.Stat(demoFilePath(dir)); err == nil {
		return fmt.Errorf("%s is a demo data folder; use another folder", dir)
	}
	if err := control.CheckSocketPath(filepath.Join(dir, socketFileName)); err != nil {
		return fmt.Errorf("%w; nothing was made", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	// The folder holds the sender CA key and the database: owner only.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	if _, err := loadOrCreateCA(filepath.Join(dir, caDirName), "Postkasse sender CA for "+cfg.Domain); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, certsDirName), 0o700); err != nil {
		return err
	}
	if rootPEM != nil {
		if err := writeFileAtomic(filepath.Join(dir, acmeRootFileName), rootPEM, 0o644); err != nil {
			return err
		}
	}
	st, err := store.Open(filepath.Join(dir, dbFileName), store.Options{Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	// The configuration comes last: its presence says the folder is
	// complete.
	if err := writeFileAtomic(configPath, marshalConfig(&cfg), 0o600); err != nil {
		return err
	}
	printNextSteps(stdout, dir, &cfg)
	return nil
}

// printNextSteps tells the operator what init did and what comes next.
func printNextSteps(w io.Writer, dir string, cfg *Config) {
	data := ""
	if dir != defaultDataDir {
		data = " --data " + shellQuote(dir)
	}
	_, httpPort, _ := net.SplitHostPort(cfg.Listen.HTTP)
	_, httpsPort, _ := net.SplitHostPort(cfg.Listen.HTTPS)
	fmt.Fprintf(w, "Postkasse is set up in %s for %s.\n\n", dir, cfg.Domain)
	fmt.Fprintf(w, "  %-16s the configuration; every key is explained in it\n", configFileName)
	fmt.Fprintf(w, "  %-16s the database (empty)\n", dbFileName)
	fmt.Fprintf(w, "  %-16s the sender CA, which issues senders' client certificates\n", caDirName+"/")
	fmt.Fprintf(w, "  %-16s TLS certificates from %s, once obtained\n\n", certsDirName+"/", cfg.ACME.CA)
	fmt.Fprintf(w, "Next steps:\n")
	fmt.Fprintf(w, "  1. DNS: point %s (A and/or AAAA records) at this machine.\n", cfg.Domain)
	fmt.Fprintf(w, "  2. Firewall: open TCP ports %s (HTTP: ACME validation, redirect) and %s (HTTPS).\n", httpPort, httpsPort)
	fmt.Fprintf(w, "  3. Start the server (as a systemd service: see docs/OPERATORS.md):\n")
	fmt.Fprintf(w, "       postkasse serve%s\n", data)
	fmt.Fprintf(w, "     It obtains its certificate on the first start and renews it by itself.\n")
	fmt.Fprintf(w, "  4. Register a sender; it gets a client certificate and key to deliver with:\n")
	fmt.Fprintf(w, "       postkasse sender add%s --name 'Eksempelby Kommune' --org 29189846 --kind public\n", data)
	fmt.Fprintf(w, "  5. Enrol residents; each activates the mailbox at %s/activate\n", publicURL(cfg.Domain, portOf(cfg.Listen.HTTPS)))
	fmt.Fprintf(w, "     with the activation code this prints:\n")
	fmt.Fprintf(w, "       postkasse resident add%s --national-id 1203861234 --name 'Anna Jensen'\n", data)
	fmt.Fprintf(w, "  6. Set jobs.municipality in %s to the municipality's organisation number\n", configFileName)
	fmt.Fprintf(w, "     (the public sender of step 4): notices of new terms of use are delivered from it, and\n")
	fmt.Fprintf(w, "     without it none go out. Publish the terms with `postkasse terms publish`.\n")
	fmt.Fprintf(w, "  7. Back up %s: it is the whole appliance (set backup.folder for a daily copy;\n", dir)
	fmt.Fprintf(w, "     docs/OPERATORS.md says how).\n")
}
