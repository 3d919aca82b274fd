// Package lazyfs is a filesystem for tests that loses, when the power is
// cut, everything that was not synced: a disk behind a volatile cache, in
// the manner of Jepsen's LazyFS. A process killed with SIGKILL leaves the
// operating system's page cache behind, so a crash test passes with a
// missing fsync; on lazyfs a missing fsync loses data.
//
// The filesystem lives in memory and is served through FUSE
// (github.com/hanwen/go-fuse/v2) at a folder the test chooses. It needs
// /dev/fuse and the right to mount, which root has; Mount fails the test
// otherwise.
//
// # The model
//
// Every regular file has two contents: the durable one, which survives a
// cut, and the one reads see, which is the durable one with every write
// and size change since (the page cache). fsync and fdatasync of the file
// (FUSE's FSYNC, with or without its datasync flag) make all of the file's
// content durable; nothing else does, and nothing is ever written back in
// the background.
//
// Every folder likewise has two lists of names: the durable one and the
// one lookups see. Creating, renaming and removing a name (a file, a
// folder, a Unix socket) change only the list lookups see; fsync of the
// folder (FUSE's FSYNCDIR) makes its whole list durable, as it stands, in
// one step. So a new file survives a cut only when its content was synced
// and its folder was synced after it was created; a rename only when both
// folders were synced after it. This is what POSIX promises and no more:
// ext4 and XFS often persist more (a file's own fsync commits its
// directory entry in the same journal transaction), so a program that
// passes here is safe there, but not always the other way round.
// Permissions and times are kept but are not part of the model: they are
// never lost. There are regular files, folders, and sockets, FIFOs and
// devices (names without content); no hard or symbolic links, no
// extended attributes.
//
// Cut is the power cut: it unmounts the filesystem (the caller ends the
// processes that use it first), replaces every content and list by its
// durable one, and mounts it again, so the kernel starts with an empty
// cache, as after a reboot.
//
// The kernel is asked to cache nothing that would hide the model: entries
// and attributes expire at once. Reads, and mmap (bbolt reads its file
// through one), go through the kernel's page cache of the mount, which
// writes update (FUSE writes through, without a write-back cache), so they
// see what was written.
//
// # The page cache
//
// The kernel must never drop a file's cached pages while the mount lives
// (a Cut mounts afresh, with an empty cache). It marks a fully written
// page up to date and unlocks it before it sends the WRITE; dropped in
// that window (FUSE_AUTO_INVAL_DATA drops the cache whenever a refresh of
// the attributes finds another mtime, which every read and fstat of the
// file asks for; an open without FOPEN_KEEP_CACHE drops it too), the page
// is read again, by a read ahead or a fault of a memory map, from the
// filesystem, which has not had the WRITE yet: the page's old content is
// cached, and a later read sees it, not what was written
// (TestReadAfterWrite). bbolt then read, through its mmap, a page it had
// just written as it was before: "invalid page type" panics, and files
// whose trees point at stale pages, in the power-cut test's backup rounds.
// Nothing but this mount changes the files, so the cache is never stale
// unless dropped: the mount asks for explicit cache control (no
// auto_inval_data) and Open keeps the cache.
//
// A process must not read a lazyfs file through mmap when that process
// serves the filesystem: a thread that faults on such a page waits for
// the serving goroutines, which the Go runtime may have stopped. Run such
// readers as child processes, or copy the files out first.
package lazyfs

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// pageSize is the granularity with which unsynced changes are tracked.
const pageSize = 4096

// FS is a mounted lazyfs.
type FS struct {
	dir string

	// mu guards the content and lists of every file and folder below.
	mu     sync.Mutex
	root   *folder
	server *fuse.Server
	// syncs counts fsyncs of files and folders, for the tests.
	syncs int
}

// file is a regular file's contents.
type file struct {
	mode    uint32
	mtime   time.Time
	data    []byte // what reads see
	durable []byte // what survives a cut
	// dirty holds the pages of data that may differ from durable.
	dirty map[int64]bool
}

