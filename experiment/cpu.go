package experiment

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sys/cpu"

	"github.com/lgm-dev/lgm/internal/gemm"
	"github.com/lgm-dev/lgm/nnops"
)

// CPUInfo names the processor lgm runs on and the SIMD instruction sets its
// kernels use there (not every set the processor has).
type CPUInfo struct {
	Model string `json:"model"` // "model name" of /proc/cpuinfo, or the architecture where there is none
	// ID is "family F model M" from /proc/cpuinfo where it has both (x86):
	// virtual machines often name every processor of a vendor alike ("AMD
	// EPYC"), and the generation decides the speed. "" elsewhere.
	ID       string   `json:"id,omitempty"`
	Features []string `json:"features"` // e.g. ["avx2", "avx512f", "fma"]; empty: the portable Go kernels
}

// String is the processor in one line, as a run's metrics record it:
// "AMD EPYC (family 25 model 1; avx2 fma)".
func (c CPUInfo) String() string {
	var in []string
	if c.ID != "" {
		in = append(in, c.ID)
	}
	fs := "no SIMD kernels"
	if len(c.Features) > 0 {
		fs = strings.Join(c.Features, " ")
	}
	return c.Model + " (" + strings.Join(append(in, fs), "; ") + ")"
}

// HostCPU describes this machine's processor and the kernels chosen for it.
func HostCPU() CPUInfo {
	model, id := runtime.GOARCH, ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		m, fam, num := cpuModel(f)
		if m != "" {
			model = m
		}
		if fam != "" && num != "" {
			id = "family " + fam + " model " + num
		}
		f.Close()
	}
	return CPUInfo{Model: model, ID: id, Features: kernelFeatures(gemm.Kernel(), cpu.X86.HasAVX2 && cpu.X86.HasFMA, nnops.BF16())}
}

// cpuModel returns the "model name", "cpu family" and "model" of the first
// processor of a /proc/cpuinfo listing ("" for each it lacks).
func cpuModel(f *os.File) (name, family, model string) {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() == "" && (name != "" || family != "" || model != "") {
			break // the first processor's block has ended
		}
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch v = strings.TrimSpace(v); strings.TrimSpace(k) {
		case "model name":
			name = v
		case "cpu family":
			family = v
		case "model":
			model = v
		}
	}
	return name, family, model
}

// kernelFeatures lists, sorted, the instruction sets of the GEMM micro-kernel
// named gemmKernel (internal/gemm: "avx512" needs AVX-512F, AVX2 and FMA;
// "avx2" AVX2 and FMA; "generic" none), of nnops' elementwise kernels (AVX2
// and FMA when simd) and of the bfloat16 products (AVX512_BF16 when bf16,
// nnops.SetBF16).
func kernelFeatures(gemmKernel string, simd, bf16 bool) []string {
	fs := []string{}
	switch gemmKernel {
	case "avx512":
		fs = append(fs, "avx512f", "avx2", "fma")
	case "avx2":
		fs = append(fs, "avx2", "fma")
	}
	if simd {
		fs = append(fs, "avx2", "fma")
	}
	if bf16 {
		fs = append(fs, "avx512_bf16")
	}
	slices.Sort(fs)
	return slices.Compact(fs)
}
