package experiment

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgm-dev/lgm/data"
)

// TestDataNameValidate: data.name labels folder data sets only, and only
// as a data set lgm knows.
func TestDataNameValidate(t *testing.T) {
	for _, c := range []struct {
		dataset, name, want string
	}{
		{"folder", "cifar10", ""},
		{"folder", "", ""},
		{"cifar10", "cifar10", "data.name labels a folder data set (data.dataset folder); data.dataset cifar10 names its data itself"},
		{"folder", "imagenet", `data.name must be one of cifar10, cifar100, fashion-mnist, mnist (got "imagenet")`},
	} {
		cfg := Default()
		cfg.Data.Dataset, cfg.Data.Name = c.dataset, c.name
		err := cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s/%s: %v", c.dataset, c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s/%s: got %v, want %q", c.dataset, c.name, err, c.want)
		}
	}
}

// TestCheckFolderIs: a folder labelled CIFAR-10 must hold what CIFAR-10
// holds; the error names each difference and the way out.
func TestCheckFolderIs(t *testing.T) {
	set := func(n, c, h, w, k int) *data.Set { return &data.Set{N: n, C: c, H: h, W: w, Classes: k} }
	if err := checkFolderIs("cifar10", "/d", set(50000, 3, 32, 32, 10), set(10000, 3, 32, 32, 10)); err != nil {
		t.Errorf("CIFAR-10's shape refused: %v", err)
	}
	err := checkFolderIs("cifar10", "/d", set(60000, 1, 28, 28, 10), set(10000, 1, 28, 28, 10))
	for _, w := range []string{"data.name says /d holds CIFAR-10", "1×28×28 images, not 3×32×32", "60000 training and 10000 test images, not 50000 and 10000", "remove data.name"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("got %v, want it to say %q", err, w)
		}
	}
	err = checkFolderIs("cifar100", "/d", set(50000, 3, 32, 32, 10), set(10000, 3, 32, 32, 10))
	if err == nil || !strings.Contains(err.Error(), "10 classes, not 100") {
		t.Errorf("got %v, want 10 classes, not 100", err)
	}
}

// TestDataNameIsALabel: data.name added by hand to a trained run's
// config.yaml is no edit that a resume refuses, and the resume keeps it;
// the report then names the data set by it.
func TestDataNameIsALabel(t *testing.T) {
	cfg := smallConfig()
	cfg.Data.Dataset = "folder"
	opts, path, orig := trainOneEpoch(t, cfg)
	dir := opts.Out
	labelled := strings.Replace(string(orig), "    dataset: folder\n", "    dataset: folder\n    name: mnist\n", 1)
	if labelled == string(orig) {
		t.Fatalf("no data.dataset line in\n%s", orig)
	}
	if err := os.WriteFile(path, []byte(labelled), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := ReadReportRun(context.Background(), dir, ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Dataset != "mnist" || !r.Folder {
		t.Errorf("report run: data set %q, folder %v; want mnist, true", r.Dataset, r.Folder)
	}
	var out bytes.Buffer
	resumed := opts
	resumed.Stdout = &out
	if err := Resume(context.Background(), 2, resumed); err != nil {
		t.Fatalf("resume of a run labelled by hand: %v", err)
	}
	if !strings.Contains(out.String(), "on folder (mnist, data.name): 200 train / 70 test images") {
		t.Errorf("the resume's header does not name the label:\n%s", out.String())
	}
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	saved, _ := os.ReadFile(path)
	if ck.Epoch != 2 || ck.Config.Data.Name != "mnist" || !bytes.Equal(saved, ck.Config.Marshal()) {
		t.Errorf("after the resume: epoch %d, data.name %q, config.yaml the checkpoint's %v; want 2, mnist, true", ck.Epoch, ck.Config.Data.Name, bytes.Equal(saved, ck.Config.Marshal()))
	}
	// A real edit beside the label is still refused, naming only the edit.
	edited := strings.Replace(string(saved), "lr: 0.01", "lr: 0.05", 1)
	edited = strings.Replace(edited, "    name: mnist\n", "", 1)
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	err = Resume(context.Background(), 3, opts)
	if err == nil || !strings.Contains(err.Error(), "train.lr: 0.01 → 0.05") || strings.Contains(err.Error(), "data.name") {
		t.Errorf("got %v, want the lr edit named and the label not", err)
	}
}

// TestLoadDataChecksTheLabel: a small folder labelled cifar10 is refused
// when read for training, and read without the label.
func TestLoadDataChecksTheLabel(t *testing.T) {
	m := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range m.Pix {
		m.Pix[i] = byte(i)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"test/cat/1.png", "test/dog/1.png", "train/cat/1.png", "train/dog/1.png", "train/dog/2.png"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Default()
	cfg.Data = DataConfig{Dataset: "folder", Dir: dir, Name: "cifar10"}
	_, _, err := loadData(cfg, nil)
	want := "data.name says " + dir + " holds CIFAR-10, but it has 2 classes, not 10 and 3 training and 2 test images, not 50000 and 10000"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
	cfg.Data.Name = ""
	if _, _, err := loadData(cfg, nil); err != nil {
		t.Errorf("without the label: %v", err)
	}
}
