package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/postkasse/postkasse/httpui/control"
	"github.com/postkasse/postkasse/jobs"
	"github.com/postkasse/postkasse/store"
)

// The operator's commands: `postkasse sender …` and `postkasse resident …`
// (and those of main_jobs.go: terms, deaths, jobs' status). Each talks to
// the running server over DATA/ctl.sock; when no server answers there, it
// opens the data folder itself (bbolt allows one process at a time, so the
// two never run at once).

// runSender dispatches `postkasse sender SUBCOMMAND`.
func runSender(args []string, stdout io.Writer) error {
	return dispatch("sender", "add, list, renew, revoke, rate, reply-key, messages, callback or callbacks", args, stdout, subcommands{
		"add": senderAdd, "list": senderList, "revoke": senderRevoke, "renew": senderRenew,
		"rate": senderRate, "reply-key": senderReplyKey, "messages": senderMessages,
		"callback": senderCallback, "callbacks": senderCallbacks,
	})
}

// senderMessages lets residents start conversations with a sender that
// has a reply key (--on), or stops it (--off).
func senderMessages(args []string, stdout io.Writer) error {
	c := newCtlCommand("sender messages")
	var req control.MessagesRequest
	named := c.senderFlags("sender", &req.ID, &req.OrgNumber)
	on := c.Bool("on", false, "residents may write to the sender")
	off := c.Bool("off", false, "residents may no longer start conversations (sent messages stay)")
	if err := c.parse(args); err != nil {
		return err
	}
	if err := named(); err != nil {
		return err
	}
	if *on == *off {
		return c.usageErrorf("give --on or --off")
	}
	req.On = *on
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		s, err := ops.SetSenderMessages(ctx, req)
		if err != nil {
			return c.failed(err)
		}
		if s.AcceptsMessages {
			fmt.Fprintf(stdout, "Residents may now write to %q (%s).\n", s.Name, s.OrgNumber)
		} else {
			fmt.Fprintf(stdout, "Residents can no longer start conversations with %q (%s).\n", s.Name, s.OrgNumber)
		}
		return nil
	})
}

// senderReplyKey registers the X25519 public key a sender's replies are
// sealed to, for a sender that cannot use PUT /api/v1/reply-key itself.
func senderReplyKey(args []string, stdout io.Writer) error {
	c := newCtlCommand("sender reply-key")
	var req control.ReplyKeyRequest
	named := c.senderFlags("sender", &req.ID, &req.OrgNumber)
	c.StringVar(&req.PublicKey, "public-key", "", "the X25519 public key, 32 bytes in standard base64 (postkasse reply-key new writes one)")
	if err := c.parse(args); err != nil {
		return err
	}
	if err := named(); err != nil {
		return err
	}
	if req.PublicKey == "" {
		return c.usageErrorf("--public-key is needed")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		s, err := ops.SetSenderReplyKey(ctx, req)
		if err != nil {
			return c.failed(err)
		}
		fmt.Fprintf(stdout, "Replies to %q (%s) are sealed to the key %s from now on.\n", s.Name, s.OrgNumber, s.ReplyKey)
		return nil
	})
}

// senderRate sets a sender's own token bucket on the API, or (--default)
// gives it the default again.
func senderRate(args []string, stdout io.Writer) error {
	c := newCtlCommand("sender rate")
	var req control.RateRequest
	named := c.senderFlags("id", &req.ID, &req.OrgNumber)
	c.Float64Var(&req.Rate, "rate", 0, fmt.Sprintf("requests a second, sustained (default %d)", store.DefaultSenderRate))
	c.IntVar(&req.Burst, "burst", 0, fmt.Sprintf("requests at once (default %d)", store.DefaultSenderBurst))
	toDefault := c.Bool("default", false, "go back to the default rate and burst")
	if err := c.parse(args); err != nil {
		return err
	}
	if err := named(); err != nil {
		return err
	}
	if *toDefault == (req.Rate != 0 || req.Burst != 0) {
		return c.usageErrorf("give --rate and --burst, or --default")
	}
	if !*toDefault && (req.Rate == 0 || req.Burst == 0) {
		return c.usageErrorf("give both --rate and --burst")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		s, err := ops.SetSenderRate(ctx, req)
		if err != nil {
			return c.failed(err)
		}
		which := ""
		if s.DefaultRate {
			which = " (the default)"
		}
		fmt.Fprintf(stdout, "%q (%s) may make %s requests a second through the API, %d at once%s, from its next request on.\n",
			s.Name, s.OrgNumber, strconv.FormatFloat(s.Rate, 'g', -1, 64), s.Burst, which)
		return nil
	})
}

