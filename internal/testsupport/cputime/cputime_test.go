package cputime

import (
	"crypto/sha256"
	"runtime"
	"testing"
)

// TestProcessGrows checks that work on the CPU shows in the reading, on
// the platforms that report it.
func TestProcessGrows(t *testing.T) {
	before, ok := Process()
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("no CPU time on linux")
		}
		return
	}
	buf := make([]byte, 1<<20)
	for {
		for range 64 {
			sha256.Sum256(buf)
		}
		after, _ := Process()
		if after > before {
			return
		}
	}
}
