package main

// The operator's duty of care on the command line: blocking an account,
// making a letter inaccessible, answering support requests (package
// control's care.go).

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/postkasse/postkasse/assets"
	"github.com/postkasse/postkasse/httpui/control"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// residentBlock blocks an account: `postkasse resident block`.
func residentBlock(args []string, stdout io.Writer) error {
	c := newCtlCommand("resident block")
	nid := c.String("national-id", "", "the resident's national identity number")
	reason := c.String("reason", "", "why, as the resident is shown it when signing in")
	if err := c.parse(args); err != nil {
		return err
	}
	if *nid == "" || strings.TrimSpace(*reason) == "" {
		return c.usageErrorf("--national-id and --reason are needed")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		r, err := ops.BlockResident(ctx, control.BlockRequest{NationalID: *nid, Reason: *reason})
		if err != nil {
			return c.failed(err)
		}
		fmt.Fprintf(stdout, "Blocked %s (%s): every session ended, and signing in is refused with the reason\n  %q\nuntil `postkasse resident unblock --national-id %s`.\n", r.Name, r.NationalID, r.Blocked, r.NationalID)
		return nil
	})
}

// residentUnblock lifts a block: `postkasse resident unblock`.
func residentUnblock(args []string, stdout io.Writer) error {
	c := newCtlCommand("resident unblock")
	nid := c.String("national-id", "", "the resident's national identity number")
	if err := c.parse(args); err != nil {
		return err
	}
	if *nid == "" {
		return c.usageErrorf("--national-id is needed")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		r, err := ops.UnblockResident(ctx, control.ResidentRef{NationalID: *nid})
		if err != nil {
			return c.failed(err)
		}
		fmt.Fprintf(stdout, "Unblocked %s (%s): they can sign in again.\n", r.Name, r.NationalID)
		return nil
	})
}

// residentReserve records an opt-out of digital post made in person:
// `postkasse resident reserve`.
func residentReserve(args []string, stdout io.Writer) error {
	return reservationCommand("resident reserve", args, stdout, control.Operations.ReserveResident, func(r control.ResidentInfo) string {
		return fmt.Sprintf("Reserved %s (%s): lookups say not digital and letters are refused, so senders send on paper; "+
			"the letters in the mailbox stay readable.\nUndo with `postkasse resident unreserve --national-id %s`, or the resident opts in again in their settings.\n",
			r.Name, r.NationalID, r.NationalID)
	})
}

// residentUnreserve records an opt-in to digital post made in person:
// `postkasse resident unreserve`.
func residentUnreserve(args []string, stdout io.Writer) error {
	return reservationCommand("resident unreserve", args, stdout, control.Operations.UnreserveResident, func(r control.ResidentInfo) string {
		return fmt.Sprintf("Unreserved %s (%s): they receive digital post again.\n", r.Name, r.NationalID)
	})
}

// reservationCommand runs the operation do on the resident named by
// --national-id and prints what done says of the resident afterwards.
func reservationCommand(name string, args []string, stdout io.Writer,
	do func(control.Operations, context.Context, control.ResidentRef) (control.ResidentInfo, error), done func(control.ResidentInfo) string) error {
	c := newCtlCommand(name)
	nid := c.String("national-id", "", "the resident's national identity number")
	if err := c.parse(args); err != nil {
		return err
	}
	if *nid == "" {
		return c.usageErrorf("--national-id is needed")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		r, err := do(ops, ctx, control.ResidentRef{NationalID: *nid})
		if err != nil {
			return c.failed(err)
		}
		fmt.Fprint(stdout, done(r))
		return nil
	})
}

// runLetter dispatches `postkasse letter SUBCOMMAND`.
func runLetter(args []string, stdout io.Writer) error {
	return dispatch("letter", "make-inaccessible or make-accessible", args, stdout, subcommands{
		"make-inaccessible": letterMakeInaccessible, "make-accessible": letterMakeAccessible,
	})
}

