package control

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/postkasse/postkasse/store"
)

// The print queue's operations (docs/OPERATORS.md, "Letters on paper"):
// export a batch for the print provider, mark it printed, and the queue's
// status.

// PrintExportRequest exports a batch into Dir, an absolute path that must
// not exist yet. With Batch, that batch (exported before and not yet
// printed) is written again; without, a new batch of the letters queued.
type PrintExportRequest struct {
	Dir   string `json:"dir"`
	Batch string `json:"batch,omitempty"`
	// Key is the operator's print key (PrintKeyInfo.Key), in hex.
	Key string `json:"key"`
}

// PrintKeyInfo is the operator's print key, made once: the appliance
// keeps only what it unwraps (store.NewPrintKey).
type PrintKeyInfo struct {
	Key string `json:"key"` // hex
}

// PrintExportInfo is a batch written.
type PrintExportInfo struct {
	Batch   string `json:"batch"`
	Dir     string `json:"dir"`
	Letters int    `json:"letters"`
	Pages   int    `json:"pages"`
}

// PrintDoneRequest marks a batch printed.
type PrintDoneRequest struct {
	Batch string `json:"batch"`
}

// PrintDoneInfo is a batch marked printed: Printed is how many letters it
// marked now (0 when it was done before).
type PrintDoneInfo struct {
	Batch   string `json:"batch"`
	Printed int    `json:"printed"`
}

// PrintStatusInfo is the print queue's state.
type PrintStatusInfo struct {
	Queued      int              `json:"queued"`
	QueuedPages int              `json:"queuedPages"`
	Exported    []PrintBatchInfo `json:"exported"`
	Printed     int              `json:"printed"`
}

// PrintBatchInfo is a batch exported and not yet marked printed.
type PrintBatchInfo struct {
	Batch    string    `json:"batch"`
	Exported time.Time `json:"exported"`
	Letters  int       `json:"letters"`
	Pages    int       `json:"pages"`
}

// printManifest is manifest.json of a batch.
type printManifest struct {
	Format   int                 `json:"format"`
	Batch    string              `json:"batch"`
	Exported time.Time           `json:"exported"`
	Letters  []printManifestItem `json:"letters"`
}

type printManifestItem struct {
	ID              string             `json:"id"`
	SenderName      string             `json:"senderName"`
	SenderOrgNumber string             `json:"senderOrgNumber"`
	SenderReference string             `json:"senderReference"`
	Queued          time.Time          `json:"queued"`
	Address         store.PrintAddress `json:"address"`
	Pages           int                `json:"pages"`
	Documents       []printManifestDoc `json:"documents"`
}

type printManifestDoc struct {
	File   string `json:"file"` // relative to the batch's folder
	Name   string `json:"name"` // as the sender named it
	Pages  int    `json:"pages"`
	SHA256 string `json:"sha256"`
}

// PrintExport writes a batch: the PDFs as letters/ID/N.pdf, manifest.json
// and manifest.csv. It writes into a folder beside Dir and renames it to
// Dir at the end, so Dir is whole or absent.
func (o *Operator) PrintExport(ctx context.Context, req PrintExportRequest) (PrintExportInfo, error) {
	if req.Dir == "" || !filepath.IsAbs(req.Dir) {
		return PrintExportInfo{}, fmt.Errorf("print export folder %q: want an absolute path: %w", req.Dir, ErrBadRequest)
	}
	if _, err := os.Lstat(req.Dir); err == nil {
		return PrintExportInfo{}, fmt.Errorf("print export folder %s exists: give a new one: %w", req.Dir, ErrBadRequest)
	}
	key, err := hex.DecodeString(strings.TrimSpace(req.Key))
	if err != nil || len(key) != store.PrintKeySize {
		return PrintExportInfo{}, fmt.Errorf("print key: want %d bytes in hex, as print key wrote it: %w", store.PrintKeySize, ErrBadRequest)
	}
	defer clear(key)
	var b store.PrintBatch
	if req.Batch != "" {
		b, err = o.Store.ExportPrintBatch(ctx, req.Batch, key)
	} else {
		b, err = o.Store.ExportPrint(ctx, key)
	}
	if err != nil {
		return PrintExportInfo{}, err
	}
	info, err := writePrintBatch(req.Dir, b)
	if err != nil {
		return PrintExportInfo{}, fmt.Errorf("write print batch %s (export it again with --batch %s): %w", b.ID, b.ID, err)
	}
	return info, nil
}