// senderCallback dispatches `postkasse sender callback set|remove`.
func senderCallback(args []string, stdout io.Writer) error {
	return dispatch("sender callback", "set or remove", args, stdout, subcommands{
		"set": senderCallbackSet, "remove": senderCallbackRemove,
	})
}

// senderCallbackSet registers a sender's callback URL, checked as the API
// checks it.
func senderCallbackSet(args []string, stdout io.Writer) error {
	c := newCtlCommand("sender callback set")
	var req control.CallbackRequest
	named := c.senderFlags("id", &req.ID, &req.OrgNumber)
	c.StringVar(&req.URL, "url", "", "the https:// URL the sender's events are POSTed to (required)")
	if err := c.parse(args); err != nil {
		return err
	}
	if err := named(); err != nil {
		return err
	}
	if req.URL == "" {
		return c.usageErrorf("--url is needed")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		cb, err := ops.SetCallback(ctx, req)
		if err != nil {
			return c.failed(err)
		}
		fmt.Fprintf(stdout, "The events of %q (%s) are POSTed to %s from now on, signed (API.md, \"Events and callbacks\"); %d wait.\n",
			cb.SenderName, cb.OrgNumber, cb.URL, cb.Queued)
		return nil
	})
}

// senderCallbackRemove removes a sender's callback.
func senderCallbackRemove(args []string, stdout io.Writer) error {
	c := newCtlCommand("sender callback remove")
	var ref control.SenderRef
	named := c.senderFlags("id", &ref.ID, &ref.OrgNumber)
	if err := c.parse(args); err != nil {
		return err
	}
	if err := named(); err != nil {
		return err
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		out, err := ops.RemoveCallback(ctx, ref)
		if err != nil {
			return c.failed(err)
		}
		if !out.Removed {
			fmt.Fprintln(stdout, "The sender had no callback.")
			return nil
		}
		fmt.Fprintln(stdout, "Callback removed; the sender's events stay in its feed (GET /api/v1/events).")
		return nil
	})
}

// senderCallbacks lists the senders' callbacks and how their delivery
// goes.
func senderCallbacks(args []string, stdout io.Writer) error {
	return listCommand("sender callbacks", args, stdout, control.Operations.Callbacks,
		"SENDER\tORG\tSTATE\tQUEUED\tURL", func(w io.Writer, cb control.CallbackInfo) {
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", cb.SenderID, cb.OrgNumber, cb.State, cb.Queued, cb.URL)
			if cb.DeliveredAt != nil {
				fmt.Fprintf(w, "\t\t\t\t  last delivered: event %s at %s\n", cb.Delivered, cb.DeliveredAt.UTC().Format(time.RFC3339))
			}
			if cb.Attempts > 0 && cb.GivenUp == nil && cb.FirstFailure != nil && cb.NextAttempt != nil {
				fmt.Fprintf(w, "\t\t\t\t  failing since %s, %d attempts, next %s: %s\n", cb.FirstFailure.UTC().Format(time.RFC3339),
					cb.Attempts, cb.NextAttempt.UTC().Format(time.RFC3339), cb.LastError)
			}
			if cb.GivenUp != nil {
				fmt.Fprintf(w, "\t\t\t\t  given up at %s (%s); the sender reads its feed after cursor %s and registers the URL again\n",
					cb.GivenUp.UTC().Format(time.RFC3339), cb.LastError, cb.ResumeAfter)
			}
		})
}