func letterMakeInaccessible(args []string, stdout io.Writer) error {
	c := newCtlCommand("letter make-inaccessible")
	id := c.String("id", "", "the letter's id")
	reason := c.String("reason", "", "why, as the resident is shown it")
	order := c.String("order", "", "on whose order: the court or authority and its reference")
	if err := c.parse(args); err != nil {
		return err
	}
	if *id == "" || strings.TrimSpace(*reason) == "" || strings.TrimSpace(*order) == "" {
		return c.usageErrorf("--id, --reason and --order are needed")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		h, err := ops.MakeInaccessible(ctx, control.HoldRequest{LetterID: *id, Reason: *reason, Order: *order})
		if err != nil {
			return c.failed(err)
		}
		fmt.Fprintf(stdout, "Letter %s is inaccessible since %s: the resident sees that, why and on whose order, and cannot open it; it is kept, not deleted.\n",
			h.LetterID, h.Since.Format(time.RFC3339))
		return nil
	})
}

func letterMakeAccessible(args []string, stdout io.Writer) error {
	c := newCtlCommand("letter make-accessible")
	id := c.String("id", "", "the letter's id")
	if err := c.parse(args); err != nil {
		return err
	}
	if *id == "" {
		return c.usageErrorf("--id is needed")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		if _, err := ops.MakeAccessible(ctx, control.LetterRef{LetterID: *id}); err != nil {
			return c.failed(err)
		}
		fmt.Fprintf(stdout, "Letter %s can be opened again.\n", *id)
		return nil
	})
}

// runSupport dispatches `postkasse support SUBCOMMAND`.
func runSupport(args []string, stdout io.Writer) error {
	return dispatch("support", "list, show or answer", args, stdout, subcommands{
		"list": supportList, "show": supportShow, "answer": supportAnswer,
	})
}

func supportList(args []string, stdout io.Writer) error {
	return listCommand("support list", args, stdout, control.Operations.SupportRequests,
		"ID\tRECEIVED\tANSWERED\tCATEGORY\tSUBJECT", func(w io.Writer, r control.SupportInfo) {
			answered := "no"
			if r.AnsweredAt != nil {
				answered = r.AnsweredAt.Format(time.DateOnly)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Created.Format(time.DateOnly), answered, r.Category, r.Subject)
		})
}

func supportShow(args []string, stdout io.Writer) error {
	c := newCtlCommand("support show")
	c.readOnly = true
	id := c.String("id", "", "the request's id")
	if err := c.parse(args); err != nil {
		return err
	}
	if *id == "" {
		return c.usageErrorf("--id is needed")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		r, err := ops.SupportRequest(ctx, control.SupportRef{ID: *id})
		if err != nil {
			return c.failed(err)
		}
		fmt.Fprintf(stdout, "Request %s, received %s\nCategory: %s\nSubject: %s\n", r.ID, r.Created.Format(time.RFC3339), r.Category, r.Subject)
		if r.NationalID != "" {
			fmt.Fprintf(stdout, "About national id: %s\n", r.NationalID)
		}
		fmt.Fprintf(stdout, "\n%s\n", r.Description)
		if r.AnsweredAt != nil {
			fmt.Fprintf(stdout, "\nAnswered %s:\n%s\n", r.AnsweredAt.Format(time.RFC3339), r.Answer)
		}
		return nil
	})
}

func supportAnswer(args []string, stdout io.Writer) error {
	c := newCtlCommand("support answer")
	id := c.String("id", "", "the request's id")
	text := c.String("text", "", "the answer")
	file := c.String("file", "", "a file holding the answer (instead of --text)")
	if err := c.parse(args); err != nil {
		return err
	}
	if *id == "" || (*text == "") == (*file == "") {
		return c.usageErrorf("--id and one of --text or --file are needed")
	}
	answer := *text
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return c.failed(err)
		}
		answer = string(b)
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		r, err := ops.AnswerSupport(ctx, control.AnswerRequest{ID: *id, Answer: answer})
		if err != nil {
			return c.failed(err)
		}
		fmt.Fprintf(stdout, "Answered request %s: the answer is a letter from the municipality in the resident's mailbox.\n", r.ID)
		return nil
	})
}

// supportWording words the letter of a support answer in the resident's
// language from the catalogue.
func supportWording(defaultLanguage string) (store.SupportAnswerWording, error) {
	cat, err := i18n.Load(assets.FS(), defaultLanguage)
	if err != nil {
		return nil, err
	}
	return func(lang string) store.SupportAnswerLetter {
		l := cat.Lang(lang)
		return store.SupportAnswerLetter{Subject: l.T("support.answer.subject"), FileName: l.T("support.answer.file")}
	}, nil
}
