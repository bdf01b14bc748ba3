//go:build !linux

package experiment

// memBounds lists the memory limits known on this system: none beyond
// what /proc/meminfo says where there is one.
func memBounds() []memBound {
	return []memBound{{memAvailable(), "MemAvailable in /proc/meminfo"}}
}
