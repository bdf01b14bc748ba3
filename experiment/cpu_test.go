package experiment

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCPUModel(t *testing.T) {
	for _, c := range []struct{ text, want, family, model string }{
		{"processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\nflags\t: fpu\n\nprocessor\t: 1\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: other\n", "AMD EPYC", "25", "1"},
		{"processor : 0\nmodel\t\t: 207\n", "", "", "207"},
		{"", "", "", ""},
	} {
		p := filepath.Join(t.TempDir(), "cpuinfo")
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if got, fam, model := cpuModel(f); got != c.want || fam != c.family || model != c.model {
			t.Errorf("case %q: got %q, %q, %q, want %q, %q, %q", c.text, got, fam, model, c.want, c.family, c.model)
		}
		f.Close()
	}
	if HostCPU().Model == "" {
		t.Error("HostCPU: empty model")
	}
	for _, c := range []struct {
		cpu  CPUInfo
		want string
	}{
		{CPUInfo{Model: "AMD EPYC", ID: "family 25 model 1", Features: []string{"avx2", "fma"}}, "AMD EPYC (family 25 model 1; avx2 fma)"},
		{CPUInfo{Model: "arm64"}, "arm64 (no SIMD kernels)"},
	} {
		if got := c.cpu.String(); got != c.want {
			t.Errorf("%+v: String() = %q, want %q", c.cpu, got, c.want)
		}
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
