//go:build !unix

package cputime

import "time"

// process reports that this platform's CPU time is not measured.
func process() (time.Duration, bool) { return 0, false }