// folder is a folder's durable list of names; the list lookups see is
// go-fuse's tree of the mounted Inodes.
type folder struct {
	mode    uint32
	mtime   time.Time
	durable map[string]any // *file, *folder or *special
}

// special is a Unix socket, a FIFO or a device: a name with no content.
type special struct {
	mode uint32
	rdev uint32
}

// Mount mounts an empty lazyfs at dir, which must be an empty folder, and
// unmounts it when the test ends. Its root has dir's permissions.
func Mount(t testing.TB, dir string) *FS {
	t.Helper()
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("lazyfs: %v", err)
	}
	fsys := &FS{dir: dir, root: &folder{mode: uint32(info.Mode().Perm()), mtime: time.Now(), durable: map[string]any{}}}
	if err := fsys.mount(); err != nil {
		t.Fatalf("lazyfs: mount at %s: %v (the test needs /dev/fuse and the right to mount: run it as root)", dir, err)
	}
	t.Cleanup(func() {
		if err := fsys.unmount(); err != nil {
			t.Errorf("lazyfs: unmount %s: %v", dir, err)
		}
	})
	return fsys
}

// Dir returns the folder where the filesystem is mounted.
func (fsys *FS) Dir() string { return fsys.dir }

// Cut cuts the power: it unmounts the filesystem, throws away everything
// that was not synced, and mounts what is left at the same folder. Every
// process that has files of the filesystem open must have ended.
func (fsys *FS) Cut() error {
	if err := fsys.unmount(); err != nil {
		return fmt.Errorf("lazyfs: cut: %w", err)
	}
	fsys.mu.Lock()
	fsys.root.revert()
	fsys.mu.Unlock()
	if err := fsys.mount(); err != nil {
		return fmt.Errorf("lazyfs: mount after the cut: %w", err)
	}
	return nil
}

// Syncs says how many fsyncs of files and folders the filesystem has
// answered.
func (fsys *FS) Syncs() int {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	return fsys.syncs
}

func (fsys *FS) mount() error {
	zero := time.Duration(0)
	root := &folderNode{fsys: fsys, f: fsys.root}
	server, err := fs.Mount(fsys.dir, root, &fs.Options{
		OnAdd: func(ctx context.Context) {
			fsys.mu.Lock()
			defer fsys.mu.Unlock()
			root.addDurable(ctx)
		},
		EntryTimeout:    &zero,
		AttrTimeout:     &zero,
		NegativeTimeout: &zero,
		MountOptions: fuse.MountOptions{
			FsName:            "lazyfs",
			Name:              "lazyfs",
			DirectMountStrict: true,
			DisableXAttrs:     true,
			// No FUSE_AUTO_INVAL_DATA: every change goes through this
			// mount's page cache, so it is never stale, and dropping it
			// is what makes it stale (see "The page cache" above).
			ExplicitDataCacheControl: true,
		},
	})
	if err != nil {
		return err
	}
	fsys.server = server
	return nil
}

