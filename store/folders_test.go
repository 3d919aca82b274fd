package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/store/storage"
)

// TestFolders: the inbox, the archive and the resident's own folders;
// letters moved between them, listed by folder and counted; own folders
// made, renamed and deleted when empty; names checked; another resident
// moves nothing and sees no folder of this one.
func TestFolders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var ids []string
	for _, ref := range []string{"a", "b", "c", "d"} {
		res, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, ref))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Letter.ID)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	for _, bad := range []string{"", "   ", "tab\there", "zero\u200bwidth", string(make([]rune, 61))} {
		var invalid *InvalidError
		if _, err := mb.CreateFolder(context.Background(), bad); !errors.As(err, &invalid) || invalid.Field != "name" {
			t.Errorf("folder name %q accepted", bad)
		}
	}
	home, err := mb.CreateFolder(context.Background(), "Bolig")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.CreateFolder(context.Background(), "bolig"); !errors.Is(err, ErrFolderExists) {
		t.Error("a second folder of the same name")
	}
	if err := mb.MoveLetters(context.Background(), []string{ids[0], ids[1]}, FolderArchive); err != nil {
		t.Fatal(err)
	}
	if err := mb.MoveLetters(context.Background(), []string{ids[2]}, home.ID); err != nil {
		t.Fatal(err)
	}
	if err := mb.MoveLetters(context.Background(), []string{ids[3]}, "nosuchfolder"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a move to an unknown folder: %v", err)
	}
	folders, err := mb.Folders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, fo := range folders {
		counts[fo.ID] = fo.Letters
	}
	if len(folders) != 3 || counts[FolderInbox] != 1 || counts[FolderArchive] != 2 || counts[home.ID] != 1 {
		t.Errorf("folders %+v", folders)
	}
	page, _, err := mb.FolderPage(context.Background(), FolderArchive, "", 50)
	if err != nil || len(page) != 2 {
		t.Errorf("archive page %+v, %v", page, err)
	}
	if inbox, _, _ := mb.InboxPage(context.Background(), "", 50); len(inbox) != 1 || inbox[0].ID != ids[3] {
		t.Errorf("inbox page %+v", inbox)
	}
	if err := mb.DeleteFolder(context.Background(), home.ID); !errors.Is(err, ErrFolderNotEmpty) {
		t.Errorf("deleting a folder with letters: %v", err)
	}
	if err := mb.RenameFolder(context.Background(), home.ID, "Hus og have"); err != nil {
		t.Fatal(err)
	}
	if err := mb.MoveLetters(context.Background(), []string{ids[2]}, FolderInbox); err != nil {
		t.Fatal(err)
	}
	if err := mb.DeleteFolder(context.Background(), home.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := mb.FolderPage(context.Background(), home.ID, "", 50); !errors.Is(err, ErrNotFound) {
		t.Errorf("a page of a deleted folder: %v", err)
	}
	// Another resident.
	mustResident(t, f.s, testNID(t, 9), "Bo")
	bo := mustLogin(t, f.s, testNID(t, 9), testPassword)
	defer bo.Close()
	if err := bo.MoveLetters(context.Background(), []string{ids[3]}, FolderArchive); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident moves a letter: %v", err)
	}
	if page, _, err := bo.FolderPage(context.Background(), FolderArchive, "", 50); err != nil || len(page) != 0 {
		t.Errorf("another resident's archive: %+v, %v", page, err)
	}
}

// TestFolderNameDamaged: a folder whose sealed name does not open (a
// damaged record) is listed as unreadable, without a name, and keeps
// nothing else from working: folders are made, renamed and listed.
func TestFolderNameDamaged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	if err := f.s.update(ctx, func(tx storage.Tx) error {
		return tx.Folders().Put(f.resident.ID, []storage.Folder{{ID: "damaged", Name: []byte("not a sealed name"), Created: f.clock.Now()}})
	}); err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	made, err := mb.CreateFolder(ctx, "Bolig")
	if err != nil {
		t.Fatal(err)
	}
	if before, err := mb.Folders(ctx); err != nil || len(before) != 4 || !slices.ContainsFunc(before, func(fl Folder) bool { return fl.ID == "damaged" && fl.Unreadable && fl.Name == "" }) {
		t.Fatalf("folders with a damaged name: %+v, %v", before, err)
	}
	if err := mb.RenameFolder(ctx, "damaged", "Reddet"); err != nil {
		t.Fatal(err)
	}
	folders, err := mb.Folders(ctx)
	if err != nil || len(folders) != 4 {
		t.Fatalf("folders: %+v, %v", folders, err)
	}
	names := map[string]string{}
	for _, fl := range folders[2:] {
		names[fl.ID] = fl.Name
		if fl.Unreadable {
			t.Errorf("folder %s still unreadable after its rename", fl.ID)
		}
	}
	if names[made.ID] != "Bolig" || names["damaged"] != "Reddet" {
		t.Errorf("names %v", names)
	}
}

