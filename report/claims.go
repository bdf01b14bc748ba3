package report

import (
	"fmt"
	"math"
	"strings"
)

// table6Groups are the groups that fill the paper's Table 6 rows (MNIST
// softmax, center loss and L-GM with a Table 6 number for their setting),
// in the table's order, at most one per head (the first).
func table6Groups(groups []*Group) []*Group {
	var out []*Group
	for _, h := range table6Heads {
		for _, g := range groups {
			r := g.First()
			if r.Dataset != "mnist" || r.Head != h.head || !hasTable6(g) {
				continue
			}
			out = append(out, g)
			break
		}
	}
	return out
}

func hasTable6(g *Group) bool {
	for _, p := range PaperFor(g.Setting(), 0) {
		if p.Source == "Table 6" {
			return true
		}
	}
	return false
}

// claimsSection tests the paper's two adversarial claims on the Table 6
// groups' FGSM results, at every ε > 0 that all three heads were attacked
// at: (1) L-GM has the lowest error under attack; (2) L-GM's likelihood
// tells attacked images from clean ones better (AUROC) than the softmax's
// and center loss's scores, their likelihood and their largest posterior.
// Means over seeds are compared; a difference smaller than the larger of
// the two standard deviations is flagged.
func claimsSection(groups []*Group) (Section, bool) {
	tg := table6Groups(groups)
	if len(tg) != len(table6Heads) || tg[len(tg)-1].First().Head != "lgm" {
		return Section{}, false
	}
	lgm, others := tg[len(tg)-1], tg[:len(tg)-1]
	var epsAll []float64
	for _, e := range []float64{0.1, 0.2, 0.3} {
		ok := true
		for _, g := range tg {
			ok = ok && len(g.attackAt("fgsm", e)) > 0
		}
		if ok {
			epsAll = append(epsAll, e)
		}
	}
	if len(epsAll) == 0 {
		return Section{}, false
	}
	t := Table{Header: []string{"ε", "L-GM error (%)", "lowest other error (%)", "(1) L-GM lowest", "L-GM AUROC, likelihood", "best other AUROC", "(2) L-GM separates best"}}
	held1, held2 := true, true
	for _, e := range epsAll {
		le, la := fgsmErr(lgm, e), fgsmAUROC(lgm, e, false)
		var best, bestA MeanStd
		bestName, bestAName := "", ""
		for _, g := range others {
			if m := fgsmErr(g, e); bestName == "" || m.Mean < best.Mean {
				best, bestName = m, g.First().Head
			}
			for _, kind := range []string{"likelihood", "posterior"} {
				if m := fgsmAUROC(g, e, kind == "posterior"); m.N > 0 && (bestAName == "" || m.Mean > bestA.Mean) {
					bestA, bestAName = m, g.First().Head+" "+kind
				}
			}
		}
		c1 := le.Mean < best.Mean
		c2 := la.N > 0 && bestAName != "" && la.Mean > bestA.Mean
		held1, held2 = held1 && c1, held2 && c2
		t.Rows = append(t.Rows, []string{fmt.Sprintf("%g", e), le.Format(100, 2), fmt.Sprintf("%s (%s)", best.Format(100, 2), bestName),
			verdict(c1, le, best, 100), la.Format(1, 3), fmt.Sprintf("%s (%s)", bestA.Format(1, 3), bestAName), verdict(c2, la, bestA, 1)})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From the FGSM results of the Table 6 runs (%d, %d, %d seeds of softmax, center loss, L-GM), means over seeds. ",
		len(tg[0].Runs), len(tg[1].Runs), len(lgm.Runs))
	fmt.Fprintf(&b, "(1) L-GM has the lowest error under FGSM at every ε > 0: %s. ", confirmed(held1))
	fmt.Fprintf(&b, "(2) L-GM's likelihood separates FGSM inputs from clean ones better than softmax's and center loss's scores (their likelihood and their largest posterior): %s. ", confirmed(held2))
	b.WriteString("A verdict marked \"within std\" rests on a difference smaller than the larger of the two standard deviations over seeds.")
	return Section{Heading: "The paper's two adversarial claims", Text: b.String(), Tables: []Table{t}}, true
}

// fgsmErr is the group's FGSM error at eps over its seeds.
func fgsmErr(g *Group, eps float64) MeanStd {
	var vs []float64
	for _, a := range g.attackAt("fgsm", eps) {
		vs = append(vs, a.Error)
	}
	return Summarize(vs)
}

// fgsmAUROC is the group's FGSM detection AUROC at eps over its seeds, of
// the likelihood score or (post) of the largest posterior.
func fgsmAUROC(g *Group, eps float64, post bool) MeanStd {
	var vs []float64
	for _, a := range g.attackAt("fgsm", eps) {
		v := a.AUROC
		if post {
			v = a.AUROCPosterior
		}
		if v != nil {
			vs = append(vs, *v)
		}
	}
	return Summarize(vs)
}

func confirmed(ok bool) string {
	if ok {
		return "confirmed"
	}
	return "not confirmed"
}

// verdict is "yes" or "no", with "within std" when |a − b| is smaller than
// the larger standard deviation (scaled as the cells are).
func verdict(ok bool, a, b MeanStd, scale float64) string {
	s := "no"
	if ok {
		s = "yes"
	}
	sd := math.Max(nanZero(a.Std), nanZero(b.Std))
	if math.Abs(a.Mean-b.Mean) < sd {
		s += fmt.Sprintf(" (within std: Δ %.3g < %.3g)", scale*math.Abs(a.Mean-b.Mean), scale*sd)
	}
	return s
}

func nanZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}
