package control

import (
	"errors"
	"net"

	"golang.org/x/sys/unix"
)

// errPeerCredUnsupported says the system cannot tell who is connecting;
// the socket's mode (0600) then decides alone.
var errPeerCredUnsupported = errors.New("peer credentials unsupported")

// peerUID returns the user id of the process at the other end of c
// (SO_PEERCRED, unix(7)).
func peerUID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return -1, err
	}
	if credErr != nil {
		return -1, credErr
	}
	return int(cred.Uid), nil
}
