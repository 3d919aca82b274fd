package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/postkasse/postkasse/httpui/control"
)

// The print queue's commands (docs/OPERATORS.md, "Letters on paper"):
// `postkasse print export|done|status`, through the control socket or on
// the data folder, as the other operator's commands.

// runPrint dispatches `postkasse print SUBCOMMAND`.
func runPrint(args []string, stdout io.Writer) error {
	return dispatch("print", "export, done or status", args, stdout, subcommands{
		"export": printExport, "done": printDone, "status": printStatus,
	})
}

// printExport writes a batch of the letters queued for print.
func printExport(args []string, stdout io.Writer) error {
	c := newCtlCommand("print export")
	to := c.String("to", "", "the folder to write the batch into; it must not exist (required)")
	batch := c.String("batch", "", "write an exported batch that is not yet printed again")
	if err := c.parse(args); err != nil {
		return err
	}
	if *to == "" {
		return c.usageErrorf("--to is needed")
	}
	dir, err := filepath.Abs(*to)
	if err != nil {
		return c.failed(err)
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		out, err := ops.PrintExport(ctx, control.PrintExportRequest{Dir: dir, Batch: *batch})
		if err != nil {
			return c.failed(err)
		}
		fmt.Fprintf(stdout, "Batch %s: %d letters, %d pages, written to %s (manifest.json, manifest.csv, letters/).\n"+
			"When the print provider has printed and posted them: postkasse print done %s\n",
			out.Batch, out.Letters, out.Pages, out.Dir, out.Batch)
		return nil
	})
}

// printDone marks a batch printed: `postkasse print done BATCH`.
func printDone(args []string, stdout io.Writer) error {
	c := newCtlCommand("print done")
	var batch string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		batch, args = args[0], args[1:]
	}
	if err := c.parse(args); err != nil {
		return err
	}
	if batch == "" {
		return c.usageErrorf("the batch id is needed")
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		out, err := ops.PrintDone(ctx, control.PrintDoneRequest{Batch: batch})
		if err != nil {
			return c.failed(err)
		}
		if out.Printed == 0 {
			fmt.Fprintf(stdout, "Batch %s was marked printed before; nothing changed.\n", out.Batch)
			return nil
		}
		fmt.Fprintf(stdout, "Batch %s: %d letters marked printed; their copies are deleted from the queue and their senders told.\n"+
			"Delete the exported folder too once the print provider has it.\n", out.Batch, out.Printed)
		return nil
	})
}

// printStatus shows the print queue.
func printStatus(args []string, stdout io.Writer) error {
	c := newCtlCommand("print status")
	c.readOnly = true
	asJSON := c.Bool("json", false, "print JSON")
	if err := c.parse(args); err != nil {
		return err
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		st, err := ops.PrintStatus(ctx)
		if err != nil {
			return c.failed(err)
		}
		if *asJSON {
			return printJSON(stdout, st)
		}
		fmt.Fprintf(stdout, "Queued for print: %d letters, %d pages. Printed so far: %d.\n", st.Queued, st.QueuedPages, st.Printed)
		if len(st.Exported) == 0 {
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EXPORTED, NOT YET DONE\tAT\tLETTERS\tPAGES")
		for _, b := range st.Exported {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", b.Batch, b.Exported.UTC().Format(time.RFC3339), b.Letters, b.Pages)
		}
		return tw.Flush()
	})
}
