// Package boltpage damages one page of a bbolt file on purpose, for the
// tests that show a damaged database is reported as damaged rather than
// crashing the server: Leaf finds the leaf page that holds a key, by
// bbolt's page layout, and MarkFreelist makes that page claim to be a
// freelist page, so that bbolt, reading it where it expects a tree page,
// panics "invalid page type" (what a power cut once left behind).
//
// The layout (bbolt's internal/common/page.go): a page starts with a
// 16-byte header, id uint64, flags uint16, count uint16, overflow uint32,
// in the machine's byte order; a branch page's header is followed by count
// elements of 16 bytes (pos uint32, ksize uint32, pgid uint64), a leaf
// page's by count elements of 16 bytes (flags, pos, ksize, vsize uint32),
// and an element's key starts pos bytes after the element itself.
package boltpage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// The page flags and sizes of bbolt's format.
const (
	headerSize    = 16
	elementSize   = 16
	flagBranch    = 0x01
	flagLeaf      = 0x02
	flagFreelist  = 0x10
	maxTreeLevels = 64
)

// Leaf returns the id of the leaf page of the bbolt file at path that
// holds key in the top-level bucket named bucket, and the file's page
// size. The bucket must have pages of its own (not be inline: a bucket of
// more than a few hundred bytes of records), and key must be in it.
func Leaf(t testing.TB, path string, bucket, key []byte) (id uint64, pageSize int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	pageSize = db.Info().PageSize
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return fmt.Errorf("no bucket %s", bucket)
		}
		if id = uint64(b.Root()); id == 0 {
			return fmt.Errorf("bucket %s is inline: it has no pages of its own", bucket)
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range maxTreeLevels {
		p := readPage(t, f, id, pageSize)
		flags, count := binary.NativeEndian.Uint16(p[8:]), int(binary.NativeEndian.Uint16(p[10:]))
		switch flags {
		case flagLeaf:
			for i := range count {
				if bytes.Equal(elementKey(p, i, 8), key) {
					return id, pageSize
				}
			}
			t.Fatalf("key %q is not on its leaf page %d of bucket %s", key, id, bucket)
		case flagBranch:
			// The child whose first key is the last at or before key.
			child := binary.NativeEndian.Uint64(p[headerSize+8:])
			for i := 1; i < count; i++ {
				if bytes.Compare(elementKey(p, i, 4), key) > 0 {
					break
				}
				child = binary.NativeEndian.Uint64(p[headerSize+i*elementSize+8:])
			}
			id = child
		default:
			t.Fatalf("page %d of bucket %s has flags %#x: neither branch nor leaf", id, bucket, flags)
		}
	}
	t.Fatalf("bucket %s is deeper than %d levels", bucket, maxTreeLevels)
	return 0, 0
}

// elementKey returns the key of element i of page p, whose key size is
// at offset ksizeAt of the element (and pos at ksizeAt-4).
func elementKey(p []byte, i, ksizeAt int) []byte {
	elem := headerSize + i*elementSize
	pos := int(binary.NativeEndian.Uint32(p[elem+ksizeAt-4:]))
	ksize := int(binary.NativeEndian.Uint32(p[elem+ksizeAt:]))
	return p[elem+pos : elem+pos+ksize]
}

// readPage reads page id with its overflow pages.
func readPage(t testing.TB, f *os.File, id uint64, pageSize int) []byte {
	t.Helper()
	p := make([]byte, pageSize)
	if _, err := f.ReadAt(p, int64(id)*int64(pageSize)); err != nil {
		t.Fatalf("read page %d: %v", id, err)
	}
	if overflow := binary.NativeEndian.Uint32(p[12:]); overflow > 0 {
		p = make([]byte, pageSize*(int(overflow)+1))
		if _, err := f.ReadAt(p, int64(id)*int64(pageSize)); err != nil {
			t.Fatalf("read page %d: %v", id, err)
		}
	}
	return p
}

// MarkFreelist overwrites the flags of page id of the file at path with
// those of a freelist page, and nothing else: bbolt reading the page as
// part of a tree panics "invalid page type: ID: 10".
func MarkFreelist(t testing.TB, path string, id uint64, pageSize int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var flags [2]byte
	binary.NativeEndian.PutUint16(flags[:], flagFreelist)
	if _, err := f.WriteAt(flags[:], int64(id)*int64(pageSize)+8); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
