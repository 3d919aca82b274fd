// Package netguard keeps the appliance's outgoing requests to addresses
// that others chose (senders' callback URLs) away from the appliance's
// own network: no server-side request forgery. A host is refused when any
// address it resolves to is not public (loopback, private, link-local,
// unspecified, multicast, shared or reserved), both when the URL is
// registered (Guard.CheckHost) and at every connection (Guard.Control, a
// net.Dialer's Control hook, which sees the address actually dialled, so
// a name that resolves to a public address at registration and to a
// private one later — DNS rebinding — is refused too).
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// ErrNotPublic: the address is not a public one and private addresses
// are not allowed.
var ErrNotPublic = errors.New("not a public address")

// Guard decides which addresses outgoing requests may reach.
type Guard struct {
	// AllowPrivate lets requests reach any address: for an appliance
	// whose senders' systems are on its own network, and for tests. Off
	// by default.
	AllowPrivate bool
	// Resolver resolves host names for CheckHost; nil is
	// net.DefaultResolver.
	Resolver *net.Resolver
}

// notPublic are the ranges besides those netip names (RFC 6890's
// special-purpose registries, the parts that are not globally reachable).
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network" (RFC 791)
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space, carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments (RFC 6890)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking (RFC 2544)
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the limited broadcast address (RFC 1112)
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64 (RFC 6052): may reach IPv4 private addresses
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64 (RFC 8215)
	netip.MustParsePrefix("2002::/16"),       // 6to4 (RFC 3056): embeds any IPv4 address
	netip.MustParsePrefix("2001::/32"),       // Teredo (RFC 4380)
	netip.MustParsePrefix("100::/64"),        // discard-only (RFC 6666)
	netip.MustParsePrefix("fec0::/10"),       // site-local, deprecated (RFC 3879)
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated (RFC 2765)
}

// Public reports whether an address is a public unicast one.
func Public(a netip.Addr) bool {
	a = a.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsMulticast() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// allowed says whether the guard lets a request reach a.
func (g Guard) allowed(a netip.Addr) error {
	if g.AllowPrivate || Public(a) {
		return nil
	}
	return fmt.Errorf("%s: %w", a.Unmap(), ErrNotPublic)
}

// CheckHost resolves a host (a name or an address literal) and returns
// an error wrapping ErrNotPublic when any of its addresses may not be
// reached, or the resolver's error when it resolves to nothing.
func (g Guard) CheckHost(ctx context.Context, host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		return g.allowed(a)
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("resolve %s: no address", host)
	}
	for _, a := range addrs {
		if err := g.allowed(a); err != nil {
			return fmt.Errorf("%s resolves to %w", host, err)
		}
	}
	return nil
}

// Control is a net.Dialer's Control hook: it refuses to connect to an
// address the guard does not allow, whatever name led to it.
func (g Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	if err := g.allowed(ap.Addr()); err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	return nil
}
