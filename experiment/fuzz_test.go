package experiment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseConfig feeds arbitrary bytes to the config parser: it must return
// a config or an error, never panic. CI runs the seed corpus only; run
// `go test -fuzz FuzzParseConfig ./experiment/` for more.
func FuzzParseConfig(f *testing.F) {
	f.Add(Default().Marshal())
	f.Add(smallConfig().Marshal())
	f.Add([]byte("train:\n  lr: -1\n"))
	f.Add([]byte("train:\n  learning_rate: 0.1\n"))
	f.Add([]byte("model: [1, 2\n"))
	f.Add([]byte("seed: -3\n"))
	f.Add([]byte("&a [*a]"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, err := ParseConfig(raw)
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("ParseConfig accepted a config that does not validate: %v", verr)
			}
		}
	})
}

// FuzzLoadCheckpoint feeds arbitrary bytes to the checkpoint reader: it must
// load them or refuse them with an error naming the file, never panic.
func FuzzLoadCheckpoint(f *testing.F) {
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed.safetensors")
	ck := &Checkpoint{Config: smallConfig(), Epoch: 1, RNG: []byte{1, 2, 3},
		Tensors: map[string][]float32{"net.w": {1, 2, 3, 4}}, Shapes: map[string][]int{"net.w": {2, 2}},
		Norm: NormState{Mean: []float32{0.1}, Std: []float32{0.3}}}
	if err := ck.Save(seed); err != nil {
		f.Fatal(err)
	}
	valid, err := os.ReadFile(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add(valid[:8])
	f.Add([]byte{})
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\x7f{}"))
	// Size bombs: a header claiming a huge tensor or a huge header.
	f.Add(append([]byte("\x4a\x00\x00\x00\x00\x00\x00\x00"), []byte(`{"net.w":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}`)...))
	f.Add(append([]byte("\x00\x00\x00\x00\x01\x00\x00\x00"), '{'))
	// A tensor whose shape disagrees with its bytes.
	f.Add(append([]byte("\x3f\x00\x00\x00\x00\x00\x00\x00"), []byte(`{"net.w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}}    `+"\x00\x00\x80\x3f\x00\x00\x80\x3f\x00\x00\x80\x3f\x00\x00\x80\x3f")...))
	f.Fuzz(func(t *testing.T, raw []byte) {
		const path = "fuzz.safetensors"
		if _, err := parseCheckpoint(path, raw); err != nil && (!strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("error is not one line naming the file: %v", err)
		}
		// The checks behind the checksum, which a mutation nearly always breaks.
		ck, err := decodeCheckpoint(path, raw, false)
		if err != nil {
			if !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line naming the file: %v", err)
			}
			return
		}
		for name, v := range ck.Tensors {
			n := 1
			for _, d := range ck.Shapes[name] {
				n *= d
			}
			if n != len(v) {
				t.Fatalf("tensor %s has shape %v but %d values", name, ck.Shapes[name], len(v))
			}
		}
		if ck.Epoch < 0 || ck.Batch < 0 || ck.Threads < 0 {
			t.Fatalf("accepted position epoch %d batch %d threads %d", ck.Epoch, ck.Batch, ck.Threads)
		}
		if err := ck.Config.Validate(); err != nil {
			t.Fatalf("accepted a config that does not validate: %v", err)
		}
	})
}
