package experiment

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCPUModel(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t: fpu\n\nprocessor\t: 1\nmodel name\t: other\n", "Intel(R) Xeon(R) Processor"},
		{"processor : 0\nmodel\t\t: 207\n", ""},
		{"", ""},
	} {
		p := filepath.Join(t.TempDir(), "cpuinfo")
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := cpuModel(f); got != c.want {
			t.Errorf("case %q: got %q, want %q", c.text, got, c.want)
		}
		f.Close()
	}
	if HostCPU().Model == "" {
		t.Error("HostCPU: empty model")
	}
}

func TestKernelFeatures(t *testing.T) {
	for _, c := range []struct {
		kernel     string
		simd, bf16 bool
		want       []string
	}{
		{"avx512", true, false, []string{"avx2", "avx512f", "fma"}},
		{"avx512", true, true, []string{"avx2", "avx512_bf16", "avx512f", "fma"}},
		{"avx2", true, false, []string{"avx2", "fma"}},
		{"generic", true, false, []string{"avx2", "fma"}},
		{"generic", false, false, []string{}},
	} {
		if got := kernelFeatures(c.kernel, c.simd, c.bf16); !slices.Equal(got, c.want) {
			t.Errorf("case %s simd %v bf16 %v: got %v, want %v", c.kernel, c.simd, c.bf16, got, c.want)
		}
	}
}
