package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/postkasse/postkasse/httpui/control"
)

// The print queue's commands (docs/OPERATORS.md, "Letters on paper"):
// `postkasse print key|export|done|status`, through the control socket or on
// the data folder, as the other operator's commands.

// runPrint dispatches `postkasse print SUBCOMMAND`.
func runPrint(args []string, stdout io.Writer) error {
	return dispatch("print", "key, export, done or status", args, stdout, subcommands{
		"key": printKey, "export": printExport, "done": printDone, "status": printStatus,
	})
}

// printKey makes the appliance's print key once and writes the
// operator's key to a new file: the only key that opens the print queue.
func printKey(args []string, stdout io.Writer) error {
	c := newCtlCommand("print key")
	out := c.String("out", "", "the new file to write the operator's print key to (required); keep it off the appliance")
	if err := c.parse(args); err != nil {
		return err
	}
	if *out == "" {
		return c.usageErrorf("--out is needed")
	}
	// Made before the key, so that a key is never made and then lost.
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return c.failed(err)
	}
	written := false
	defer func() {
		f.Close()
		if !written {
			os.Remove(*out)
		}
	}()
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		k, err := ops.PrintKey(ctx)
		if err != nil {
			return c.failed(err)
		}
		if _, err := fmt.Fprintln(f, k.Key); err != nil {
			return c.failed(err)
		}
		if err := f.Sync(); err != nil {
			return c.failed(err)
		}
		written = true
		fmt.Fprintf(stdout, "The print key is in %s: the appliance does not keep it, and only it opens the letters queued for print.\n"+
			"Keep it off the appliance (like a backup's key), and give it to postkasse print export --key.\n", *out)
		return nil
	})
}

// printExport writes a batch of the letters queued for print.
func printExport(args []string, stdout io.Writer) error {
	c := newCtlCommand("print export")
	to := c.String("to", "", "the folder to write the batch into; it must not exist (required)")
	batch := c.String("batch", "", "write an exported batch that is not yet printed again")
	keyFile := c.String("key", "", "the operator's print key, as print key wrote it (required)")
	if err := c.parse(args); err != nil {
		return err
	}
	if *to == "" || *keyFile == "" {
		return c.usageErrorf("--to and --key are needed")
	}
	dir, err := filepath.Abs(*to)
	if err != nil {
		return c.failed(err)
	}
	key, err := os.ReadFile(*keyFile)
	if err != nil {
		return c.failed(err)
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		out, err := ops.PrintExport(ctx, control.PrintExportRequest{Dir: dir, Batch: *batch, Key: string(key)})
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
