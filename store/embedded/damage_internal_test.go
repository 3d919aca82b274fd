package embedded

import "testing"

// TestFuncPackage: the package of a function as runtime.Frame names it,
// and whether it is Go's own (panicOrigin's rule skips those to find the
// code that raised a panic): a method, a closure, a generic function whose
// type arguments hold other paths, the standard library's and a
// program's main.
func TestFuncPackage(t *testing.T) {
	tests := []struct {
		name, pkg   string
		std, bbolts bool
	}{
		{"go.etcd.io/bbolt.(*Cursor).search", "go.etcd.io/bbolt", false, true},
		{"go.etcd.io/bbolt/internal/common.Assert", "go.etcd.io/bbolt/internal/common", false, true},
		{"go.etcd.io/bbolt.(*Bucket).ForEach.func1", "go.etcd.io/bbolt", false, true},
		{"go.etcd.io/bboltx.Open", "go.etcd.io/bboltx", false, false},
		{"github.com/postkasse/postkasse/store/embedded.(*table[...]).check", "github.com/postkasse/postkasse/store/embedded", false, false},
		{"github.com/postkasse/postkasse/store/embedded.metaTx.All.func1", "github.com/postkasse/postkasse/store/embedded", false, false},
		{"example.com/a.Map[go.shape.struct { example.com/b.T }]", "example.com/a", false, false},
		{"sort.Search", "sort", true, false},
		{"internal/bytealg.Compare", "internal/bytealg", true, false},
		{"runtime.panicIndex", "runtime", true, false},
		{"main.run", "main", false, false},
	}
	for _, tt := range tests {
		pkg := funcPackage(tt.name)
		if pkg != tt.pkg || standardLibrary(pkg) != tt.std || inBbolt(pkg) != tt.bbolts {
			t.Errorf("%s: package %q, Go's own %v, bbolt's %v; want %q, %v, %v", tt.name, pkg, standardLibrary(pkg), inBbolt(pkg), tt.pkg, tt.std, tt.bbolts)
		}
	}
}
