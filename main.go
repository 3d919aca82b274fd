// Command postkasse is a self-hosted digital mailbox appliance: public
// authorities and businesses deliver letters to residents' mailboxes over
// an HTTPS API; residents read them in a browser; the operator runs it but
// cannot read the mail.
//
// This file holds the subcommands and builds every dependency; the
// packages store, crypto, httpui, jobs and assets hold the rest.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
)

const usage = `usage:
  postkasse demo  [--data DIR] [--http ADDR] [--https ADDR]
  postkasse init  --data DIR --domain NAME [--email ADDR] [--acme-ca URL] [--acme-root FILE]
                  [--http ADDR] [--https ADDR]
  postkasse serve [--data DIR] [--http ADDR] [--https ADDR] [--acme-ca URL] [--acme-root FILE]
  postkasse sender add      [--data DIR] --name NAME --org NUMBER --kind public|private [--out DIR]
  postkasse sender list     [--data DIR] [--json]
  postkasse sender renew    [--data DIR] --id ID | --org NUMBER [--out DIR]
  postkasse sender revoke   [--data DIR] --id ID | --org NUMBER | --cert FINGERPRINT
  postkasse resident add    [--data DIR] --national-id NUMBER --name NAME
  postkasse resident list   [--data DIR] [--json]
  postkasse resident died   [--data DIR] --national-id NUMBER --date YYYY-MM-DD
  postkasse terms publish   [--data DIR] --file FILE --effective YYYY-MM-DD
  postkasse terms list      [--data DIR] [--json]
  postkasse jobs status     [--data DIR] [--json]
  postkasse version

DIR is /var/lib/postkasse unless given. sender, resident, terms and jobs talk to
the running server through DIR/ctl.sock, or work on DIR directly when the server
is stopped.
`

// errUsage marks an error in the command line: main prints the usage.
var errUsage = errors.New("usage")

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintf(os.Stderr, "postkasse: %v\n%s", err, usage)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "postkasse: %v\n", err)
		os.Exit(1)
	}
}

// run dispatches a command line to its subcommand.
func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: a command is needed", errUsage)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "demo":
		return runDemo(rest, stdout)
	case "init":
		return runInit(rest, stdout)
	case "serve":
		return runServe(rest, stdout)
	case "sender":
		return runSender(rest, stdout)
	case "resident":
		return runResident(rest, stdout)
	case "terms":
		return runTerms(rest, stdout)
	case "jobs":
		return runJobs(rest, stdout)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "postkasse %s (%s %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
}

// version returns the module version the binary was built from, or the
// VCS revision for a build from a checkout.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel-" + s.Value[:12]
		}
	}
	return "devel"
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args and refuses stray arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", errUsage, fs.Name(), fs.Arg(0))
	}
	return nil
}
