//go:build linux

package experiment

import (
	"bufio"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// memBounds lists the memory limits that apply to this process on Linux.
func memBounds() []memBound {
	bounds := []memBound{{memAvailable(), "MemAvailable in /proc/meminfo"}}
	if raw, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		if b, ok := cgroupV2Left("/sys/fs/cgroup", string(raw)); ok {
			bounds = append(bounds, memBound{b, "the cgroup's memory.max"})
		}
	}
	if b, ok := cgroupV1Left("/sys/fs/cgroup/memory"); ok {
		bounds = append(bounds, memBound{b, "the cgroup's memory.limit_in_bytes"})
	}
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &r); err == nil {
		if b, ok := addressSpaceLeft(r.Cur, procStatusKB("VmSize:")); ok {
			bounds = append(bounds, memBound{b, "the address-space limit RLIMIT_AS (ulimit -v)"})
		}
	}
	return bounds
}

// cgroupV2Left is what the cgroup v2 hierarchy mounted at root lets the
// process of /proc/self/cgroup contents procCgroup still take: the least,
// over its cgroup and their ancestors, of memory.max less memory.current.
func cgroupV2Left(root, procCgroup string) (int64, bool) {
	var rel string
	found := false
	for _, line := range strings.Split(procCgroup, "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			rel, found = p, true
		}
	}
	if !found {
		return 0, false
	}
	left, ok := int64(0), false
	for dir := path.Clean("/" + rel); ; dir = path.Dir(dir) {
		d := filepath.Join(root, filepath.FromSlash(dir))
		limit, limitOK := readInt(filepath.Join(d, "memory.max"))
		cur, curOK := readInt(filepath.Join(d, "memory.current"))
		if limitOK && curOK && (!ok || limit-cur < left) {
			left, ok = max(limit-cur, 1), true
		}
		if dir == "/" {
			return left, ok
		}
	}
}

// cgroupV1Left is what a cgroup v1 memory controller mounted at dir still
// allows: memory.limit_in_bytes less memory.usage_in_bytes, unless the
// limit is the "unlimited" value (about 2^63).
func cgroupV1Left(dir string) (int64, bool) {
	limit, ok1 := readInt(filepath.Join(dir, "memory.limit_in_bytes"))
	usage, ok2 := readInt(filepath.Join(dir, "memory.usage_in_bytes"))
	if !ok1 || !ok2 || limit >= 1<<62 {
		return 0, false
	}
	return max(limit-usage, 1), true
}

// addressSpaceLeft is what an address-space limit of cur bytes leaves to a
// process that has vmKB kB mapped (RLIM_INFINITY: no limit).
func addressSpaceLeft(cur uint64, vmKB int64) (int64, bool) {
	if cur == ^uint64(0) || cur >= 1<<62 {
		return 0, false
	}
	return max(int64(cur)-vmKB*1024, 1), true
}

// procStatusKB reads a "Key:   123 kB" line of /proc/self/status, or 0.
func procStatusKB(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == key {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb
		}
	}
	return 0
}

// readInt reads a file holding one integer ("max" or anything else: false).
func readInt(p string) (int64, bool) {
	raw, err := os.ReadFile(p)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	return n, err == nil
}