// unmount unmounts the filesystem, waiting a little for processes that
// are still letting go of it.
func (fsys *FS) unmount() error {
	if fsys.server == nil {
		return nil
	}
	var err error
	for range 50 {
		if err = fsys.server.Unmount(); err == nil {
			fsys.server.Wait()
			fsys.server = nil
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// revert replaces the folder's list, and the content of every file in
// it, by the durable ones, down the tree. The caller holds fsys.mu.
func (f *folder) revert() {
	for _, c := range f.durable {
		switch c := c.(type) {
		case *file:
			c.data = append([]byte(nil), c.durable...)
			c.dirty = nil
		case *folder:
			c.revert()
		}
	}
}

// markDirty notes that the bytes [from, to) of the file may differ from
// its durable content.
func (f *file) markDirty(from, to int64) {
	if f.dirty == nil {
		f.dirty = map[int64]bool{}
	}
	for p := from / pageSize; p*pageSize < to; p++ {
		f.dirty[p] = true
	}
}

// resize sets the size of the content reads see.
func (f *file) resize(size int64) {
	old := int64(len(f.data))
	switch {
	case size < old:
		f.data = f.data[:size]
		f.markDirty(size, old)
	case size > old:
		f.data = append(f.data, make([]byte, size-old)...)
		f.markDirty(old, size)
	}
}

// sync makes the file's content durable.
func (f *file) sync() {
	size := int64(len(f.data))
	if int64(len(f.durable)) > size {
		f.durable = f.durable[:size]
	}
	if n := int64(len(f.durable)); n < size {
		f.durable = append(f.durable, f.data[n:]...)
	}
	for p := range f.dirty {
		from := p * pageSize
		if from >= size {
			continue
		}
		copy(f.durable[from:min(from+pageSize, size)], f.data[from:])
	}
	f.dirty = nil
}

func (f *file) attr(out *fuse.Attr) {
	out.Mode = syscall.S_IFREG | f.mode&0o7777
	out.Size = uint64(len(f.data))
	out.Blocks = (out.Size + 511) / 512
	out.Blksize = pageSize
	out.SetTimes(nil, &f.mtime, &f.mtime)
}

// folderNode is a mounted folder.
type folderNode struct {
	fs.Inode
	fsys *FS
	f    *folder
}

// fileNode is a mounted regular file.
type fileNode struct {
	fs.Inode
	fsys *FS
	f    *file
}

// specialNode is a mounted socket, FIFO or device.
type specialNode struct {
	fs.Inode
	fsys *FS
	s    *special
}

var (
	_ fs.NodeGetattrer = (*folderNode)(nil)
	_ fs.NodeSetattrer = (*folderNode)(nil)
	_ fs.NodeCreater   = (*folderNode)(nil)
	_ fs.NodeMkdirer   = (*folderNode)(nil)
	_ fs.NodeMknoder   = (*folderNode)(nil)
	_ fs.NodeUnlinker  = (*folderNode)(nil)
	_ fs.NodeRmdirer   = (*folderNode)(nil)
	_ fs.NodeRenamer   = (*folderNode)(nil)
	_ fs.NodeFsyncer   = (*folderNode)(nil)
	_ fs.NodeGetattrer = (*fileNode)(nil)
	_ fs.NodeSetattrer = (*fileNode)(nil)
	_ fs.NodeOpener    = (*fileNode)(nil)
	_ fs.NodeReader    = (*fileNode)(nil)
	_ fs.NodeWriter    = (*fileNode)(nil)
	_ fs.NodeFsyncer   = (*fileNode)(nil)
	_ fs.NodeFlusher   = (*fileNode)(nil)
	_ fs.NodeGetattrer = (*specialNode)(nil)
)

// addDurable adds the folder's durable list to go-fuse's tree, down the
// tree: when the filesystem is mounted, what lookups see is what is
// durable. The caller holds fsys.mu.
func (n *folderNode) addDurable(ctx context.Context) {
	for name, c := range n.f.durable {
		child := n.fsys.newNode(ctx, &n.Inode, c)
		n.AddChild(name, child, false)
		if fn, ok := child.Operations().(*folderNode); ok {
			fn.addDurable(ctx)
		}
	}
}

// newNode returns a persistent Inode for a file, folder or special
// entry: the tree of Inodes is the lists lookups see, so the kernel
// forgetting an Inode must not remove it.
func (fsys *FS) newNode(ctx context.Context, parent *fs.Inode, c any) *fs.Inode {
	switch c := c.(type) {
	case *file:
		return parent.NewPersistentInode(ctx, &fileNode{fsys: fsys, f: c}, fs.StableAttr{Mode: syscall.S_IFREG})
	case *folder:
		return parent.NewPersistentInode(ctx, &folderNode{fsys: fsys, f: c}, fs.StableAttr{Mode: syscall.S_IFDIR})
	case *special:
		return parent.NewPersistentInode(ctx, &specialNode{fsys: fsys, s: c}, fs.StableAttr{Mode: c.mode & syscall.S_IFMT})
	}
	panic(fmt.Sprintf("lazyfs: node of type %T", c))
}

// entry returns what a mounted Inode stands for.
func entry(in *fs.Inode) any {
	switch n := in.Operations().(type) {
	case *fileNode:
		return n.f
	case *folderNode:
		return n.f
	case *specialNode:
		return n.s
	}
	return nil
}

func (n *folderNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fsys.mu.Lock()
	defer n.fsys.mu.Unlock()
	out.Mode = syscall.S_IFDIR | n.f.mode&0o7777
	out.SetTimes(nil, &n.f.mtime, &n.f.mtime)
	return 0
}

func (n *folderNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	n.fsys.mu.Lock()
	if mode, ok := in.GetMode(); ok {
		n.f.mode = mode & 0o7777
	}
	if mtime, ok := in.GetMTime(); ok {
		n.f.mtime = mtime
	}
	n.fsys.mu.Unlock()
	return n.Getattr(ctx, fh, out)
}

func (n *folderNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if child := n.GetChild(name); child != nil {
		if flags&syscall.O_EXCL != 0 {
			return nil, nil, 0, syscall.EEXIST
		}
		fn, ok := child.Operations().(*fileNode)
		if !ok {
			return nil, nil, 0, syscall.EISDIR
		}
		_, _, errno := fn.Open(ctx, flags)
		n.fsys.mu.Lock()
		fn.f.attr(&out.Attr)
		n.fsys.mu.Unlock()
		return child, nil, 0, errno
	}
	n.fsys.mu.Lock()
	f := &file{mode: mode & 0o7777, mtime: time.Now()}
	f.attr(&out.Attr)
	n.f.mtime = f.mtime
	n.fsys.mu.Unlock()
	return n.fsys.newNode(ctx, &n.Inode, f), nil, 0, 0
}

func (n *folderNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if n.GetChild(name) != nil {
		return nil, syscall.EEXIST
	}
	n.fsys.mu.Lock()
	f := &folder{mode: mode & 0o7777, mtime: time.Now(), durable: map[string]any{}}
	out.Mode = syscall.S_IFDIR | f.mode
	n.f.mtime = f.mtime
	n.fsys.mu.Unlock()
	return n.fsys.newNode(ctx, &n.Inode, f), 0
}

func (n *folderNode) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if n.GetChild(name) != nil {
		return nil, syscall.EEXIST
	}
	s := &special{mode: mode, rdev: dev}
	if mode&syscall.S_IFMT == syscall.S_IFREG {
		f := &file{mode: mode & 0o7777, mtime: time.Now()}
		n.fsys.mu.Lock()
		f.attr(&out.Attr)
		n.fsys.mu.Unlock()
		return n.fsys.newNode(ctx, &n.Inode, f), 0
	}
	out.Mode = mode
	out.Rdev = dev
	return n.fsys.newNode(ctx, &n.Inode, s), 0
}

// Unlink and Rmdir change only go-fuse's tree, which removes the name
// when they answer 0.
func (n *folderNode) Unlink(ctx context.Context, name string) syscall.Errno {
	child := n.GetChild(name)
	if child == nil {
		return syscall.ENOENT
	}
	if _, ok := child.Operations().(*folderNode); ok {
		return syscall.EISDIR
	}
	return 0
}

func (n *folderNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	child := n.GetChild(name)
	if child == nil {
		return syscall.ENOENT
	}
	if _, ok := child.Operations().(*folderNode); !ok {
		return syscall.ENOTDIR
	}
	if len(child.Children()) > 0 {
		return syscall.ENOTEMPTY
	}
	return 0
}

// Rename checks the move; go-fuse's tree makes it when it answers 0.
func (n *folderNode) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	child := n.GetChild(name)
	if child == nil {
		return syscall.ENOENT
	}
	target := newParent.EmbeddedInode().GetChild(newName)
	switch {
	case flags&^renameNoReplace != 0:
		return syscall.EINVAL
	case target == nil:
		return 0
	case flags&renameNoReplace != 0:
		return syscall.EEXIST
	}
	_, childIsFolder := child.Operations().(*folderNode)
	_, targetIsFolder := target.Operations().(*folderNode)
	switch {
	case childIsFolder && !targetIsFolder:
		return syscall.ENOTDIR
	case !childIsFolder && targetIsFolder:
		return syscall.EISDIR
	case targetIsFolder && len(target.Children()) > 0:
		return syscall.ENOTEMPTY
	}
	return 0
}

// Fsync of a folder (FSYNCDIR) makes its list of names durable as lookups
// see it now.
func (n *folderNode) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	children := n.Children()
	n.fsys.mu.Lock()
	defer n.fsys.mu.Unlock()
	n.f.durable = make(map[string]any, len(children))
	for name, in := range children {
		if c := entry(in); c != nil {
			n.f.durable[name] = c
		}
	}
	n.fsys.syncs++
	return 0
}

