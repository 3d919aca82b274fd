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
	"strings"
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
  postkasse sender rate     [--data DIR] --id ID | --org NUMBER --rate PER_SECOND --burst N | --default
  postkasse sender reply-key [--data DIR] --sender ID | --org NUMBER --public-key BASE64
  postkasse sender messages [--data DIR] --sender ID | --org NUMBER --on | --off
  postkasse resident add    [--data DIR] --national-id NUMBER --name NAME
  postkasse resident list   [--data DIR] [--json]
  postkasse resident reset-code [--data DIR] --national-id NUMBER
  postkasse resident died   [--data DIR] --national-id NUMBER --date YYYY-MM-DD
  postkasse resident block  [--data DIR] --national-id NUMBER --reason TEXT
  postkasse resident unblock [--data DIR] --national-id NUMBER
  postkasse resident reserve   [--data DIR] --national-id NUMBER
  postkasse resident unreserve [--data DIR] --national-id NUMBER
  postkasse resident guardian add    [--data DIR] --ward NUMBER --guardian NUMBER [--until YYYY-MM-DD] [--decision TEXT]
  postkasse resident guardian remove [--data DIR] --ward NUMBER --guardian NUMBER
  postkasse letter make-inaccessible [--data DIR] --id ID --reason TEXT --order TEXT
  postkasse letter make-accessible   [--data DIR] --id ID
  postkasse support list    [--data DIR] [--json]
  postkasse support show    [--data DIR] --id ID
  postkasse support answer  [--data DIR] --id ID --text TEXT | --file FILE
  postkasse terms publish   [--data DIR] --file FILE --effective YYYY-MM-DD
  postkasse terms list      [--data DIR] [--json]
  postkasse jobs status     [--data DIR] [--json]
  postkasse print key       [--data DIR] --out FILE
  postkasse print export    [--data DIR] --key FILE --to DIR [--batch BATCH]
  postkasse print done      [--data DIR] BATCH
  postkasse print status    [--data DIR] [--json]
  postkasse backup          [--data DIR] --to FILE
  postkasse restore         --from FILE --data DIR
  postkasse check           [--data DIR | --backup FILE]
  postkasse audit verify    [--data DIR | --backup FILE] [--checkpoint FILE]... [--receipt FILE]...
  postkasse verify          EXPORT.zip                # a resident's export, offline
  postkasse verify          SIGNED.pdf [--ca CA.pem]  # a resident's PAdES signature, offline
  postkasse verify          FILE --signature FILE.p7s [--ca CA.pem]  # a detached CMS signature
  postkasse migrate         [--data DIR] --to DATABASE-URL --blobs s3://HOST[:PORT]/BUCKET
                            [--blobs-region R] [--blobs-credentials FILE] [--compare]
  postkasse send   --api URL --cert F --key F [--cacert F] --to NATIONALID --subject S
                   --reference R [--type T] [--reply-allowed] [--in-reply-to REPLY] FILE...  # a sender's tool
  postkasse send   --api URL --cert F --key F [--cacert F] --memo FILE   # a MeMo message
  postkasse events --api URL --cert F --key F [--cacert F] [--after CURSOR] [--follow]
                   [--reply-key FILE [--replies DIR]]     # opens each reply into DIR/<reply id>/
  postkasse reply-key --out FILE                           # a sender's new reply key; prints the public key
  postkasse version

DIR is /var/lib/postkasse unless given. sender, resident, letter, support, terms, jobs and print talk to
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
	printVersion := func(args []string, stdout io.Writer) error {
		if len(args) > 0 {
			return fmt.Errorf("%w: version: unexpected argument %q", errUsage, args[0])
		}
		fmt.Fprintf(stdout, "postkasse %s (%s %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	}
	printUsage := func(_ []string, stdout io.Writer) error {
		fmt.Fprint(stdout, usage)
		return nil
	}
	err := dispatch("", "a command", args, stdout, subcommands{
		"demo": runDemo, "init": runInit, "serve": runServe,
		"sender": runSender, "resident": runResident, "terms": runTerms, "jobs": runJobs,
		"check": runCheck, "audit": runAudit, "migrate": runMigrate, "verify": runVerify,
		"letter": runLetter, "support": runSupport, "backup": runBackup, "restore": runRestore,
		"send": runSend, "events": runEvents, "reply-key": runReplyKey, "print": runPrint,
		"version": printVersion, "--version": printVersion, "-version": printVersion,
		"help": printUsage, "-h": printUsage, "--help": printUsage,
	})
	var help *helpError
	if errors.As(err, &help) {
		fmt.Fprint(stdout, help.text)
		return nil
	}
	return err
}

// subcommands are a command's subcommands by name, each run with the
// arguments after its name.
type subcommands map[string]func(args []string, stdout io.Writer) error

// dispatch runs the subcommand of cmd that args begin with; cmd is ""
// for postkasse's own commands. needed names the subcommands in the usage
// error for args without one.
func dispatch(cmd, needed string, args []string, stdout io.Writer, subs subcommands) error {
	prefix, kind := "", "command"
	if cmd != "" {
		prefix, kind = cmd+": ", "subcommand"
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: %s%s is needed", errUsage, prefix, needed)
	}
	if cmd != "" && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		return &helpError{text: usageOf(cmd)}
	}
	sub, ok := subs[args[0]]
	if !ok {
		return fmt.Errorf("%w: %sunknown %s %q", errUsage, prefix, kind, args[0])
	}
	return sub(args[1:], stdout)
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

// helpError is a request for a command's help (--help): run prints its
// text to standard output and succeeds.
type helpError struct{ text string }

func (h *helpError) Error() string { return "help requested" }

// usageOf returns the lines of the usage about a command ("sender add",
// or "sender" for all of its subcommands).
func usageOf(cmd string) string {
	var b strings.Builder
	b.WriteString("usage:\n")
	for _, line := range strings.Split(usage, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "postkasse "+cmd)
		if ok && (rest == "" || rest[0] == ' ') {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// parseFlags parses args and refuses stray arguments. --help (or -h) is
// a helpError with the command's usage and flags.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		var b strings.Builder
		b.WriteString(usageOf(fs.Name()))
		b.WriteString("\nflags:\n")
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		return &helpError{text: b.String()}
	} else if err != nil {
		return fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", errUsage, fs.Name(), fs.Arg(0))
	}
	return nil
}