// TestTooManyFolders: the 101st folder is refused with
// ErrTooManyFolders, and nothing is made.
func TestTooManyFolders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	for i := range maxFolders {
		if _, err := mb.CreateFolder(context.Background(), fmt.Sprintf("Mappe %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mb.CreateFolder(context.Background(), "En for meget"); !errors.Is(err, ErrTooManyFolders) {
		t.Fatalf("folder %d: %v, want ErrTooManyFolders", maxFolders+1, err)
	}
	if all, err := mb.Folders(context.Background()); err != nil || len(all) != maxFolders+2 {
		t.Errorf("%d folders, %v; want %d", len(all), err, maxFolders+2)
	}
}

// TestFolderCountsFollowEveryChange: the navigation's counts (each
// folder's letters and unread letters, the due list's letters), which
// the engine keeps as counters beside its indexes, are after every change
// a resident makes the numbers the pages list: delivered, opened, marked
// read and unread, moved, marked paid, deleted; an operation refused as a
// whole (all or none) changes no count. FolderView reads the same counts
// with the page. (Every store test's close runs Check, which compares
// the counters with the indexes on either engine.)
func TestFolderCountsFollowEveryChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	var ids []string
	for i := range 6 {
		d := testDelivery(f.nid, fmt.Sprint("ref-", i))
		if d.Type = TypeInvoice; i%2 == 1 {
			d.DueDate = ""
		}
		res, err := f.s.Deliver(ctx, f.sender.ID, d)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Letter.ID)
	}
	// Bo's letter counts in his mailbox only.
	boNID := testNID(t, 9)
	mustResident(t, f.s, boNID, "Bo")
	boLetter, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(boNID, "bo-1"))
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	home, err := mb.CreateFolder(ctx, "Bolig")
	if err != nil {
		t.Fatal(err)
	}
	// listed counts what the pages list, 2 letters a page.
	listed := func(step string) {
		t.Helper()
		folders, err := mb.Folders(ctx)
		if err != nil {
			t.Fatalf("%s: Folders: %v", step, err)
		}
		due, err := mb.DueCount(ctx)
		if err != nil {
			t.Fatalf("%s: DueCount: %v", step, err)
		}
		for _, fo := range folders {
			letters, unread := 0, 0
			for cursor := ""; ; {
				page, next, err := mb.FolderPage(ctx, fo.ID, cursor, 2)
				if err != nil {
					t.Fatalf("%s: FolderPage(%q): %v", step, fo.ID, err)
				}
				for _, l := range page {
					letters++
					if l.Unread() {
						unread++
					}
				}
				if cursor = next; cursor == "" {
					break
				}
			}
			if fo.Letters != letters || fo.Unread != unread {
				t.Errorf("%s: folder %q counted %d letters, %d unread; its pages list %d, %d unread", step, fo.ID, fo.Letters, fo.Unread, letters, unread)
			}
			v, err := mb.FolderView(ctx, fo.ID, "", 2)
			if err != nil || !slices.Equal(v.Folders, folders) || v.DueCount != due {
				t.Errorf("%s: FolderView(%q) navigation %+v, %d, %v; want %+v, %d", step, fo.ID, v.Folders, v.DueCount, err, folders, due)
			}
		}
		n := 0
		for cursor := ""; ; {
			page, next, err := mb.DuePage(ctx, cursor, 2)
			if err != nil {
				t.Fatalf("%s: DuePage: %v", step, err)
			}
			n += len(page)
			if cursor = next; cursor == "" {
				break
			}
		}
		if due != n {
			t.Errorf("%s: DueCount %d; the due list lists %d", step, due, n)
		}
	}
	counts := func() string {
		t.Helper()
		folders, err := mb.Folders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		due, err := mb.DueCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, fo := range folders {
			out = append(out, fmt.Sprintf("%d/%d", fo.Letters, fo.Unread))
		}
		return fmt.Sprintf("%s due %d", strings.Join(out, " "), due)
	}
	steps := []struct {
		name string
		do   func() error
		want string // inbox, archive, Bolig: letters/unread; due
	}{
		{"delivered", func() error { return nil }, "6/6 0/0 0/0 due 3"},
		{"opened", func() error { _, err := mb.Letter(ctx, ids[0]); return err }, "6/5 0/0 0/0 due 3"},
		{"marked read", func() error { return mb.MarkRead(ctx, ids[1:3], true) }, "6/3 0/0 0/0 due 3"},
		{"marked unread", func() error { return mb.MarkRead(ctx, ids[:2], false) }, "6/5 0/0 0/0 due 3"},
		{"archived", func() error { return mb.MoveLetters(ctx, ids[:2], FolderArchive) }, "4/3 2/2 0/0 due 2"},
		{"moved to an own folder", func() error { return mb.MoveLetters(ctx, ids[2:4], home.ID) }, "2/2 2/2 2/1 due 1"},
		{"a move refused", func() error {
			if err := mb.MoveLetters(ctx, []string{ids[4], boLetter.Letter.ID}, FolderArchive); !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("a move with another's letter: %v", err)
			}
			return nil
		}, "2/2 2/2 2/1 due 1"},
		{"paid", func() error { return mb.MarkPaid(ctx, ids[4], true) }, "2/2 2/2 2/1 due 0"},
		{"unpaid", func() error { return mb.MarkPaid(ctx, ids[4], false) }, "2/2 2/2 2/1 due 1"},
		{"back to the inbox", func() error { return mb.MoveLetters(ctx, ids[:1], FolderInbox) }, "3/3 1/1 2/1 due 2"},
		{"a delete refused", func() error {
			if err := mb.DeleteLetters(ctx, []string{ids[5], boLetter.Letter.ID}); !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("a delete with another's letter: %v", err)
			}
			return nil
		}, "3/3 1/1 2/1 due 2"},
		{"deleted", func() error { return mb.DeleteLetters(ctx, []string{ids[0], ids[1], ids[2]}) }, "2/2 0/0 1/1 due 1"},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := counts(); got != st.want {
			t.Errorf("%s: counts %s, want %s", st.name, got, st.want)
		}
		listed(st.name)
	}
	bo := mustLogin(t, f.s, boNID, testPassword)
	defer bo.Close()
	if folders, err := bo.Folders(ctx); err != nil || folders[0].Letters != 1 || folders[0].Unread != 1 {
		t.Errorf("Bo's folders %+v, %v", folders, err)
	}
}
