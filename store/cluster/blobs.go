package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/postkasse/postkasse/store/storage"
)

// blobStore keeps sealed document content as objects in one bucket.
type blobStore struct {
	client *minio.Client
	bucket string
	// readOnly: Config.ReadOnly; Write fails and nothing is deleted.
	readOnly bool
}

// blobPrefix is where documents' objects live in the bucket.
const blobPrefix = "documents/"

func openBlobs(ctx context.Context, c BlobConfig) (*blobStore, error) {
	if c.Bucket == "" {
		return nil, errors.New("object store: no bucket named")
	}
	client, err := newMinio(c)
	if err != nil {
		return nil, err
	}
	ok, err := client.BucketExists(ctx, c.Bucket)
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && (resp.Code == "InvalidAccessKeyId" || resp.Code == "SignatureDoesNotMatch" || resp.Code == "AccessDenied") {
			return nil, fmt.Errorf("object store at %s: bucket %q: the credentials were refused (%s)", c.Endpoint, c.Bucket, resp.Code)
		}
		return nil, fmt.Errorf("object store at %s: bucket %q: %v", c.Endpoint, c.Bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("object store at %s: bucket %q does not exist (create it first)", c.Endpoint, c.Bucket)
	}
	return &blobStore{client: client, bucket: c.Bucket}, nil
}

type blob struct {
	key  string
	size int64
}

func (b blob) Key() string { return b.key }
func (b blob) Size() int64 { return b.size }

// Write stores content as a new object; the key has a random part, so a
// delivery run again after a refusal never meets its earlier object.
func (s *blobStore) Write(ctx context.Context, letterID string, index int, content io.Reader) (storage.Blob, error) {
	if s.readOnly {
		return nil, ErrReadOnly
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s%s/%d-%s", blobPrefix, letterID, index, hex.EncodeToString(r[:]))
	size := int64(-1)
	if l, ok := content.(interface{ Len() int }); ok {
		size = int64(l.Len())
	}
	info, err := s.client.PutObject(ctx, s.bucket, key, content, size, minio.PutObjectOptions{
		ContentType: "application/octet-stream", DisableContentSha256: true,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: object store: write %s: %v", storage.ErrUnavailable, key, err)
	}
	return blob{key: key, size: info.Size}, nil
}

// Discard deletes objects that no committed transaction attached. A
// failure leaves them to SweepBlobs.
func (s *blobStore) Discard(ctx context.Context, blobs []storage.Blob) {
	keys := make([]string, 0, len(blobs))
	for _, b := range blobs {
		keys = append(keys, b.Key())
	}
	s.removeAll(ctx, keys)
}

func (s *blobStore) removeAll(ctx context.Context, keys []string) {
	if s.readOnly {
		return
	}
	for _, k := range keys {
		_ = s.client.RemoveObject(ctx, s.bucket, k, minio.RemoveObjectOptions{})
	}
}

// open returns a reader of an object. The object is fetched as it is read.
func (s *blobStore) open(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w: object store: read %s: %v", storage.ErrUnavailable, key, err)
	}
	return obj, nil
}

// objects lists the bucket's document objects with their times.
func (s *blobStore) objects(ctx context.Context) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: blobPrefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("%w: object store: list: %v", storage.ErrUnavailable, obj.Err)
		}
		out[obj.Key] = obj.LastModified
	}
	return out, nil
}

// SweepBlobs deletes the objects that no document refers to and that were
// written before olderThan (a grace period that covers the longest
// delivery: a delivery's objects are written before its transaction
// commits), and returns how many it deleted.
func (e *Engine) SweepBlobs(ctx context.Context, olderThan time.Time) (int, error) {
	if e.readOnly {
		return 0, ErrReadOnly
	}
	objects, err := e.blobs.objects(ctx)
	if err != nil {
		return 0, err
	}
	var orphans []string
	err = e.View(ctx, func(t storage.Tx) error {
		attached, err := t.(*tx).strings("documents", `SELECT blob_key FROM documents`)
		if err != nil {
			return err
		}
		for _, k := range attached {
			delete(objects, k)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for k, at := range objects {
		if at.Before(olderThan) && strings.HasPrefix(k, blobPrefix) {
			orphans = append(orphans, k)
		}
	}
	for _, k := range orphans {
		if err := e.blobs.client.RemoveObject(ctx, e.blobs.bucket, k, minio.RemoveObjectOptions{}); err != nil {
			return 0, fmt.Errorf("%w: object store: delete %s: %v", storage.ErrUnavailable, k, err)
		}
	}
	return len(orphans), nil
}