// runResident dispatches `postkasse resident SUBCOMMAND`.
func runResident(args []string, stdout io.Writer) error {
	return dispatch("resident", "add, list, reset-code, died, block, unblock, reserve, unreserve or guardian", args, stdout, subcommands{
		"add": residentAdd, "list": residentList, "reset-code": residentResetCode, "died": residentDied,
		"block": residentBlock, "unblock": residentUnblock,
		"reserve": residentReserve, "unreserve": residentUnreserve,
		"guardian": residentGuardian,
	})
}

// ctlCommand is one of the operator's commands: its flag set, with the
// --data every one of them has.
type ctlCommand struct {
	*flag.FlagSet
	data *string
	// readOnly: the command only reads, so on a folder without a running
	// server it opens the database read-only.
	readOnly bool
}

// newCtlCommand returns the flag set of the operator's command name.
func newCtlCommand(name string) ctlCommand {
	fs := newFlagSet(name)
	return ctlCommand{FlagSet: fs, data: fs.String("data", defaultDataDir, "data folder")}
}

// parse parses args and refuses stray arguments.
func (c ctlCommand) parse(args []string) error { return parseFlags(c.FlagSet, args) }

// usageErrorf is an error in the command's flags: main prints the usage.
func (c ctlCommand) usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", errUsage, c.Name(), fmt.Sprintf(format, args...))
}

// failed is the error of the command's operation, behind its name.
func (c ctlCommand) failed(err error) error { return fmt.Errorf("%s: %w", c.Name(), err) }

// senderFlags adds the flags that name one sender, by its id (flag
// idFlag) or by the organisation number of the active sender (--org).
// named, called after parse, refuses none or both.
func (c ctlCommand) senderFlags(idFlag string, id, org *string) (named func() error) {
	c.StringVar(id, idFlag, "", "the sender's id")
	c.StringVar(org, "org", "", "the active sender's organisation number")
	return func() error {
		if (*id == "") == (*org == "") {
			return c.usageErrorf("give exactly one of --%s and --org", idFlag)
		}
		return nil
	}
}

// withOperations opens the operations on the data folder of --data
// (operations), passes them to do and closes them when do returns.
// A command run on the folder directly is audited under this process's
// user; through the socket, the server learns it from the kernel.
func (c ctlCommand) withOperations(do func(ctx context.Context, ops control.Operations, cfg *Config) error) error {
	ctx := store.WithOperatorUID(context.Background(), os.Getuid())
	ops, cfg, done, err := operations(ctx, *c.data, c.readOnly)
	if err != nil {
		return err
	}
	defer done()
	return do(ctx, ops, cfg)
}

// listCommand runs the operator's command name, which lists what list
// returns: as JSON with --json, else as a table of tab-separated columns
// under header, row writing the lines of one item.
func listCommand[T any](name string, args []string, stdout io.Writer, list func(control.Operations, context.Context) ([]T, error), header string, row func(w io.Writer, item T)) error {
	c := newCtlCommand(name)
	c.readOnly = true
	asJSON := c.Bool("json", false, "print JSON")
	if err := c.parse(args); err != nil {
		return err
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		items, err := list(ops, ctx)
		if err != nil {
			return c.failed(err)
		}
		if *asJSON {
			return printJSON(stdout, items)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, header)
		for _, item := range items {
			row(tw, item)
		}
		return tw.Flush()
	})
}

