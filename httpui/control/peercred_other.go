//go:build !linux

package control

import (
	"errors"
	"net"
)

// errPeerCredUnsupported says the system cannot tell who is connecting;
// the socket's mode (0600) then decides alone.
var errPeerCredUnsupported = errors.New("peer credentials unsupported")

func peerUID(*net.UnixConn) (int, error) { return -1, errPeerCredUnsupported }
