package report

import (
	"strings"
	"testing"
)

// claimRun is a Table 6 run with FGSM results at ε = 0.1 and 0.2: error
// and the likelihood and posterior AUROCs at each.
func claimRun(head string, alpha float64, seed uint64, err1, lkd1, post1, err2, lkd2, post2 float64) *Run {
	setting := ""
	if head == "lgm" {
		setting = "α = 1"
	}
	return &Run{Name: head, Dataset: "mnist", Net: "lenetpp", Dim: 100, Head: head, Setting: setting, Alpha: alpha,
		Key: head, Seed: seed, Epochs: 10, EpochsTotal: 10, TestError: 0.005, TestN: 10000,
		Attacks: []Attack{{Method: "fgsm", N: 10000, Results: []AttackEps{
			{Eps: 0, Error: 0.005, N: 10000},
			{Eps: 0.1, Error: err1, N: 10000, AUROC: pf(lkd1), AUROCPosterior: pf(post1)},
			{Eps: 0.2, Error: err2, N: 10000, AUROC: pf(lkd2), AUROCPosterior: pf(post2)},
		}}}}
}

func TestClaimsSection(t *testing.T) {
	// ε = 0.1: L-GM lowest and separating best. ε = 0.2: center loss's
	// error is lower than L-GM's, and softmax's posterior AUROC beats L-GM's
	// likelihood, within the spread of L-GM's two seeds.
	runs := []*Run{
		claimRun("softmax", 0, 1, 0.20, 0.85, 0.90, 0.70, 0.90, 0.990),
		claimRun("center", 0, 1, 0.15, 0.95, 0.96, 0.40, 0.95, 0.96),
		claimRun("lgm", 1, 1, 0.08, 0.97, 0.98, 0.45, 0.97, 0.98),
		claimRun("lgm", 1, 2, 0.10, 0.99, 0.99, 0.55, 0.99, 0.99),
	}
	s, ok := claimsSection(GroupRuns(runs))
	if !ok {
		t.Fatal("no claims section for softmax, center and L-GM runs with FGSM results")
	}
	if !strings.Contains(s.Text, "(1) L-GM has the lowest error under FGSM at every ε > 0: not confirmed") ||
		!strings.Contains(s.Text, "than softmax's and center loss's scores (their likelihood and their largest posterior): not confirmed") {
		t.Errorf("verdicts: %s", s.Text)
	}
	md := s.Tables[0].Markdown()
	for i, test := range []struct{ prefix, want []string }{
		{[]string{"0.1"}, []string{"9.00 ± 1.41", "15.00 (center)", "yes", "0.980 ± 0.014", "0.960 (center posterior)", "yes"}},
		{[]string{"0.2"}, []string{"50.00 ± 7.07", "40.00 (center)", "no", "0.980 ± 0.014", "0.990 (softmax posterior)", "no (within std: Δ 0.01 < 0.0141)"}},
	} {
		row := mdRow(md, test.prefix...)
		if got := strings.Join(row[len(test.prefix):], "|"); got != strings.Join(test.want, "|") {
			t.Errorf("case %d: got %q, want %q", i, got, strings.Join(test.want, "|"))
		}
	}
	// All three heads are needed.
	if _, ok := claimsSection(GroupRuns(runs[1:])); ok {
		t.Error("a claims section without softmax runs")
	}
}