func (n *fileNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fsys.mu.Lock()
	defer n.fsys.mu.Unlock()
	n.f.attr(&out.Attr)
	return 0
}

func (n *fileNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	n.fsys.mu.Lock()
	defer n.fsys.mu.Unlock()
	if size, ok := in.GetSize(); ok {
		n.f.resize(int64(size))
		n.f.mtime = time.Now()
	}
	if mode, ok := in.GetMode(); ok {
		n.f.mode = mode & 0o7777
	}
	if mtime, ok := in.GetMTime(); ok {
		n.f.mtime = mtime
	}
	n.f.attr(&out.Attr)
	return 0
}

// Open keeps the file's cached pages (FOPEN_KEEP_CACHE: see "The page
// cache" above), and truncates for O_TRUNC.
func (n *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_TRUNC != 0 {
		n.fsys.mu.Lock()
		n.f.resize(0)
		n.f.mtime = time.Now()
		n.fsys.mu.Unlock()
	}
	return nil, fuse.FOPEN_KEEP_CACHE, 0
}

func (n *fileNode) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n.fsys.mu.Lock()
	defer n.fsys.mu.Unlock()
	if off >= int64(len(n.f.data)) {
		return fuse.ReadResultData(nil), 0
	}
	// A copy: the answer is sent after the lock is let go.
	k := copy(dest, n.f.data[off:])
	return fuse.ReadResultData(dest[:k]), 0
}

