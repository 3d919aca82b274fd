package main

// A sender's tools for replies: postkasse reply-key makes the X25519 key
// pair residents' replies are sealed to, and postkasse events --reply-key
// opens each reply it reads of (GET /api/v1/replies/{id}) into a folder.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/postkasse/postkasse/crypto"
)

// runReplyKey: postkasse reply-key --out FILE. It writes a new private key
// (32 bytes, standard base64, mode 0600) to FILE, refusing to overwrite
// one, and prints the public key to register (PUT /api/v1/reply-key, or
// the operator's postkasse sender reply-key).
func runReplyKey(args []string, stdout io.Writer) error {
	fs := newFlagSet("reply-key")
	out := fs.String("out", "", "where to write the new private key (required; kept secret, it opens every reply)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: reply-key: --out FILE is needed", errUsage)
	}
	k, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		return fmt.Errorf("reply-key: %w", err)
	}
	defer k.Zero()
	raw := k.RawX25519()
	defer clear(raw)
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("reply-key: %w", err)
	}
	if _, err := fmt.Fprintln(f, base64.StdEncoding.EncodeToString(raw)); err != nil {
		f.Close()
		return fmt.Errorf("reply-key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("reply-key: %w", err)
	}
	pub := k.Public()
	fmt.Fprintf(stdout, "%s\n", base64.StdEncoding.EncodeToString(pub[:]))
	return nil
}

// readReplyKey reads a private key file written by runReplyKey.
func readReplyKey(path string) (*crypto.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--reply-key: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("--reply-key %s: not a key written by postkasse reply-key (base64): %w", path, err)
	}
	defer clear(raw)
	k, err := crypto.NewReplyPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("--reply-key %s: %w", path, err)
	}
	return k, nil
}

// replyOpener opens the replies of reply events into dir/<reply id>/.
type replyOpener struct {
	client *http.Client
	api    string
	key    *crypto.PrivateKey
	dir    string
}

// replyWriter is a reply event's writtenBy (API: who wrote the reply on
// the resident's behalf).
type replyWriter struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// replyMeta is dir/<id>/reply.json: what the reply is bound to and its
// files (the text is reply.txt, attachment i is its file).
type replyMeta struct {
	ID         string `json:"id"`
	LetterID   string `json:"letterId"`
	ResidentID string `json:"residentId"`
	Created    string `json:"created"`
	// WrittenBy is the event's: who wrote the reply on the resident's
	// behalf; absent when the resident did.
	WrittenBy   *replyWriter     `json:"writtenBy,omitempty"`
	Attachments []replyFileEntry `json:"attachments"`
}

type replyFileEntry struct {
	Name        string `json:"name"` // as the resident named it
	ContentType string `json:"contentType"`
	File        string `json:"file"` // where it was written, in the folder
}

// open fetches and opens one reply and writes it. A reply fetched before
// (its folder exists) is not written again.
func (o *replyOpener) open(ctx context.Context, replyID string, writtenBy *replyWriter) error {
	if replyID == "" || replyID != filepath.Base(replyID) || strings.HasPrefix(replyID, ".") {
		return fmt.Errorf("events: a reply id %q that is no file name", replyID)
	}
	dest := filepath.Join(o.dir, replyID)
	if _, err := os.Stat(dest); err == nil {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.api+"/replies/"+url.PathEscape(replyID), nil)
	if err != nil {
		return err
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return fmt.Errorf("events: reply %s: %w", replyID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil // deleted with its letter since
	}
	if resp.StatusCode != http.StatusOK {
		return apiError("events: reply "+replyID, resp)
	}
	var rep struct {
		ID, LetterID, SenderID, ResidentID, Created, Format, Sealed string
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&rep); err != nil {
		return fmt.Errorf("events: reply %s: the answer: %w", replyID, err)
	}
	if rep.ID != replyID || rep.Format != "postkasse-sealed-reply-v1" {
		return fmt.Errorf("events: reply %s: an answer for %q in format %q", replyID, rep.ID, rep.Format)
	}
	sealed, err := base64.StdEncoding.DecodeString(rep.Sealed)
	if err != nil {
		return fmt.Errorf("events: reply %s: %w", replyID, err)
	}
	r, err := o.key.OpenReply(sealed, crypto.ReplyBinding{ReplyID: rep.ID, SenderID: rep.SenderID, ResidentID: rep.ResidentID})
	if errors.Is(err, crypto.ErrOpen) {
		return fmt.Errorf("events: reply %s does not open with --reply-key (sealed to another key?): %w", replyID, err)
	} else if err != nil {
		return fmt.Errorf("events: reply %s: %w", replyID, err)
	}
	// Written to a temporary folder, renamed when whole.
	tmp, err := os.MkdirTemp(o.dir, "."+replyID+"-")
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	defer os.RemoveAll(tmp)
	meta := replyMeta{ID: rep.ID, LetterID: rep.LetterID, ResidentID: rep.ResidentID, Created: rep.Created, WrittenBy: writtenBy, Attachments: []replyFileEntry{}}
	if err := os.WriteFile(filepath.Join(tmp, "reply.txt"), []byte(r.Text), 0o600); err != nil {
		return err
	}
	for i, a := range r.Attachments {
		file := fmt.Sprintf("%d-%s", i+1, safeFileName(a.Name))
		if err := os.WriteFile(filepath.Join(tmp, file), a.Content, 0o600); err != nil {
			return err
		}
		meta.Attachments = append(meta.Attachments, replyFileEntry{Name: a.Name, ContentType: a.ContentType, File: file})
	}
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "reply.json"), append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, dest)
}

