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
	Model    string   `json:"model"`    // "model name" of /proc/cpuinfo, or the architecture where there is none
	Features []string `json:"features"` // e.g. ["avx2", "avx512f", "fma"]; empty: the portable Go kernels
}

// HostCPU describes this machine's processor and the kernels chosen for it.
func HostCPU() CPUInfo {
	model := runtime.GOARCH
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		if m := cpuModel(f); m != "" {
			model = m
		}
		f.Close()
	}
	return CPUInfo{Model: model, Features: kernelFeatures(gemm.Kernel(), cpu.X86.HasAVX2 && cpu.X86.HasFMA, nnops.BF16())}
}

// cpuModel returns the first "model name" of a /proc/cpuinfo listing, or "".
func cpuModel(f *os.File) string {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
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