// operations opens the way to the data folder's operations: the running
// server's control socket if one answers, else the folder directly
// (read-only when readOnly). The caller calls done when finished.
func operations(ctx context.Context, dataFlag string, readOnly bool) (ops control.Operations, cfg *Config, done func(), err error) {
	dir, err := filepath.Abs(dataFlag)
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := loadResolved(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	sock := filepath.Join(dir, socketFileName)
	client, err := control.Dial(ctx, sock)
	if err == nil {
		return client, r.Config, client.Close, nil
	}
	if !errors.Is(err, control.ErrNoServer) {
		return nil, nil, nil, err
	}
	a, err := buildAppliance(r, buildOptions{timeout: time.Second, readOnly: readOnly})
	if isStoreError(err) {
		return nil, nil, nil, fmt.Errorf("no server answers on %s, and the data folder cannot be opened directly: %w", sock, err)
	} else if err != nil {
		return nil, nil, nil, err
	}
	// With the server stopped, the jobs' status is that of a scheduler
	// built on the folder and never started: schedules and last runs.
	op := a.operator(jobStatus(func() (*jobs.Scheduler, error) {
		jc, err := a.jobsConfig("")
		if err != nil {
			return nil, err
		}
		return jobs.New(jc)
	}))
	return op, r.Config, func() { a.Close() }, nil
}

func senderAdd(args []string, stdout io.Writer) error {
	c := newCtlCommand("sender add")
	name := c.String("name", "", "the sender's name, as residents see it (required)")
	org := c.String("org", "", "organisation number: CVR (8 digits) or organisasjonsnummer (9) (required)")
	kind := c.String("kind", "", "public (an authority: cannot be blocked) or private (required)")
	out := c.String("out", ".", "folder for the certificate and key files")
	if err := c.parse(args); err != nil {
		return err
	}
	for _, req := range []struct{ flag, value string }{{"name", *name}, {"org", *org}, {"kind", *kind}} {
		if strings.TrimSpace(req.value) == "" {
			return c.usageErrorf("--%s is required", req.flag)
		}
	}
	if *kind != "public" && *kind != "private" {
		return c.usageErrorf("--kind %q: want public or private", *kind)
	}
	base := fileSlug(*name)
	if base == "" {
		base = *org
	}
	certPath, keyPath, err := senderFilePaths(*out, base)
	if err != nil {
		return err
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, cfg *Config) error {
		added, err := ops.AddSender(ctx, control.SenderRequest{Name: *name, OrgNumber: *org, Kind: *kind})
		if err != nil {
			return c.failed(err)
		}
		if err := writeSenderFiles(certPath, keyPath, added); err != nil {
			// Without its key the certificate is useless: revoke the sender
			// so the operator can add it again.
			if _, rerr := ops.RevokeSender(ctx, control.RevokeRequest{ID: added.Sender.ID}); rerr != nil {
				err = errors.Join(err, rerr)
			}
			return c.failed(fmt.Errorf("write the certificate and key (the sender was revoked again; add it anew): %w", err))
		}
		s := added.Sender
		fmt.Fprintf(stdout, "Sender %q (%s, %s) registered with id %s.\n\n", s.Name, s.OrgNumber, s.Kind, s.ID)
		printSenderFiles(stdout, cfg, certPath, keyPath, added)
		return nil
	})
}

// senderRenew issues another certificate for an existing sender.
func senderRenew(args []string, stdout io.Writer) error {
	c := newCtlCommand("sender renew")
	var ref control.SenderRef
	named := c.senderFlags("id", &ref.ID, &ref.OrgNumber)
	out := c.String("out", ".", "folder for the certificate and key files")
	if err := c.parse(args); err != nil {
		return err
	}
	if err := named(); err != nil {
		return err
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, cfg *Config) error {
		senders, err := ops.Senders(ctx)
		if err != nil {
			return c.failed(err)
		}
		name := ""
		for _, s := range senders {
			if s.ID == ref.ID || (ref.OrgNumber != "" && s.OrgNumber == ref.OrgNumber && !s.Revoked) {
				name = s.Name
			}
		}
		base := fileSlug(name)
		if base == "" {
			base = "sender"
		}
		certPath, keyPath, err := senderFilePaths(*out, base+"-"+time.Now().Format("20060102"))
		if err != nil {
			return err
		}
		issued, err := ops.IssueCertificate(ctx, ref)
		if err != nil {
			return c.failed(err)
		}
		if err := writeSenderFiles(certPath, keyPath, issued); err != nil {
			fp := issued.Sender.Certificates[len(issued.Sender.Certificates)-1].Fingerprint
			if _, rerr := ops.RevokeSender(ctx, control.RevokeRequest{Fingerprint: fp}); rerr != nil {
				err = errors.Join(err, rerr)
			}
			return c.failed(fmt.Errorf("write the certificate and key (the new certificate was revoked again): %w", err))
		}
		s := issued.Sender
		fmt.Fprintf(stdout, "A new certificate for %q (%s). Its other certificates stay valid until they expire or you revoke them\n", s.Name, s.OrgNumber)
		fmt.Fprintf(stdout, "(postkasse sender revoke --cert FINGERPRINT) once the sender uses the new one.\n\n")
		printSenderFiles(stdout, cfg, certPath, keyPath, issued)
		return nil
	})
}