// safeFileName is a resident's file name as a file name of this machine:
// its last element, without separators or control characters; "file"
// when nothing is left.
func safeFileName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == ':' {
			return '_'
		}
		return r
	}, name)
	if name == "." || name == ".." || name == "/" || strings.Trim(name, ". ") == "" {
		return "file"
	}
	return name
}

// openSignature fetches the resident's signature of a letter (GET
// /api/v1/messages/{id}/signature) and writes its files into the folder:
// LETTER.pdf (the signed PDF) and LETTER.p7s (the detached CMS) when it
// comes sealed to the reply key, which it opens; LETTER.p7s alone for a
// document that is no PDF; LETTER.pdf for a PDF signed by an older
// appliance, in clear. A signature fetched before (its .p7s exists) is
// not fetched again; one gone with its letter is skipped.
func (o *replyOpener) openSignature(ctx context.Context, letterID string) error {
	if letterID == "" || letterID != filepath.Base(letterID) || strings.HasPrefix(letterID, ".") || strings.ContainsAny(letterID, `\:`) {
		return fmt.Errorf("events: a letter id %q that is no file name", letterID)
	}
	pdfPath, cmsPath := filepath.Join(o.dir, letterID+".pdf"), filepath.Join(o.dir, letterID+".p7s")
	if _, err := os.Stat(cmsPath); err == nil {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.api+"/messages/"+url.PathEscape(letterID)+"/signature", nil)
	if err != nil {
		return err
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return fmt.Errorf("events: signature of %s: %w", letterID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil // deleted with its letter since
	}
	if resp.StatusCode != http.StatusOK {
		return apiError("events: signature of "+letterID, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("events: signature of %s: %w", letterID, err)
	}
	files := map[string][]byte{}
	switch ctype, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";"); strings.TrimSpace(ctype) {
	case "application/json":
		var sig struct{ ID, LetterID, SenderID, ResidentID, Format, Sealed string }
		if err := json.Unmarshal(body, &sig); err != nil {
			return fmt.Errorf("events: signature of %s: the answer: %w", letterID, err)
		}
		if sig.ID != crypto.SignatureReplyID(letterID) || sig.LetterID != letterID || sig.Format != "postkasse-sealed-reply-v1" {
			return fmt.Errorf("events: signature of %s: an answer for %q in format %q", letterID, sig.ID, sig.Format)
		}
		sealed, err := base64.StdEncoding.DecodeString(sig.Sealed)
		if err != nil {
			return fmt.Errorf("events: signature of %s: %w", letterID, err)
		}
		r, err := o.key.OpenReply(sealed, crypto.ReplyBinding{ReplyID: sig.ID, SenderID: sig.SenderID, ResidentID: sig.ResidentID})
		if errors.Is(err, crypto.ErrOpen) {
			return fmt.Errorf("events: the signature of %s does not open with --reply-key (sealed to another key?): %w", letterID, err)
		} else if err != nil {
			return fmt.Errorf("events: signature of %s: %w", letterID, err)
		}
		for _, a := range r.Attachments {
			switch a.Name {
			case letterID + ".pdf":
				files[pdfPath] = a.Content
			case letterID + ".p7s":
				files[cmsPath] = a.Content
			default:
				return fmt.Errorf("events: signature of %s: an unexpected file %q", letterID, a.Name)
			}
		}
	case "application/pkcs7-signature":
		files[cmsPath] = body
	case "application/pdf":
		files[pdfPath] = body
	default:
		return fmt.Errorf("events: signature of %s: an answer of type %q", letterID, resp.Header.Get("Content-Type"))
	}
	// Each file is written whole under a temporary name, then renamed;
	// the .p7s last, so that a signature cut short is fetched again.
	for _, p := range []string{pdfPath, cmsPath} {
		b, ok := files[p]
		if !ok {
			continue
		}
		tmp, err := os.CreateTemp(o.dir, "."+filepath.Base(p)+"-")
		if err != nil {
			return fmt.Errorf("events: %w", err)
		}
		_, werr := tmp.Write(b)
		if cerr := tmp.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(tmp.Name(), 0o600)
		}
		if werr == nil {
			werr = os.Rename(tmp.Name(), p)
		}
		if werr != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("events: signature of %s: %w", letterID, werr)
		}
	}
	return nil
}
