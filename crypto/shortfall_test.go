package crypto

import "testing"

// TestShortfall: the work a derivation under p lacks to cost as much as
// one under q (passes × memory), none when it costs as much or more.
func TestShortfall(t *testing.T) {
	t.Parallel()
	cost := func(p KDFParams) uint64 { return uint64(p.Time) * uint64(p.MemoryKiB) }
	for _, tc := range []struct {
		p, q  KDFParams
		short bool
		want  KDFParams
	}{
		{KDFParams{3, 19 * 1024, 1}, KDFParams{3, 64 * 1024, 4}, true, KDFParams{3, 45 * 1024, 4}},
		{KDFParams{1, 64, 1}, KDFParams{2, 64, 1}, true, KDFParams{2, 32, 1}},
		{KDFParams{1, 64, 1}, KDFParams{3, 64, 1}, true, KDFParams{3, 43, 1}},  // rounded up
		{KDFParams{2, 60, 1}, KDFParams{1, 121, 4}, true, KDFParams{1, 32, 4}}, // at least 8 KiB a lane
		{KDFParams{3, 64 * 1024, 4}, KDFParams{3, 64 * 1024, 4}, false, KDFParams{}},
		{KDFParams{4, 64 * 1024, 1}, KDFParams{3, 64 * 1024, 4}, false, KDFParams{}},
	} {
		got, short := tc.p.Shortfall(tc.q)
		if short != tc.short || got != tc.want {
			t.Errorf("%+v.Shortfall(%+v) = %+v, %v; want %+v, %v", tc.p, tc.q, got, short, tc.want, tc.short)
		}
		if short && (!got.valid() || cost(tc.p)+cost(got) < cost(tc.q)) {
			t.Errorf("%+v.Shortfall(%+v) = %+v: invalid, or short of q's cost", tc.p, tc.q, got)
		}
	}
}
