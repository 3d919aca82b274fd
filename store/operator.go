package store

import (
	"context"
	"strconv"
)

// The operator's commands (adding senders, blocks, holds, deaths, terms,
// answers to support requests) are audited under the actor "operator",
// with the Unix user who gave the command when the caller knows it:
// "operator:uid=1000". The control socket knows its peer's user from the
// kernel (SO_PEERCRED), a command run on the folder directly its own.

type operatorKey struct{}

// WithOperatorUID returns ctx naming the Unix user uid as the operator
// of the commands run with it.
func WithOperatorUID(ctx context.Context, uid int) context.Context {
	return context.WithValue(ctx, operatorKey{}, uid)
}

// operatorActor is the audit actor of an operator's command run with ctx.
func operatorActor(ctx context.Context) string {
	if uid, ok := ctx.Value(operatorKey{}).(int); ok {
		return "operator:uid=" + strconv.Itoa(uid)
	}
	return "operator"
}
