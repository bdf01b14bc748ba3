package experiment

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withBounds makes memLimit see bounds for the rest of the test.
func withBounds(t *testing.T, bounds ...memBound) {
	old := memBoundsFunc
	memBoundsFunc = func() []memBound { return bounds }
	t.Cleanup(func() { memBoundsFunc = old })
}

// TestMemoryChecksUseTheTightestLimit: the batch check holds a graph to
// the tightest of the limits that apply, naming it: under a 6 GiB
// address-space cap a LeNet batch of 65536 is refused before anything is
// allocated, though MemAvailable says 200 GB (before, it passed the check
// and died with "fatal error: out of memory").
func TestMemoryChecksUseTheTightestLimit(t *testing.T) {
	withBounds(t, memBound{200e9, "MemAvailable in /proc/meminfo"}, memBound{0, "the cgroup's memory.max"},
		memBound{6 << 30, "the address-space limit RLIMIT_AS (ulimit -v)"})
	if got := memLimit(); got.Bytes != 6<<30 || !strings.Contains(got.What, "RLIMIT_AS") {
		t.Errorf("memLimit: got %+v, want the 6 GiB RLIMIT_AS", got)
	}
	cfg := smallConfig()
	cfg.Train.Batch = 65536
	ss, err := newSession(cfg, shape{B: 65536, C: 1, H: 28, W: 28, K: 10}, true)
	if err == nil {
		ss.close()
	}
	if err == nil || !strings.Contains(err.Error(), "a batch of 65536 needs about") || !strings.Contains(err.Error(), "(the address-space limit RLIMIT_AS (ulimit -v)); lower train.batch") {
		t.Errorf("batch 65536 under a 6 GiB cap: got %v, want a refusal naming RLIMIT_AS", err)
	}
}

// TestImageFolderHeldToTheMemoryBudget: an image folder whose decoded
// pixels would pass half of nine tenths of the memory the process may use
// is refused before the image that passes it is decoded, naming the limit.
func TestImageFolderHeldToTheMemoryBudget(t *testing.T) {
	withBounds(t, memBound{32 << 20, "the cgroup's memory.max"}) // budget 15.1 MB
	m := image.NewRGBA(image.Rect(0, 0, 1024, 1024))             // 3 MB decoded
	for i := 3; i < len(m.Pix); i += 4 {
		m.Pix[i] = 255
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"test/a/1.png", "train/a/1.png", "train/a/2.png", "train/a/3.png", "train/a/4.png", "train/a/5.png", "train/a/6.png"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Default()
	cfg.Data = DataConfig{Dataset: "folder", Dir: dir}
	_, _, err := loadData(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "the 5 images up to") || !strings.Contains(err.Error(), "more than the 15.1 MB this data set may use") {
		t.Errorf("got %v, want a refusal at the 5th image naming the 15.1 MB budget", err)
	}
}