// writePrintBatch writes b into dir (see PrintExport).
func writePrintBatch(dir string, b store.PrintBatch) (PrintExportInfo, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".partial-")
	if err != nil {
		return PrintExportInfo{}, err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	info := PrintExportInfo{Batch: b.ID, Dir: dir, Letters: len(b.Letters)}
	m := printManifest{Format: 1, Batch: b.ID, Exported: b.Exported}
	var rows [][]string
	rows = append(rows, []string{"batch", "letter", "sender_org_number", "sender_reference", "name",
		"line1", "line2", "line3", "line4", "postal_code", "city", "country", "pages", "files"})
	for _, l := range b.Letters {
		// Files are named by the letter's id and the document's place:
		// a sender's file name never becomes a path.
		if err := os.MkdirAll(filepath.Join(tmp, "letters", l.ID), 0o700); err != nil {
			return info, err
		}
		item := printManifestItem{ID: l.ID, SenderName: l.SenderName, SenderOrgNumber: l.SenderOrgNumber,
			SenderReference: l.SenderReference, Queued: l.QueuedAt, Address: l.Address, Pages: l.Pages}
		var files []string
		for i, d := range l.Documents {
			file := fmt.Sprintf("letters/%s/%d.pdf", l.ID, i+1)
			if err := os.WriteFile(filepath.Join(tmp, filepath.FromSlash(file)), d.Content, 0o600); err != nil {
				return info, err
			}
			sum := sha256.Sum256(d.Content)
			item.Documents = append(item.Documents, printManifestDoc{File: file, Name: d.Name, Pages: d.Pages, SHA256: hex.EncodeToString(sum[:])})
			files = append(files, file)
		}
		info.Pages += l.Pages
		m.Letters = append(m.Letters, item)
		lines := make([]string, 4)
		copy(lines, l.Address.Lines)
		row := []string{b.ID, l.ID, l.SenderOrgNumber, l.SenderReference, l.Address.Name}
		row = append(row, lines...)
		row = append(row, l.Address.PostalCode, l.Address.City, l.Address.Country, strconv.Itoa(l.Pages), strings.Join(files, " "))
		for i := range row {
			row[i] = csvCell(row[i])
		}
		rows = append(rows, row)
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return info, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "manifest.json"), append(js, '\n'), 0o600); err != nil {
		return info, err
	}
	var csvText strings.Builder
	w := csv.NewWriter(&csvText)
	if err := w.WriteAll(rows); err != nil {
		return info, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "manifest.csv"), []byte(csvText.String()), 0o600); err != nil {
		return info, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return info, err
	}
	done = true
	return info, nil
}

// csvCell keeps a spreadsheet from taking a cell for a formula (OWASP,
// "CSV Injection"): a value that starts with =, +, -, @, a tab or a
// carriage return gets a leading apostrophe.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// PrintKey makes the appliance's print key and returns the operator's
// key, once (a second is store.ErrExists).
func (o *Operator) PrintKey(ctx context.Context) (PrintKeyInfo, error) {
	key, err := o.Store.NewPrintKey(ctx)
	if err != nil {
		return PrintKeyInfo{}, err
	}
	defer clear(key)
	return PrintKeyInfo{Key: hex.EncodeToString(key)}, nil
}

// PrintDone marks a batch printed: the letters' copies are deleted from
// the queue and their senders told ("printed" events). Done twice is no
// error.
func (o *Operator) PrintDone(ctx context.Context, req PrintDoneRequest) (PrintDoneInfo, error) {
	if req.Batch == "" {
		return PrintDoneInfo{}, fmt.Errorf("the batch id is missing: %w", ErrBadRequest)
	}
	n, err := o.Store.PrintDone(ctx, req.Batch)
	if err != nil {
		return PrintDoneInfo{}, err
	}
	return PrintDoneInfo{Batch: req.Batch, Printed: n}, nil
}

// PrintStatus returns the print queue's state.
func (o *Operator) PrintStatus(ctx context.Context) (PrintStatusInfo, error) {
	st, err := o.Store.PrintStatus(ctx)
	if err != nil {
		return PrintStatusInfo{}, err
	}
	out := PrintStatusInfo{Queued: st.Queued, QueuedPages: st.QueuedPages, Printed: st.Printed, Exported: []PrintBatchInfo{}}
	for _, b := range st.Exported {
		out.Exported = append(out.Exported, PrintBatchInfo{Batch: b.ID, Exported: b.Exported, Letters: b.Letters, Pages: b.Pages})
	}
	return out, nil
}

// The command line's side.

// PrintExport implements Operations.
func (c *Client) PrintExport(ctx context.Context, req PrintExportRequest) (PrintExportInfo, error) {
	var out PrintExportInfo
	err := c.do(ctx, http.MethodPost, "/v1/print/export", req, &out)
	return out, err
}

// PrintKey implements Operations.
func (c *Client) PrintKey(ctx context.Context) (PrintKeyInfo, error) {
	var out PrintKeyInfo
	err := c.do(ctx, http.MethodPost, "/v1/print/key", struct{}{}, &out)
	return out, err
}

// PrintDone implements Operations.
func (c *Client) PrintDone(ctx context.Context, req PrintDoneRequest) (PrintDoneInfo, error) {
	var out PrintDoneInfo
	err := c.do(ctx, http.MethodPost, "/v1/print/done", req, &out)
	return out, err
}

// PrintStatus implements Operations.
func (c *Client) PrintStatus(ctx context.Context) (PrintStatusInfo, error) {
	var out PrintStatusInfo
	err := c.do(ctx, http.MethodGet, "/v1/print", nil, &out)
	return out, err
}
