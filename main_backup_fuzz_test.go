package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// tarOf is an archive of the files given, in order (name, content).
func tarOf(t testing.TB, files ...string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for i := 0; i+1 < len(files); i += 2 {
		if err := tw.WriteHeader(&tar.Header{Name: files[i], Size: int64(len(files[i+1])), Mode: 0o600, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[i+1]))
	}
	tw.Close()
	return b.Bytes()
}

// manifestOf is the manifest of the files given (name, content).
func manifestOf(t testing.TB, files ...string) string {
	m := backupManifest{Format: backupFormat, Created: time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC), Version: "test"}
	for i := 0; i+1 < len(files); i += 2 {
		sum := sha256.Sum256([]byte(files[i+1]))
		m.Files = append(m.Files, backupFile{Name: files[i], Size: int64(len(files[i+1])), SHA256: hex.EncodeToString(sum[:])})
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// FuzzUnpackBackup: whatever the archive, restoring it never panics and
// never writes outside the folder it restores into; an archive it takes
// is one whose files match its manifest.
func FuzzUnpackBackup(f *testing.F) {
	good := []string{"postkasse.toml", "domain = \"post.example.dk\"\n", "ca/ca.crt", "-----BEGIN CERTIFICATE-----\n"}
	f.Add(tarOf(f, append(good, manifestName, manifestOf(f, good...))...))
	f.Add(tarOf(f, append(good, manifestName, manifestOf(f, good[:2]...))...))
	f.Add(tarOf(f, "../escape", "x", manifestName, manifestOf(f, "../escape", "x")))
	f.Add(tarOf(f, "../../../escape", "x", manifestName, manifestOf(f, "../../../escape", "x")))
	f.Add(tarOf(f, manifestName, `{"format":"`+backupFormat+`","files":[{"name":"/etc/passwd","size":1,"sha256":"00"}]}`))
	f.Add([]byte("not a tar archive"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The folder restored into is three levels down in a folder of
		// the test's own, so a name that climbs out (../, ../../) lands
		// where the test looks.
		tmp := t.TempDir()
		dir := filepath.Join(tmp, "a", "b", "restore")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		m, err := unpackBackup(bytes.NewReader(data), dir)
		for _, level := range []string{tmp, filepath.Join(tmp, "a"), filepath.Join(tmp, "a", "b")} {
			entries, rerr := os.ReadDir(level)
			if rerr != nil || len(entries) != 1 {
				t.Fatalf("restoring wrote beside the folder, in %s: %v %v", level, entries, rerr)
			}
		}
		if err != nil {
			return
		}
		for _, file := range m.Files {
			content, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file.Name)))
			sum := sha256.Sum256(content)
			if err != nil || int64(len(content)) != file.Size || hex.EncodeToString(sum[:]) != file.SHA256 {
				t.Fatalf("restored %s does not match the manifest taken: %v", file.Name, err)
			}
		}
	})
}