// senderFilePaths returns OUT/BASE.crt and OUT/BASE.key after making the
// folder (readable by its owner only) when it is missing and checking
// that neither file exists: a key cannot be made again, so nothing may
// stand in the way of writing it.
func senderFilePaths(out, base string) (certPath, keyPath string, err error) {
	if err := os.MkdirAll(out, 0o700); err != nil {
		return "", "", fmt.Errorf("--out %s: %w", out, err)
	}
	if fi, err := os.Stat(out); err != nil || !fi.IsDir() {
		return "", "", fmt.Errorf("--out %s: not a folder", out)
	}
	certPath, keyPath = filepath.Join(out, base+".crt"), filepath.Join(out, base+".key")
	for _, p := range []string{certPath, keyPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("%s exists already; move it away or choose another --out", p)
		}
	}
	return certPath, keyPath, nil
}

// writeSenderFiles writes the key (0600) and the certificate (0644).
func writeSenderFiles(certPath, keyPath string, s control.NewSender) error {
	if err := writeNewFile(keyPath, []byte(s.KeyPEM), 0o600); err != nil {
		return err
	}
	if err := writeNewFile(certPath, []byte(s.CertificatePEM), 0o644); err != nil {
		os.Remove(keyPath)
		return err
	}
	return nil
}

// printSenderFiles says where the new certificate and key are and how the
// sender delivers with them.
func printSenderFiles(w io.Writer, cfg *Config, certPath, keyPath string, s control.NewSender) {
	cert := s.Sender.Certificates[len(s.Sender.Certificates)-1]
	fmt.Fprintf(w, "  certificate  %s  (valid until %s; fingerprint %s)\n", certPath, cert.NotAfter.Format(time.DateOnly), cert.Fingerprint)
	fmt.Fprintf(w, "  key          %s  (secret: give it to the sender over a safe channel; the appliance keeps no copy)\n\n", keyPath)
	api := publicURL(cfg.Domain, portOf(cfg.Listen.HTTPS)) + "/api/v1"
	fmt.Fprintf(w, "The sender delivers a letter with, for example:\n\n")
	fmt.Fprintf(w, "  curl --cert %s --key %s \\\n", shellQuote(filepath.Base(certPath)), shellQuote(filepath.Base(keyPath)))
	fmt.Fprintf(w, "    -F 'message={\"recipient\":{\"nationalId\":\"1203861234\"},\"subject\":\"Hello\",\"senderReference\":\"ref-1\"};type=application/json' \\\n")
	fmt.Fprintf(w, "    -F 'document=@letter.pdf;type=application/pdf' \\\n")
	fmt.Fprintf(w, "    %s/messages\n", api)
}

