package experiment

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	G "gorgonia.org/gorgonia"
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

// checkFits refuses a graph whose values would not fit in the memory
// available, before any of it is allocated.
func checkFits(g *G.ExprGraph, batch int) error {
	need, avail := graphBytes(g), memAvailable()
	if avail > 0 && need > avail*9/10 {
		return fmt.Errorf("a batch of %d needs about %.1f GB for the network's values but %.1f GB of memory is available; lower train.batch",
			batch, float64(need)/1e9, float64(avail)/1e9)
	}
	return nil
}
