package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
