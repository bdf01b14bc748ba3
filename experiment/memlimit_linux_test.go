//go:build linux

package experiment

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCgroupAndAddressSpaceLimits: what is left under cgroup v2's
// memory.max (the least over the process's cgroup and its ancestors), under
// cgroup v1's limit, and under RLIMIT_AS, from files laid out as the kernel
// does.
func TestCgroupAndAddressSpaceLimits(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/b/memory.max", "max\n")
	write("a/b/memory.current", "100\n")
	write("a/memory.max", "1000\n")
	write("a/memory.current", "400\n")
	write("memory.max", "max\n") // the root has none in practice
	write("v1/memory.limit_in_bytes", "9223372036854771712\n")
	write("v1/memory.usage_in_bytes", "5000\n")
	write("v1l/memory.limit_in_bytes", "6442450944\n")
	write("v1l/memory.usage_in_bytes", "1000000000\n")
	for _, c := range []struct {
		name   string
		got    func() (int64, bool)
		want   int64
		wantOK bool
	}{
		{"v2 parent's max", func() (int64, bool) { return cgroupV2Left(root, "1:name=systemd:/x\n0::/a/b\n") }, 600, true},
		{"v2 no limit", func() (int64, bool) { return cgroupV2Left(root, "0::/\n") }, 0, false},
		{"v2 not mounted", func() (int64, bool) { return cgroupV2Left(root, "4:memory:/a\n") }, 0, false},
		{"v1 unlimited", func() (int64, bool) { return cgroupV1Left(filepath.Join(root, "v1")) }, 0, false},
		{"v1 6 GiB", func() (int64, bool) { return cgroupV1Left(filepath.Join(root, "v1l")) }, 6442450944 - 1000000000, true},
		{"RLIMIT_AS infinity", func() (int64, bool) { return addressSpaceLeft(^uint64(0), 1<<20) }, 0, false},
		{"RLIMIT_AS 6 GiB", func() (int64, bool) { return addressSpaceLeft(6<<30, 1<<20) }, 5 << 30, true},
	} {
		if got, ok := c.got(); got != c.want || ok != c.wantOK {
			t.Errorf("case %s: got %d, %v; want %d, %v", c.name, got, ok, c.want, c.wantOK)
		}
	}
}
