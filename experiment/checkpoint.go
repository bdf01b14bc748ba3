package experiment

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"

	"github.com/nlpodyssey/safetensors"

	"github.com/lgm-dev/lgm/internal/fileio"
)

// checkpointFormat is written into every checkpoint and checked on load.
const checkpointFormat = "lgm-checkpoint/1"

// Checkpoint is the state of a run after a whole epoch: enough to evaluate
// it without its config file, and to continue it.
type Checkpoint struct {
	Config  Config
	Epoch   int                  // epochs completed
	Batch   int                  // batches completed of the next epoch (0 at an epoch's end)
	Stats   epochStats           // of the next epoch's completed batches
	History []Metrics            // one entry per completed epoch, as in metrics.jsonl
	Tensors map[string][]float32 // parameters "net.*", "head.*" and solver state "opt.*"
	Shapes  map[string][]int
	Norm    NormState // the input normalisation computed from the training split
	RNG     []byte    // data-order stream (math/rand/v2 PCG) at the start of the next epoch
	AugRNG  []byte    // augmentation stream, as it is now
	// Threads is the number of workers the ops split their sums among
	// (nnops.Threads); another count gives other rounding, so a resumed run
	// is bit-identical to an unbroken one only with the same count. 0: not
	// recorded (checkpoints written before it was).
	Threads int
	// Data is the shape of the data set the run trains on (zero in
	// checkpoints written before it was recorded).
	Data DataShape
}

// NormState is the per-channel normalisation a run applied to its inputs.
type NormState struct {
	Mean []float32 `json:"mean"`
	Std  []float32 `json:"std"`
}

// Save writes ck to path atomically as safetensors, readable from Python:
// float32 tensors plus string metadata (format, epoch, config, norm, rng).
func (ck *Checkpoint) Save(path string) error {
	views := make(map[string]safetensors.TensorView, len(ck.Tensors))
	for name, v := range ck.Tensors {
		shape := ck.Shapes[name]
		us := make([]uint64, len(shape))
		for i, d := range shape {
			us[i] = uint64(d)
		}
		buf := make([]byte, 4*len(v))
		for i, f := range v {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
		}
		tv, err := safetensors.NewTensorView(safetensors.F32, us, buf)
		if err != nil {
			return fmt.Errorf("checkpoint tensor %s: %w", name, err)
		}
		views[name] = tv
	}
	var jsonErr error
	toJSON := func(v any) string {
		b, err := json.Marshal(v)
		jsonErr = errors.Join(jsonErr, err)
		return string(b)
	}
	meta := map[string]string{
		"format":  checkpointFormat,
		"epoch":   strconv.Itoa(ck.Epoch),
		"batch":   strconv.Itoa(ck.Batch),
		"config":  string(ck.Config.Marshal()),
		"norm":    toJSON(ck.Norm),
		"stats":   toJSON(ck.Stats),
		"history": toJSON(ck.History),
		"rng":     base64.StdEncoding.EncodeToString(ck.RNG),
		"aug_rng": base64.StdEncoding.EncodeToString(ck.AugRNG),
		"threads": strconv.Itoa(ck.Threads),
		"data":    toJSON(ck.Data),
	}
	if jsonErr != nil {
		return fmt.Errorf("checkpoint %s: %w", path, jsonErr)
	}
	meta["sha256"] = checksum(views, meta)
	return writeAtomic(path, func(w io.Writer) error {
		return safetensors.SerializeToWriter(views, meta, w)
	})
}

// LoadCheckpoint reads and checks a checkpoint written by Save.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	raw, err := fileio.ReadFile(path, "a checkpoint", fileio.MaxCheckpointBytes)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no checkpoint there (a run directory holds %s once its first epoch has finished)", path, CheckpointFile)
		}
		return nil, err
	}
	return parseCheckpoint(path, raw)
}

// parseCheckpoint decodes and checks the bytes of the checkpoint file path.
func parseCheckpoint(path string, raw []byte) (*Checkpoint, error) {
	return decodeCheckpoint(path, raw, true)
}

