package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/control"
	"github.com/postkasse/postkasse/jobs"
	"github.com/postkasse/postkasse/store"
)

// TestTermsDeathAndJobsCommands runs the operator's commands for terms,
// deaths and job status with no server (on the data folder) and with a
// server (over its control socket): one suite, the same answers.
func TestTermsDeathAndJobsCommands(t *testing.T) {
	for _, mode := range []string{"direct", "socket"} {
		t.Run(mode, func(t *testing.T) {
			dir := initFolder(t)
			var sched *jobs.Scheduler
			if mode == "socket" {
				sched = serveControl(t, dir)
			}
			testTermsDeathAndJobsCommands(t, dir, sched)
		})
	}
}

// serveControl runs the control socket of a server on dir in this
// process, with a scheduler that is built but not started, and returns
// the scheduler. The server holds the database, so the commands can only
// go through the socket.
func serveControl(t *testing.T, dir string) *jobs.Scheduler {
	t.Helper()
	cfg, err := loadResolved(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := buildAppliance(cfg, buildOptions{timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	jc, err := a.jobsConfig("")
	if err != nil {
		t.Fatal(err)
	}
	sched, err := jobs.New(jc)
	if err != nil {
		t.Fatal(err)
	}
	op := a.operator(jobStatus(func() (*jobs.Scheduler, error) { return sched, nil }))
	ln, err := control.Listen(filepath.Join(dir, socketFileName))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: control.Handler(op, nil)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sched
}

func testTermsDeathAndJobsCommands(t *testing.T, dir string, sched *jobs.Scheduler) {
	cli(t, "resident", "add", "--data", dir, "--national-id", "1203861234", "--name", "Anna Jensen")
	cph, err := time.LoadLocation(jobs.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(cph)
	file := filepath.Join(t.TempDir(), "terms.txt")
	if err := os.WriteFile(file, []byte("§1 The mailbox is yours.\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Less than a month's notice: refused, with the earliest date, on
	// one line.
	var out bytes.Buffer
	err = run([]string{"terms", "publish", "--data", dir, "--file", file, "--effective", today.AddDate(0, 0, 10).Format(time.DateOnly)}, &out)
	if err == nil || !strings.Contains(err.Error(), "less than one month") || !strings.Contains(err.Error(), "earliest effective date is") ||
		!errors.Is(err, store.ErrTermsNoticePeriod) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("terms effective in 10 days: %v", err)
	}
	effective := today.AddDate(0, 2, 0).Format(time.DateOnly)
	printed := cli(t, "terms", "publish", "--data", dir, "--file", file, "--effective", effective)
	if !strings.Contains(printed, "Published version 1") || !strings.Contains(printed, "effective "+effective+" (Europe/Copenhagen)") ||
		!strings.Contains(printed, "jobs.municipality is not set") {
		t.Errorf("terms publish printed:\n%s", printed)
	}
	if printed := cli(t, "terms", "list", "--data", dir); !strings.Contains(printed, effective) || !strings.Contains(printed, "in progress") {
		t.Errorf("terms list printed:\n%s", printed)
	}
	var listed []control.TermsInfo
	if err := json.Unmarshal([]byte(cli(t, "terms", "list", "--data", dir, "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].Version != 1 || listed[0].EffectiveDate != effective || listed[0].Size != len("§1 The mailbox is yours.\n") {
		t.Errorf("terms list --json: %+v", listed)
	}

	// Guardianship: the commands reach the store through the socket (the
	// store's and the socket's side: httpui/control's TestGuardian); a
	// mailbox not activated yet can be neither ward nor guardian.
	cli(t, "resident", "add", "--data", dir, "--national-id", "0202802345", "--name", "Bo Jensen")
	err = run([]string{"resident", "guardian", "add", "--data", dir, "--ward", "1203861234", "--guardian", "0202802345"}, &out)
	if err == nil || !strings.Contains(err.Error(), "no open mailbox") {
		t.Errorf("a guardian of a pending mailbox: %v", err)
	}
	err = run([]string{"resident", "guardian", "remove", "--data", dir, "--ward", "1203861234", "--guardian", "0202802345"}, &out)
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("removing a guardianship there is not: %v", err)
	}

	err = run([]string{"resident", "died", "--data", dir, "--national-id", "1203861234", "--date", today.AddDate(0, 0, 2).Format(time.DateOnly)}, &out)
	if err == nil || !strings.Contains(err.Error(), "in the future") {
		t.Errorf("a death in the future: %v", err)
	}
	err = run([]string{"resident", "died", "--data", dir, "--national-id", "0101701234", "--date", today.Format(time.DateOnly)}, &out)
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("the death of someone without a mailbox: %v", err)
	}
	printed = cli(t, "resident", "died", "--data", dir, "--national-id", "1203861234", "--date", today.Format(time.DateOnly))
	if !strings.Contains(printed, "Recorded the death of Anna Jensen") {
		t.Errorf("resident died printed:\n%s", printed)
	}
	if printed := cli(t, "resident", "list", "--data", dir); !strings.Contains(printed, "deceased") {
		t.Errorf("resident list after the death:\n%s", printed)
	}

	printed = cli(t, "jobs", "status", "--data", dir)
	for _, want := range []string{"terms-notices", "retention", "notifications", "never", "17 3 * * *"} {
		if !strings.Contains(printed, want) {
			t.Errorf("jobs status has no %q:\n%s", want, printed)
		}
	}
	if sched != nil {
		// The server's own scheduler answers: a run shows at once.
		if _, err := sched.RunNow(jobs.JobRetention); err != nil {
			t.Fatal(err)
		}
		var status []control.JobInfo
		if err := json.Unmarshal([]byte(cli(t, "jobs", "status", "--data", dir, "--json")), &status); err != nil {
			t.Fatal(err)
		}
		if len(status) != 10 || status[6].Name != jobs.JobSessionSweep || status[7].Name != jobs.JobCallbacks || status[8].Name != jobs.JobRelease || status[9].Name != jobs.JobPrintUnread || status[1].Name != jobs.JobRetention || status[1].Last == nil || status[1].Last.Outcome != "ok" || status[0].Last != nil {
			t.Errorf("jobs status --json after a run of retention: %+v", status)
		}
	}
	for _, args := range [][]string{
		{"terms"}, {"terms", "nope"}, {"terms", "publish", "--data", dir},
		{"terms", "publish", "--data", dir, "--file", file, "--effective", "1 March"},
		{"jobs"}, {"resident", "died", "--data", dir, "--national-id", "1203861234"},
		{"resident", "died", "--data", dir, "--national-id", "1203861234", "--date", "today"},
		{"resident", "guardian"}, {"resident", "guardian", "nope"},
		{"resident", "guardian", "add", "--data", dir, "--ward", "1203861234"},
		{"resident", "guardian", "remove", "--data", dir, "--guardian", "1203861234"},
	} {
		if err := run(args, &out); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestConfigJobsErrors(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"[jobs]\ninactivity = \"5 years\"\n", "jobs: inactivity"},
		{"[jobs]\ninactivity_warnings = \"P6Y\"\n", "shorter than the inactivity period"},
		{"[jobs]\ntime_zone = \"Mars/Olympus\"\n", "jobs.time_zone"},
		{"[jobs]\nmunicipality = \"Eksempelby\"\n", "jobs.municipality"},
		{"[jobs]\nretention_schedule = \"daily\"\n", "jobs.retention_schedule"},
		{"[smtp]\nhost = \"mail.example.dk\"\n", "smtp.from"},
		{"[smtp]\nhost = \"mail.example.dk\"\nfrom = \"a@b.dk\"\nsecurity = \"maybe\"\n", "security"},
		{"[sms]\nurl = \"ftp://sms\"\n", "sms"},
		{"[sms]\nhours = \"20-9\"\n", "sms.hours"},
	} {
		_, err := parseConfig([]byte(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error with %q", tc.file, err, tc.want)
		}
	}
	c, err := parseConfig([]byte("[jobs]\nmunicipality = \"29189846\"\n[smtp]\nhost = \"mail.example.dk\"\nfrom = \"Postkasse <noreply@example.dk>\"\n[sms]\nurl = \"https://sms.example.dk/send\"\nauth_header = \"Authorization: Bearer k\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.resolve(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	jc, err := r.jobsConfig("https://post.example.dk/")
	if err != nil {
		t.Fatal(err)
	}
	if jc.SMTP == nil || jc.SMTP.Port != 587 || jc.SMS == nil || jc.SMS.Method != "POST" || jc.Municipality != "29189846" || jc.SMSHours != (jobs.SMSHours{From: 9, To: 20}) {
		t.Errorf("jobs config %+v", jc)
	}
}
