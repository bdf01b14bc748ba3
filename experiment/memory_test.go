package experiment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgm-dev/lgm/data"
)

func TestDataBytesFromFileSizes(t *testing.T) {
	dir, err := data.MNISTDir()
	if err != nil {
		t.Skipf("MNIST not found: %v", err)
	}
	// 70000 images of 784 bytes plus the two 16-byte headers.
	if got, want := dataBytes("mnist", dir), int64(70000*784+32); got != want {
		t.Errorf("got %d, want %d", got, want)
	}
}

// TestHugeDataSetRefused makes a sparse CIFAR file far larger than memory:
// it is refused before anything is read.
func TestHugeDataSetRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), data.CIFAR10Folder)
	os.MkdirAll(dir, 0o755)
	f, err := os.Create(filepath.Join(dir, "data_batch_1.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil { // 1 TB, sparse
		t.Skipf("cannot make a sparse file here: %v", err)
	}
	f.Close()
	cfg := Default()
	cfg.Data = DataConfig{Dataset: "cifar10", Dir: filepath.Dir(dir)}
	if _, _, err := loadData(cfg, nil); err == nil || !strings.Contains(err.Error(), "GB of memory") {
		t.Errorf("got %v, want a refusal naming the memory needed", err)
	}
}
