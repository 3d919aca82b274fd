package jobs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store"
)

// TestBackupJob: each run writes a copy named after its time into the
// folder and keeps the newest Keep of them; a failed copy deletes
// nothing; files in the folder that are not the job's copies stay.
func TestBackupJob(t *testing.T) {
	t.Parallel()
	folder := filepath.Join(t.TempDir(), "backups")
	var fail error
	e := newEnv(t, func(c *Config) {
		c.Backup = &BackupConfig{Folder: folder, Name: "post.example.dk", Keep: 3, Write: func(ctx context.Context, path string) error {
			if fail != nil {
				return fail
			}
			if !strings.HasSuffix(path, ".tar.partial") {
				t.Errorf("the copy is written to %s, not a .partial name", path)
			}
			return os.WriteFile(path, []byte("a copy"), 0o600)
		}}
	})
	if err := os.MkdirAll(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	// The operator's files, another appliance's copies in the same folder,
	// and a copy of this one's cut short.
	others := []string{"notes.txt", "postkasse-manual.tar", "postkasse-post.other.dk-20261101T000000Z.tar",
		"postkasse-post.other.dk-20261102T000000Z.tar.partial"}
	for _, name := range append(others, "postkasse-post.example.dk-20261101T000000Z.tar.partial") {
		if err := os.WriteFile(filepath.Join(folder, name), []byte("the operator's"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var written []string
	for range 5 {
		r := e.run(JobBackup, store.JobOK)
		name := "postkasse-post.example.dk-" + e.clock.Now().UTC().Format("20060102T150405Z") + ".tar"
		if !strings.Contains(r.Detail, "wrote "+name) {
			t.Fatalf("run: %q, want it to name %s", r.Detail, name)
		}
		written = append(written, name)
		e.clock.Advance(24 * time.Hour)
	}
	want := append(others, written[2:]...)
	slices.Sort(want)
	if got := names(t, folder); !slices.Equal(got, want) {
		t.Fatalf("folder after 5 runs keeping 3: %v, want %v", got, want)
	}
	// (The .partial file a cut-short run left was deleted by the first.)
	// A copy that fails: nothing deleted, the run failed.
	fail = errors.New("disk full")
	r := e.run(JobBackup, store.JobFailed)
	if !strings.Contains(r.Detail, "disk full") {
		t.Errorf("failed run: %q", r.Detail)
	}
	if got := names(t, folder); !slices.Equal(got, want) {
		t.Fatalf("folder after a failed copy: %v, want %v", got, want)
	}
}

// TestBackupJobUnconfigured: without a backup folder the job writes
// nothing and says so.
func TestBackupJobUnconfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	if r := e.run(JobBackup, store.JobOK); !strings.Contains(r.Detail, "backup.folder") {
		t.Errorf("run without a folder: %q", r.Detail)
	}
}

// names lists a folder.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
