package main

import (
	"context"
	"fmt"
	"io"

	"github.com/postkasse/postkasse/httpui/control"
)

// `postkasse resident guardian add|remove`: the operator records a
// guardianship or a lasting power of attorney that a court or an
// authority decided (store, delegation.go), over the control socket.

// residentGuardian dispatches `postkasse resident guardian SUBCOMMAND`.
func residentGuardian(args []string, stdout io.Writer) error {
	return dispatch("resident guardian", "add or remove", args, stdout, subcommands{
		"add": guardianAdd, "remove": guardianRemove,
	})
}

// guardianAdd is `postkasse resident guardian add --ward N --guardian N
// [--until DATE] [--decision TEXT]`.
func guardianAdd(args []string, stdout io.Writer) error {
	c := newCtlCommand("resident guardian add")
	ward := c.String("ward", "", "the ward's national identity number")
	guardian := c.String("guardian", "", "the guardian's national identity number")
	until := c.String("until", "", "the last day of the guardianship, YYYY-MM-DD (default: until removed)")
	decision := c.String("decision", "", "the court's or authority's decision (its case number)")
	if err := c.parse(args); err != nil {
		return err
	}
	if *ward == "" || *guardian == "" {
		return c.usageErrorf("--ward and --guardian are needed")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		g, err := ops.AddGuardian(ctx, control.GuardianRequest{Ward: *ward, Guardian: *guardian, Until: *until, Decision: *decision})
		if err != nil {
			return c.failed(err)
		}
		end := "until removed"
		if g.Until != nil {
			end = "until " + g.Until.Format("2006-01-02")
		}
		fmt.Fprintf(stdout, "Recorded %s as guardian of %s (read and act on all post, %s).\n"+
			"New letters are readable to the guardian at once; letters from before only once %s next signs in. "+
			"Remove it with `postkasse resident guardian remove --ward %s --guardian %s`.\n",
			g.GuardianName, g.WardName, end, g.WardName, *ward, *guardian)
		return nil
	})
}

// guardianRemove is `postkasse resident guardian remove --ward N
// --guardian N`.
func guardianRemove(args []string, stdout io.Writer) error {
	c := newCtlCommand("resident guardian remove")
	ward := c.String("ward", "", "the ward's national identity number")
	guardian := c.String("guardian", "", "the guardian's national identity number")
	if err := c.parse(args); err != nil {
		return err
	}
	if *ward == "" || *guardian == "" {
		return c.usageErrorf("--ward and --guardian are needed")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		if _, err := ops.RemoveGuardian(ctx, control.GuardianRequest{Ward: *ward, Guardian: *guardian}); err != nil {
			return c.failed(err)
		}
		fmt.Fprintln(stdout, "Removed the guardianship: the guardian's copies of the ward's letter keys are deleted.")
		return nil
	})
}
