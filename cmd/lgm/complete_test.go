package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFormatVersion(t *testing.T) {
	cases := []struct {
		bi   *debug.BuildInfo
		ok   bool
		want []string
	}{
		{nil, false, []string{"no build information"}},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "8f5495f0123456789abcdef"}, {Key: "vcs.time", Value: "2025-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}},
			true, []string{"lgm v0.3.0", "revision 8f5495f01234 with local changes of 2025-01-02T03:04:05Z", "go1.26.8"}},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, []string{"lgm (devel)", "no VCS revision recorded"}},
	}
	for i, c := range cases {
		got := formatVersion(c.bi, c.ok)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("case %d: got %q, want it to contain %q", i, got, w)
			}
		}
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		if code, out, _ := lgm(t, args...); code != exitOK || !strings.HasPrefix(out, "lgm ") {
			t.Errorf("case %v: exit %d, %q", args, code, out)
		}
	}
}

// TestCompletion asks the completion command cobra adds (what the shell
// scripts call) for flag values.
func TestCompletion(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"train", "--head", ""}, []string{"center", "gm", "lgm", "lsoftmax", "softmax"}},
		{[]string{"bench", "--net", ""}, []string{"lenet", "lenetpp", "resnet20", "vgg"}},
		{[]string{"train", "--dataset", ""}, []string{"cifar10", "cifar100", "fashion-mnist", "folder", "mnist"}},
		{[]string{"embed", "x", "--split", ""}, []string{"test", "train"}},
		{[]string{"attack", "x", "--method", ""}, []string{"fgsm", "bim", "pgd"}},
		{[]string{"bench", "--precision", ""}, []string{"fp32", "bf16"}},
		{[]string{"train", "--config", "mnist2d-l"}, []string{"mnist2d-lgm\t", "mnist2d-lsoftmax\t"}},
		{[]string{"config", "show", "--set", "head.alpha.k"}, []string{"head.alpha.kind="}},
	}
	for _, c := range cases {
		code, out, _ := lgm(t, append([]string{"__complete"}, c.args...)...)
		for _, w := range c.want {
			if code != exitOK || !strings.Contains(out, w) {
				t.Errorf("case %v: exit %d, got %q, want %q among the completions", c.args, code, out, w)
			}
		}
	}
}

func TestSuggestions(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"trian"}, `unknown command "trian" for "lgm"; did you mean train?`},
		{[]string{"data", "dowload"}, "did you mean download?"},
		{[]string{"train", "--epoch", "3"}, "unknown flag: --epoch; did you mean --epochs?"},
		{[]string{"train", "--lr-rate", "3"}, "did you mean --lr?"},
		{[]string{"eval", "x", "--jsno"}, "did you mean --json?"},
	}
	for _, c := range cases {
		code, _, stderr := lgm(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("case %v: exit %d, %q; want %d and %q", c.args, code, stderr, exitUsage, c.want)
		}
	}
	if _, _, stderr := lgm(t, "train", "--zzzzzzzz", "1"); strings.Contains(stderr, "did you mean") {
		t.Errorf("a flag like no other got a suggestion: %q", stderr)
	}
}