func senderList(args []string, stdout io.Writer) error {
	return listCommand("sender list", args, stdout, control.Operations.Senders,
		"ID\tORG\tKIND\tSTATUS\tRATE\tNAME", func(w io.Writer, s control.SenderInfo) {
			status := "active"
			if s.Revoked {
				status = "revoked"
			}
			rate := fmt.Sprintf("%s/s burst %d", strconv.FormatFloat(s.Rate, 'g', -1, 64), s.Burst)
			if s.DefaultRate {
				rate += " (default)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.OrgNumber, s.Kind, status, rate, s.Name)
			for _, c := range s.Certificates {
				cstatus := "valid until " + c.NotAfter.Format(time.DateOnly)
				if c.Revoked {
					cstatus = "revoked"
				}
				fmt.Fprintf(w, "\t\t\t\t\t  certificate %s (%s)\n", c.Fingerprint, cstatus)
			}
		})
}

func senderRevoke(args []string, stdout io.Writer) error {
	c := newCtlCommand("sender revoke")
	var req control.RevokeRequest
	c.StringVar(&req.ID, "id", "", "revoke the sender with this id and all its certificates")
	c.StringVar(&req.OrgNumber, "org", "", "revoke the active sender with this organisation number and all its certificates")
	c.StringVar(&req.Fingerprint, "cert", "", "revoke only the certificate with this SHA-256 fingerprint (hex)")
	if err := c.parse(args); err != nil {
		return err
	}
	n := 0
	for _, v := range []string{req.ID, req.OrgNumber, req.Fingerprint} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return c.usageErrorf("give exactly one of --id, --org and --cert")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, cfg *Config) error {
		s, err := ops.RevokeSender(ctx, req)
		if err != nil {
			return c.failed(err)
		}
		if req.Fingerprint != "" {
			fmt.Fprintf(stdout, "Certificate %s of %q (%s) revoked; it is refused from the next request on.\n", strings.ToLower(req.Fingerprint), s.Name, s.OrgNumber)
			return nil
		}
		fmt.Fprintf(stdout, "Sender %q (%s) revoked with its %d certificate(s); they are refused from the next request on. Its letters stay in the mailboxes.\n", s.Name, s.OrgNumber, len(s.Certificates))
		if m := cfg.Jobs.Municipality; m != "" && (m == s.OrgNumber || m == s.ID) {
			fmt.Fprintf(stdout, "\nWarning: jobs.municipality names this sender, which delivers the notices of new terms of use and\n"+
				"the answers to support requests. Register the municipality again (postkasse sender add --kind public)\n"+
				"and set jobs.municipality to it: until then those letters are not sent, and `postkasse serve` refuses\n"+
				"to start.\n")
		}
		return nil
	})
}

// residentAdd enrols a resident: the mailbox is pending until the
// resident activates it in the browser with the printed activation code.
// The operator never sees a password or a recovery key.
func residentAdd(args []string, stdout io.Writer) error {
	c := newCtlCommand("resident add")
	nid := c.String("national-id", "", "CPR number (DK, 10 digits) or fødselsnummer (NO, 11 digits) (required)")
	name := c.String("name", "", "the resident's name (required)")
	if err := c.parse(args); err != nil {
		return err
	}
	if *nid == "" {
		return c.usageErrorf("--national-id is required")
	}
	if strings.TrimSpace(*name) == "" {
		return c.usageErrorf("--name is required")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, cfg *Config) error {
		added, err := ops.EnrolResident(ctx, control.ResidentRequest{NationalID: *nid, Name: *name})
		if err != nil {
			return c.failed(err)
		}
		printEnrolment(stdout, cfg, added)
		return nil
	})
}

// printEnrolment gives the operator what the resident needs to activate
// the mailbox: the activation code, where to use it and until when.
func printEnrolment(w io.Writer, cfg *Config, added control.NewResident) {
	r := added.Resident
	fmt.Fprintf(w, "Resident %s (%s) enrolled with id %s.\n", r.Name, r.NationalID, r.ID)
	fmt.Fprintf(w, "The mailbox takes no letters until the resident activates it.\n\n")
	fmt.Fprintf(w, "  activation code  %s\n", added.ActivationCode)
	fmt.Fprintf(w, "  activate at      %s/activate\n", publicURL(cfg.Domain, portOf(cfg.Listen.HTTPS)))
	if r.ActivationExpires != nil {
		fmt.Fprintf(w, "  valid until      %s\n", r.ActivationExpires.UTC().Format("2006-01-02 15:04 UTC"))
	}
	fmt.Fprintf(w, "\nGive the code to the resident only (in a sealed letter or in person) and keep no copy.\n")
	fmt.Fprintf(w, "With it the resident chooses a password and gets a recovery key that only they see.\n")
	fmt.Fprintf(w, "The code works once: if the resident finds the mailbox activated already, someone else\n")
	fmt.Fprintf(w, "used it (the audit log shows when). Running this command again gives a new code.\n")
}

