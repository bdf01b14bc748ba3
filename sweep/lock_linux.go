package sweep

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/lgm-dev/lgm/experiment"
)

// lockHolder says whether another process holds the lock of the run
// directory dir (experiment.LockFile, taken with flock by lgm train), and
// its pid. It only reads: /proc/locks lists every lock held on the system
// by device and inode, so no lock is taken to find out (a dry run must not
// disturb a run that starts meanwhile). Where /proc/locks cannot be read it
// falls back to trying a shared lock for an instant.
func lockHolder(dir string) (pid int, held bool) {
	path := filepath.Join(dir, experiment.LockFile)
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return 0, false // no lock file: nothing ever trained here, or not on Unix
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return probeLock(path)
	}
	defer f.Close()
	dev := uint64(st.Dev)
	// Linux's encoding of dev_t (new_encode_dev): /proc/locks prints the
	// major and minor numbers in hex and the inode in decimal.
	major := (dev>>8)&0xfff | (dev>>32)&^0xfff
	minor := dev&0xff | (dev>>12)&^0xff
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, st.Ino)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 1: FLOCK  ADVISORY  WRITE 9136 fe:00:5308729 0 EOF
		// 1: -> FLOCK ADVISORY WRITE …   (a process waiting for the lock)
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] == "->" || fields[5] != want {
			continue
		}
		pid, _ = strconv.Atoi(fields[4])
		return pid, true
	}
	return 0, false
}
