package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/jobs"
)

// TestTermsDeathAndJobsCommands runs the operator's commands for terms,
// deaths and job status on a data folder, with no server.
func TestTermsDeathAndJobsCommands(t *testing.T) {
	dir := initFolder(t)
	cli(t, "a-long-enough-password\n", "resident", "add", "--data", dir, "--national-id", "1203861234", "--name", "Anna Jensen", "--password-stdin")
	cph, err := time.LoadLocation(jobs.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(cph)
	file := filepath.Join(t.TempDir(), "terms.txt")
	if err := os.WriteFile(file, []byte("§1 The mailbox is yours.\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	err = run([]string{"terms", "publish", "--data", dir, "--file", file, "--effective", today.AddDate(0, 0, 10).Format(time.DateOnly)}, &out)
	if err == nil || !strings.Contains(err.Error(), "less than one month") || !strings.Contains(err.Error(), "earliest effective date is") {
		t.Fatalf("terms effective in 10 days: %v", err)
	}
	effective := today.AddDate(0, 2, 0).Format(time.DateOnly)
	printed := cli(t, "", "terms", "publish", "--data", dir, "--file", file, "--effective", effective)
	if !strings.Contains(printed, "Published version 1") || !strings.Contains(printed, "jobs.municipality is not set") {
		t.Errorf("terms publish printed:\n%s", printed)
	}
	if printed := cli(t, "", "terms", "list", "--data", dir); !strings.Contains(printed, effective) || !strings.Contains(printed, "in progress") {
		t.Errorf("terms list printed:\n%s", printed)
	}

	err = run([]string{"resident", "died", "--data", dir, "--national-id", "1203861234", "--date", today.AddDate(0, 0, 2).Format(time.DateOnly)}, &out)
	if err == nil || !strings.Contains(err.Error(), "in the future") {
		t.Errorf("a death in the future: %v", err)
	}
	printed = cli(t, "", "resident", "died", "--data", dir, "--national-id", "1203861234", "--date", today.Format(time.DateOnly))
	if !strings.Contains(printed, "Recorded the death of Anna Jensen") {
		t.Errorf("resident died printed:\n%s", printed)
	}

	printed = cli(t, "", "jobs", "status", "--data", dir)
	for _, want := range []string{"terms-notices", "retention", "notifications", "never", "17 3 * * *"} {
		if !strings.Contains(printed, want) {
			t.Errorf("jobs status has no %q:\n%s", want, printed)
		}
	}
	for _, args := range [][]string{
		{"terms"}, {"terms", "nope"}, {"terms", "publish", "--data", dir},
		{"jobs"}, {"resident", "died", "--data", dir, "--national-id", "1203861234"},
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
	jc, err := jobsConfig(c, t.TempDir(), nil, time.Now, nil, "https://post.example.dk/")
	if err != nil {
		t.Fatal(err)
	}
	if jc.SMTP == nil || jc.SMTP.Port != 587 || jc.SMS == nil || jc.SMS.Method != "POST" || jc.Municipality != "29189846" || jc.SMSHours != (jobs.SMSHours{From: 9, To: 20}) {
		t.Errorf("jobs config %+v", jc)
	}
}