// residentResetCode gives the operator a reset code for a resident who
// lost both the password and the recovery key: with it the resident
// starts again with an empty mailbox in the browser.
func residentResetCode(args []string, stdout io.Writer) error {
	c := newCtlCommand("resident reset-code")
	nid := c.String("national-id", "", "the resident's national identity number (required)")
	if err := c.parse(args); err != nil {
		return err
	}
	if *nid == "" {
		return c.usageErrorf("--national-id is required")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, cfg *Config) error {
		rc, err := ops.IssueResetCode(ctx, control.ResidentRef{NationalID: *nid})
		if err != nil {
			return c.failed(err)
		}
		r := rc.Resident
		fmt.Fprintf(stdout, "Reset code for %s (%s).\n", r.Name, r.NationalID)
		fmt.Fprintf(stdout, "Check who the resident is before you give it: with it, whoever holds it empties the mailbox.\n\n")
		fmt.Fprintf(stdout, "  reset code       %s\n", rc.ResetCode)
		fmt.Fprintf(stdout, "  reset at         %s/reset\n", publicURL(cfg.Domain, portOf(cfg.Listen.HTTPS)))
		fmt.Fprintf(stdout, "  valid until      %s\n", rc.Expires.UTC().Format("2006-01-02 15:04 UTC"))
		fmt.Fprintf(stdout, "\nGive the code to the resident only (in a sealed letter or in person) and keep no copy.\n")
		fmt.Fprintf(stdout, "With it the resident chooses a new password and gets a new recovery key that only they see.\n")
		fmt.Fprintf(stdout, "Every letter in the mailbox is deleted then, since nothing can open it any more; the resident\n")
		fmt.Fprintf(stdout, "is told so before confirming. The code works once; running this command again gives a new code\n")
		fmt.Fprintf(stdout, "and the one before stops working.\n")
		return nil
	})
}

func residentList(args []string, stdout io.Writer) error {
	return listCommand("resident list", args, stdout, control.Operations.Residents,
		"NATIONAL ID\tSTATUS\tENROLLED\tLAST LOGIN\tNAME", func(w io.Writer, r control.ResidentInfo) {
			last := "never"
			if r.LastLogin != nil {
				last = r.LastLogin.Format(time.DateOnly)
			}
			status := r.Status
			if r.ActivationExpires != nil && !time.Now().Before(*r.ActivationExpires) {
				status += " (code expired)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.NationalID, status, r.Created.Format(time.DateOnly), last, r.Name)
		})
}

// printJSON prints v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeNewFile writes a file that must not exist yet.
func writeNewFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// fileSlug makes a file name from a sender's name: lowercase ASCII
// letters and digits, Danish and Norwegian letters spelt out, anything
// else a single hyphen.
func fileSlug(name string) string {
	r := strings.NewReplacer("æ", "ae", "ø", "oe", "å", "aa", "Æ", "ae", "Ø", "oe", "Å", "aa", "ä", "ae", "ö", "oe", "ü", "ue")
	var b strings.Builder
	hyphen := false
	for _, c := range strings.ToLower(r.Replace(name)) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			hyphen = false
		} else if !hyphen && b.Len() > 0 {
			b.WriteByte('-')
			hyphen = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// portOf returns the port of a host:port address as a number, 443 if it
// has none.
func portOf(addr string) int {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 443
	}
	var n int
	if _, err := fmt.Sscanf(port, "%d", &n); err != nil {
		return 443
	}
	return n
}
