// Package cputime reads the process's CPU time for the benchmarks that
// report CPU per operation (store's and the sender API's delivery
// benchmarks, crypto's, the resident pages' load). It imports nothing of
// the project, so every package's tests can use it, crypto's included.
package cputime

import "time"

// Process returns the CPU time (user and system) the process has used so
// far, and whether the platform reports it.
func Process() (time.Duration, bool) { return process() }