func (n *fileNode) Write(ctx context.Context, fh fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	n.fsys.mu.Lock()
	defer n.fsys.mu.Unlock()
	end := off + int64(len(data))
	if end > int64(len(n.f.data)) {
		n.f.resize(end)
	}
	copy(n.f.data[off:], data)
	n.f.markDirty(off, end)
	n.f.mtime = time.Now()
	return uint32(len(data)), 0
}

// Fsync of a file, with or without FUSE's datasync flag, makes its
// content durable.
func (n *fileNode) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	n.fsys.mu.Lock()
	defer n.fsys.mu.Unlock()
	n.f.sync()
	n.fsys.syncs++
	return 0
}

// Flush is close(2): it syncs nothing.
func (n *fileNode) Flush(ctx context.Context, fh fs.FileHandle) syscall.Errno { return 0 }

func (n *specialNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fsys.mu.Lock()
	defer n.fsys.mu.Unlock()
	out.Mode = n.s.mode
	out.Rdev = n.s.rdev
	return 0
}

func (n *specialNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	n.fsys.mu.Lock()
	if mode, ok := in.GetMode(); ok {
		n.s.mode = n.s.mode&syscall.S_IFMT | mode&0o7777
	}
	n.fsys.mu.Unlock()
	return n.Getattr(ctx, fh, out)
}

// renameNoReplace is renameat2(2)'s RENAME_NOREPLACE.
const renameNoReplace = 0x1