// decodeCheckpoint is parseCheckpoint; verify false skips the checksum, so
// that fuzzing reaches the checks behind it.
func decodeCheckpoint(path string, raw []byte, verify bool) (*Checkpoint, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s: not a usable lgm checkpoint: %s", path, fmt.Sprintf(format, a...))
	}
	st, err := safetensors.Deserialize(raw)
	if err != nil {
		return nil, bad("%v", err)
	}
	_, md, err := safetensors.ReadMetadata(raw)
	if err != nil {
		return nil, bad("%v", err)
	}
	meta := md.Metadata()
	if f := meta["format"]; f != checkpointFormat {
		return nil, bad("format %q (want %q)", f, checkpointFormat)
	}
	ck := &Checkpoint{Tensors: map[string][]float32{}, Shapes: map[string][]int{}}
	views := make(map[string]safetensors.TensorView, st.Len())
	for _, nt := range st.Tensors() {
		views[nt.Name] = nt.TensorView
	}
	if sum := checksum(views, meta); verify && sum != meta["sha256"] {
		return nil, bad("checksum mismatch (the file was altered or damaged)")
	}
	if ck.Epoch, err = strconv.Atoi(meta["epoch"]); err != nil || ck.Epoch < 0 {
		return nil, bad("epoch %q", meta["epoch"])
	}
	if ck.Batch, err = strconv.Atoi(meta["batch"]); err != nil || ck.Batch < 0 {
		return nil, bad("batch %q", meta["batch"])
	}
	if th, ok := meta["threads"]; ok {
		if ck.Threads, err = strconv.Atoi(th); err != nil || ck.Threads < 0 {
			return nil, bad("threads %q", th)
		}
	}
	if d, ok := meta["data"]; ok {
		if err := json.Unmarshal([]byte(d), &ck.Data); err != nil {
			return nil, bad("data: %v", err)
		}
	}
	if err := json.Unmarshal([]byte(meta["stats"]), &ck.Stats); err != nil {
		return nil, bad("stats: %v", err)
	}
	if err := json.Unmarshal([]byte(meta["history"]), &ck.History); err != nil {
		return nil, bad("history: %v", err)
	}
	if ck.Config, err = ParseConfig([]byte(meta["config"])); err != nil {
		return nil, bad("its config: %v", err)
	}
	if err := json.Unmarshal([]byte(meta["norm"]), &ck.Norm); err != nil {
		return nil, bad("norm: %v", err)
	}
	if ck.RNG, err = base64.StdEncoding.DecodeString(meta["rng"]); err != nil {
		return nil, bad("rng: %v", err)
	}
	if ck.AugRNG, err = base64.StdEncoding.DecodeString(meta["aug_rng"]); err != nil {
		return nil, bad("aug_rng: %v", err)
	}
	for _, nt := range st.Tensors() {
		tv := nt.TensorView
		if tv.DType() != safetensors.F32 {
			return nil, bad("tensor %s has dtype %v (want F32)", nt.Name, tv.DType())
		}
		data := tv.Data()
		v := make([]float32, len(data)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		shape := make([]int, len(tv.Shape()))
		for i, d := range tv.Shape() {
			shape[i] = int(d)
		}
		ck.Tensors[nt.Name] = v
		ck.Shapes[nt.Name] = shape
	}
	return ck, nil
}

// checksum is the SHA-256 of every tensor (name, dtype, shape, bytes, in
// name order) and every metadata entry but the checksum itself (in key order).
func checksum(tensors map[string]safetensors.TensorView, meta map[string]string) string {
	h := sha256.New()
	var buf [8]byte
	putInt := func(n uint64) {
		binary.LittleEndian.PutUint64(buf[:], n)
		h.Write(buf[:])
	}
	put := func(b []byte) {
		putInt(uint64(len(b)))
		h.Write(b)
	}
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		tv := tensors[name]
		put([]byte(name))
		put([]byte(tv.DType().String()))
		putInt(uint64(len(tv.Shape())))
		for _, d := range tv.Shape() {
			putInt(d)
		}
		put(tv.Data())
	}
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		if k != "sha256" {
			put([]byte(k))
			put([]byte(meta[k]))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
