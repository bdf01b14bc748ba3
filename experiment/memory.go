package experiment

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	G "gorgonia.org/gorgonia"

	"github.com/lgm-dev/lgm/data"
)

// graphBytes estimates the memory a graph's values take once it runs: every
// node's value at 4 bytes an element (all lgm graphs are float32). Ops keep
// some scratch beyond that, and Gorgonia shares some buffers, so this is a
// rough figure, good to refuse a batch that cannot fit.
func graphBytes(g *G.ExprGraph) int64 {
	var n int64
	for _, node := range g.AllNodes() {
		if s := node.Shape(); s != nil {
			n += int64(s.TotalSize()) * 4
		}
	}
	return n
}

// memAvailable is the memory the kernel says can be allocated without
// swapping (MemAvailable), or 0 if it cannot tell.
func memAvailable() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// memBound is one limit on the memory this process may still take.
type memBound struct {
	Bytes int64  // what is left under the limit
	What  string // the limit, for messages: "MemAvailable", "the cgroup's memory.max", …
}

// memBoundsFunc lists the limits that apply (tests replace it).
var memBoundsFunc = memBounds

// memLimit is the tightest limit on the memory this process may still
// take: the kernel's MemAvailable, the cgroup's memory.max (less what the
// cgroup uses) and the address-space limit RLIMIT_AS (less what the
// process has mapped), where each is known. Bytes is 0 when none is.
func memLimit() memBound {
	var m memBound
	for _, b := range memBoundsFunc() {
		if b.Bytes > 0 && (m.Bytes == 0 || b.Bytes < m.Bytes) {
			m = b
		}
	}
	return m
}

// checkFits refuses a graph whose values would not fit in the memory the
// process may use, before any of it is allocated.
func checkFits(g *G.ExprGraph, batch int) error {
	need, lim := graphBytes(g), memLimit()
	if lim.Bytes > 0 && need > lim.Bytes*9/10 {
		return fmt.Errorf("a batch of %d needs about %.1f GB for the network's values but %.1f GB of memory is available (%s); lower train.batch",
			batch, float64(need)/1e9, float64(lim.Bytes)/1e9, lim.What)
	}
	return nil
}

// dataBytes estimates the memory a data set takes once loaded (its 8-bit
// pixels as they are), from the sizes of its files. Gzip files report
// their uncompressed size (mod 4 GiB) in their last four bytes. It returns 0
// when it cannot tell (image folders, whose pixels are compressed).
func dataBytes(dataset, dir string) int64 {
	var files []string
	switch dataset {
	case "mnist", "fashion-mnist":
		for _, f := range []string{"train-images-idx3-ubyte", "t10k-images-idx3-ubyte"} {
			files = append(files, filepath.Join(dir, f), filepath.Join(dir, f+".gz"))
		}
	case "cifar10", "cifar100":
		for _, sub := range []string{"", data.CIFAR10Folder, data.CIFAR100Folder} {
			m, _ := filepath.Glob(filepath.Join(dir, sub, "*.bin"))
			files = append(files, m...)
		}
	}
	var n int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil || fi.IsDir() {
			continue
		}
		size := fi.Size()
		if strings.HasSuffix(f, ".gz") && size >= 4 {
			if fh, err := os.Open(f); err == nil {
				var tail [4]byte
				if _, err := fh.ReadAt(tail[:], size-4); err == nil {
					size = int64(binary.LittleEndian.Uint32(tail[:]))
				}
				fh.Close()
			}
		}
		n += size
	}
	return n
}

// checkDataFits refuses a data set that would not fit in the memory the
// process may use, before reading it.
func checkDataFits(dataset, dir string) error {
	need, lim := dataBytes(dataset, dir), memLimit()
	if need > 0 && lim.Bytes > 0 && need > lim.Bytes*9/10 {
		return fmt.Errorf("data set %s in %s needs about %.1f GB of memory but %.1f GB is available (%s); use a machine with more memory or a smaller data set",
			dataset, dir, float64(need)/1e9, float64(lim.Bytes)/1e9, lim.What)
	}
	return nil
}

// imageBudget is the decoded size an image folder's pixels may reach: the
// decoded images and the sets they are copied into are both held for a
// while, so half of nine tenths of the memory the process may use; 0 when
// that is not known.
func imageBudget() int64 {
	return memLimit().Bytes * 9 / 10 / 2
}
