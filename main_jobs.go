package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/postkasse/postkasse/httpui/control"
	"github.com/postkasse/postkasse/jobs"
	"github.com/postkasse/postkasse/store"
)

// The scheduled work (package jobs) and the operator's commands for it:
// `postkasse terms …`, `postkasse resident died`, `postkasse jobs status`.
// Like `postkasse sender …` they go through the running server's control
// socket, or work on the data folder directly when no server runs
// (operations in main_ctl.go).

// runTerms dispatches `postkasse terms SUBCOMMAND`.
func runTerms(args []string, stdout io.Writer) error {
	return dispatch("terms", "publish or list", args, stdout, subcommands{
		"publish": termsPublish, "list": termsList,
	})
}

// termsPublish is `postkasse terms publish --file FILE --effective DATE`.
func termsPublish(args []string, stdout io.Writer) error {
	c := newCtlCommand("terms publish")
	file := c.String("file", "", "the full text of the new terms of use (UTF-8 text)")
	effective := c.String("effective", "", "the date they take effect, YYYY-MM-DD, at least one month from today")
	if err := c.parse(args); err != nil {
		return err
	}
	if *file == "" || *effective == "" {
		return c.usageErrorf("--file and --effective are needed")
	}
	if _, err := time.Parse(time.DateOnly, *effective); err != nil {
		return c.usageErrorf("--effective %q: want a date YYYY-MM-DD", *effective)
	}
	text, err := os.ReadFile(*file)
	if err != nil {
		return c.failed(err)
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, cfg *Config) error {
		terms, err := ops.PublishTerms(ctx, control.TermsRequest{Text: string(text), Effective: *effective})
		if err != nil {
			return c.failed(err)
		}
		fmt.Fprintf(stdout, "Published version %d of the terms of use, effective %s (%s).\n", terms.Version, terms.EffectiveDate, cfg.Jobs.TimeZone)
		if cfg.Jobs.Municipality == "" {
			fmt.Fprintf(stdout, "Note: jobs.municipality is not set in postkasse.toml, so no notice can be delivered yet.\n")
		} else {
			fmt.Fprintf(stdout, "The notice goes to every active mailbox from the next run of the terms-notices job.\n")
		}
		return nil
	})
}

// termsList is `postkasse terms list`.
func termsList(args []string, stdout io.Writer) error {
	return listCommand("terms list", args, stdout, control.Operations.Terms,
		"VERSION\tPUBLISHED\tEFFECTIVE\tNOTICES\tBYTES", func(w io.Writer, t control.TermsInfo) {
			notices := "in progress"
			if t.NoticesDone != nil {
				notices = "done " + t.NoticesDone.Format(time.DateOnly)
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\n", t.Version, t.Published.Format(time.DateOnly), t.EffectiveDate, notices, t.Size)
		})
}

// residentDied is `postkasse resident died --national-id N --date DATE`.
func residentDied(args []string, stdout io.Writer) error {
	c := newCtlCommand("resident died")
	nidFlag := c.String("national-id", "", "the resident's national identity number")
	date := c.String("date", "", "the date of death, YYYY-MM-DD")
	if err := c.parse(args); err != nil {
		return err
	}
	if *nidFlag == "" || *date == "" {
		return c.usageErrorf("--national-id and --date are needed")
	}
	if _, err := store.ParseNationalID(*nidFlag); err != nil {
		return c.usageErrorf("%v", err)
	}
	if _, err := time.Parse(time.DateOnly, *date); err != nil {
		return c.usageErrorf("--date %q: want a date YYYY-MM-DD", *date)
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, cfg *Config) error {
		r, err := ops.RecordDeath(ctx, control.DeathRequest{NationalID: *nidFlag, Date: *date})
		if err != nil {
			return c.failed(err)
		}
		fmt.Fprintf(stdout, "Recorded the death of %s (%s) on %s. The account can no longer log in; its letters are kept for %s (public senders) and %s (private senders) from that date.\n",
			r.Name, r.NationalID, *date, cfg.Jobs.DeceasedPublic, cfg.Jobs.DeceasedPrivate)
		return nil
	})
}

// runJobs dispatches `postkasse jobs status`.
func runJobs(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "status" {
		return fmt.Errorf("%w: jobs: status is needed", errUsage)
	}
	return jobsStatus(args[1:], stdout)
}

// jobsStatus is `postkasse jobs status`.
func jobsStatus(args []string, stdout io.Writer) error {
	return listCommand("jobs status", args, stdout, control.Operations.Jobs,
		"JOB\tSCHEDULE (UTC)\tNEXT RUN\tLAST RUN\tOUTCOME\tITEMS\tDETAIL", func(w io.Writer, s control.JobInfo) {
			last, outcome, items, detail := "never", "", 0, ""
			if l := s.Last; l != nil {
				last, outcome, items, detail = l.Started.Format(time.RFC3339), l.Outcome, l.Items, l.Detail
				if l.Outcome == string(store.JobRunning) && !s.Running {
					outcome = "interrupted (the server stopped during the run)"
				}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.Name, s.Schedule, s.Next.Format(time.RFC3339), last, outcome, items, detail)
		})
}

// jobStatus returns the jobs' status from a scheduler, for the control
// socket: the running server's, or, with the server stopped, one built
// on the data folder and never started (its status is the schedules and
// the last runs recorded in the database).
func jobStatus(sched func() (*jobs.Scheduler, error)) func() ([]control.JobInfo, error) {
	return func() ([]control.JobInfo, error) {
		s, err := sched()
		if err != nil {
			return nil, err
		}
		status, err := s.Status()
		if err != nil {
			return nil, err
		}
		out := make([]control.JobInfo, 0, len(status))
		for _, j := range status {
			out = append(out, control.JobInfo{Name: j.Name, Schedule: j.Schedule, Next: j.Next, Running: j.Running, Last: control.JobRun(j.Last)})
		}
		return out, nil
	}
}
