package jobs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store"
	"github.com/postkasse/postkasse/store/auditlog"
)

// TestCheckpointJob: the job appends a signed checkpoint of the audit log
// to the file and posts it to the witness when the log has grown, and
// writes nothing when it has not; a witness that fails fails the run, and
// the file has the checkpoint all the same.
func TestCheckpointJob(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var witnessed [][]byte
	fail := false
	witness := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if fail {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		witnessed = append(witnessed, body)
	}))
	defer witness.Close()
	file := filepath.Join(t.TempDir(), "audit-checkpoints")
	e := newEnv(t, func(c *Config) { c.CheckpointFile, c.Witness = file, witness.URL })
	_, nid := e.resident(email(1))
	e.deliver(e.muni.ID, nid, "ref-1", false)

	r := e.run(JobCheckpoint, store.JobOK)
	if r.Items != 1 {
		t.Fatalf("first run: %+v", r)
	}
	v, err := e.st.AuditVerifier()
	if err != nil {
		t.Fatal(err)
	}
	log, _ := e.st.AuditLog(context.Background())
	checkpoints := func() []auditlog.FileCheckpoint {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return auditlog.ParseCheckpointFile(v, data)
	}
	cps := checkpoints()
	if len(cps) != 1 || cps[0].Err != nil || cps[0].Checkpoint.Size != int64(len(log)) {
		t.Fatalf("checkpoint file after the first run: %+v (log of %d)", cps, len(log))
	}
	if len(witnessed) != 1 {
		t.Fatalf("witness got %d checkpoints", len(witnessed))
	}
	// Nothing new: nothing written.
	if r := e.run(JobCheckpoint, store.JobOK); r.Items != 0 || len(checkpoints()) != 1 {
		t.Fatalf("run without new entries: %+v, %d checkpoints", r, len(checkpoints()))
	}
	// The witness is down: the run fails, the file has the checkpoint.
	e.deliver(e.muni.ID, nid, "ref-2", false)
	mu.Lock()
	fail = true
	mu.Unlock()
	e.run(JobCheckpoint, store.JobFailed)
	if cps := checkpoints(); len(cps) != 2 || cps[1].Checkpoint.Size <= cps[0].Checkpoint.Size {
		t.Fatalf("checkpoint file after a witness failure: %+v", cps)
	}
	report, err := e.st.VerifyAudit(context.Background(), auditlog.Evidence{Checkpoints: []auditlog.File{{Name: file, Data: mustRead(t, file)}}})
	if err != nil || !report.OK() {
		t.Fatalf("the log against its checkpoints: %v, %v", report, err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBlobSweepEmbedded: on the embedded engine, which keeps documents in
// its file, the blob sweep has no documents to delete and says so (the
// sweep itself is tested on the cluster engine in store, TestSweepBlobs);
// it deletes the limits that expired, and only those.
func TestBlobSweepEmbedded(t *testing.T) {
	e := newEnv(t, nil)
	r := e.run(JobBlobSweep, store.JobOK)
	if r.Items != 0 || !strings.Contains(r.Detail, "nothing to sweep; 0 expired limits deleted") {
		t.Errorf("blob sweep: %+v", r)
	}
	ctx := context.Background()
	one := func([][]byte) ([][]byte, error) { return [][]byte{[]byte("1")}, nil }
	for i, ttl := range []time.Duration{time.Minute, time.Hour} {
		if err := e.st.UpdateLimits(ctx, []string{fmt.Sprint("sender:", i)}, e.clock.Now().Add(ttl), one); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(2 * time.Minute)
	r = e.run(JobBlobSweep, store.JobOK)
	if r.Items != 1 || !strings.Contains(r.Detail, "1 expired limits deleted") {
		t.Errorf("blob sweep after a limit expired: %+v", r)
	}
	// The limit not yet expired is there: counting on it sees its value.
	err := e.st.UpdateLimits(ctx, []string{"sender:1"}, e.clock.Now().Add(time.Hour), func(v [][]byte) ([][]byte, error) {
		if string(v[0]) != "1" {
			return nil, fmt.Errorf("the limit not yet expired holds %q", v[0])
		}
		return v, nil
	})
	if err != nil {
		t.Error(err)
	}
}
