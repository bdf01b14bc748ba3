package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"math"
	"strings"
)

// Figure is a picture of a report with the file name it is saved under
// beside report.md.
type Figure struct {
	File    string // "figure1.png"
	Caption string
	Pic     Picture
}

// Section is a heading with text, tables and figures, in that order.
type Section struct {
	Heading string
	Text    string
	Tables  []Table
	Figures []Figure
}

// Document is a whole report.
type Document struct {
	Title    string
	Intro    string
	Sections []Section
}

// Options change what a report holds.
type Options struct {
	Title     string
	Confusion bool // a confusion-matrix picture for every run that has one
}

// pct formats a fraction as a percentage with two decimals.
func pct(f float64) string { return fmt.Sprintf("%.2f", 100*f) }

// signed formats a difference in percentage points.
func signed(d float64) string { return fmt.Sprintf("%+.2f", d) }

// Build assembles the report of runs: the runs, the groups' test error
// beside the paper's numbers, Tables 3 and 6 in their layouts, the detection table,
// the paper's two adversarial claims tested (claims.go), the calibration
// table, and the pictures.
func Build(runs []*Run, opts Options) (*Document, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("report: no runs")
	}
	title := opts.Title
	if title == "" {
		title = "lgm report"
	}
	doc := &Document{Title: title, Intro: fmt.Sprintf("%d runs. Test errors are those after each run's last finished epoch (never the best epoch), in percent; groups are runs that differ only in their seed, shown as mean ± sample standard deviation over the seeds. Δ is ours minus the paper's, in percentage points.", len(runs))}
	groups := GroupRuns(runs)
	doc.Sections = append(doc.Sections, runsSection(runs))
	if len(groups) > 0 {
		doc.Sections = append(doc.Sections, errorSection(groups))
		if s, ok := table3Section(groups); ok {
			doc.Sections = append(doc.Sections, s)
		}
		if s, ok := table6Section(groups); ok {
			doc.Sections = append(doc.Sections, s)
		}
		if s, ok := detectionSection(groups); ok {
			doc.Sections = append(doc.Sections, s)
		}
		if s, ok := claimsSection(groups); ok {
			doc.Sections = append(doc.Sections, s)
		}
		if s, ok := calibrationSection(groups); ok {
			doc.Sections = append(doc.Sections, s)
		}
	}
	figs, err := figureSections(groups, opts)
	if err != nil {
		return nil, err
	}
	doc.Sections = append(doc.Sections, figs...)
	return doc, nil
}

func runsSection(runs []*Run) Section {
	t := Table{Header: []string{"run", "data", "net", "D", "head", "settings", "seed", "epochs", "test error (%)"}}
	for _, r := range runs {
		errCell := "–"
		if r.Epochs > 0 {
			errCell = fmt.Sprintf("%s (%d/%d)", pct(r.TestError), int(math.Round(r.TestError*float64(r.TestN))), r.TestN)
		}
		data := dataName(r)
		if r.Folder {
			data += " (folder)"
		}
		t.Rows = append(t.Rows, []string{r.Name, data, r.Net, fmt.Sprint(r.Dim), r.Head, r.Setting, fmt.Sprint(r.Seed),
			fmt.Sprintf("%d/%d", r.Epochs, r.EpochsTotal), errCell})
	}
	return Section{Heading: "Runs", Tables: []Table{t}}
}

// dataName is the data set with "+" for augmentation, as the paper's tables write it.
func dataName(r *Run) string {
	if r.Augment {
		return r.Dataset + "+"
	}
	return r.Dataset
}

func errorSection(groups []*Group) Section {
	t := Table{Header: []string{"data", "net", "D", "head", "seeds", "epochs", "test error (%)", "paper (%)", "Δ (points)", "paper's source"}}
	for _, g := range groups {
		r := g.First()
		base := []string{dataName(r), r.Net, fmt.Sprint(r.Dim), g.Label(), fmt.Sprint(len(g.Runs)), g.Epochs(), g.Error.Format(100, 2)}
		matches := PaperFor(g.Setting(), 0)
		if len(matches) == 0 {
			t.Rows = append(t.Rows, append(base, "–", "–", "–"))
			continue
		}
		for _, m := range matches {
			src := m.Source
			if m.Proxy != "" {
				src += " (" + m.Proxy + ")"
			}
			t.Rows = append(t.Rows, append(append([]string{}, base...),
				fmt.Sprintf("%.2f", m.Error), signed(100*g.Error.Mean-m.Error), src))
		}
	}
	return Section{Heading: "Test error beside the paper", Tables: []Table{t},
		Text: "One row per group and published number; a CIFAR-10 run is compared with the paper's CIFAR-100 number where the paper has no CIFAR-10 one, and the source says so."}
}

// table6Heads are the rows of the paper's Table 6.
var table6Heads = []struct{ head, name string }{{"softmax", "Softmax"}, {"center", "Center"}, {"lgm", "L-GM"}}

func table6Section(groups []*Group) (Section, bool) {
	eps := []float64{0, 0.1, 0.2, 0.3}
	header := []string{"", "row"}
	for _, e := range eps {
		header = append(header, fmt.Sprintf("ε = %g", e))
	}
	t := Table{Title: "MNIST test error (%) under FGSM, in the layout of the paper's Table 6",
		Note: "ours: mean ± std over seeds of `lgm attack --method fgsm` (ε = 0 from the attack's clean pass, or the last epoch's test error where the run has no attack); paper: Table 6; Δ: ours − paper.", Header: header}
	found := false
	for _, h := range table6Heads {
		for _, g := range groups {
			r := g.First()
			if r.Dataset != "mnist" || r.Head != h.head || len(PaperFor(g.Setting(), 0)) == 0 {
				continue
			}
			var paperRow bool
			ours := []string{g.Label(), fmt.Sprintf("ours (%s)", seeds(len(g.Runs)))}
			paper := []string{"", "paper (Table 6)"}
			delta := []string{"", "Δ"}
			for _, e := range eps {
				var vs []float64
				for _, a := range g.attackAt("fgsm", e) {
					vs = append(vs, a.Error)
				}
				if e == 0 && len(vs) == 0 {
					for _, r := range g.Runs {
						vs = append(vs, r.TestError)
					}
				}
				m := Summarize(vs)
				ours = append(ours, m.Format(100, 2))
				pv := "–"
				dv := "–"
				for _, p := range PaperFor(g.Setting(), e) {
					if p.Source == "Table 6" {
						pv = fmt.Sprintf("%.2f", p.Error)
						paperRow = true
						if m.N > 0 {
							dv = signed(100*m.Mean - p.Error)
						}
					}
				}
				paper, delta = append(paper, pv), append(delta, dv)
			}
			if paperRow {
				t.Rows = append(t.Rows, ours, paper, delta)
				found = true
			}
		}
	}
	if !found {
		return Section{}, false
	}
	return Section{Heading: "Table 6: error under FGSM", Tables: []Table{t}}, true
}

func fmtPtrs(vs []*float64, scale float64, prec int) string {
	var xs []float64
	for _, v := range vs {
		if v != nil {
			xs = append(xs, *v)
		}
	}
	return Summarize(xs).Format(scale, prec)
}

func detectionSection(groups []*Group) (Section, bool) {
	names, eps := methods(groups)
	if len(names) == 0 {
		return Section{}, false
	}
	sec := Section{Heading: "Adversarial detection",
		Text: "Clean test images against their attacked versions. AUROC of the likelihood score (the head's log-likelihood under its predicted class; higher = clean) and of the largest posterior, TNR at 95% TPR, the best-threshold detection accuracy, and the AUROC over the successful pairs only (clean right, attacked wrong); mean ± std over seeds."}
	for _, m := range names {
		t := Table{Title: fmt.Sprintf("%s", strings.ToUpper(m)), Header: []string{"data", "net", "D", "head", "seeds", "ε", "error (%)", "AUROC lkd", "AUROC post", "TNR@95 lkd", "TNR@95 post", "det. acc lkd", "det. acc post", "AUROC lkd, succ.", "AUROC post, succ."}}
		for _, g := range groups {
			r := g.First()
			for _, e := range eps[m] {
				rs := g.attackAt(m, e)
				if len(rs) == 0 {
					continue
				}
				var errs []float64
				cols := make([][]*float64, 8)
				for _, a := range rs {
					errs = append(errs, a.Error)
					for i, v := range []*float64{a.AUROC, a.AUROCPosterior, a.TNRAtTPR95, a.TNRAtTPR95Posterior, a.DetectionAccuracy, a.DetectionAccuracyPosterior, a.AUROCSuccessful, a.AUROCPosteriorSuccessful} {
						cols[i] = append(cols[i], v)
					}
				}
				row := []string{dataName(r), r.Net, fmt.Sprint(r.Dim), g.Label(), fmt.Sprint(len(rs)), fmt.Sprintf("%g", e), Summarize(errs).Format(100, 2)}
				for _, c := range cols {
					row = append(row, fmtPtrs(c, 1, 3))
				}
				t.Rows = append(t.Rows, row)
			}
		}
		sec.Tables = append(sec.Tables, t)
	}
	return sec, true
}

func calibrationSection(groups []*Group) (Section, bool) {
	t := Table{Header: []string{"data", "net", "D", "head", "seeds", "test error (%)", "ECE (%)", "MCE (%)", "NLL", "Brier"}}
	top5 := false
	for _, g := range groups {
		for _, r := range g.Runs {
			if r.Top5 != nil {
				top5 = true
			}
		}
	}
	if top5 {
		t.Header = append(t.Header, "top-5 error (%)")
	}
	found, fromFile := false, false
	for _, g := range groups {
		var ece, mce, nll, brier, t5 []float64
		for _, r := range g.Runs {
			if c := r.Calibration; c != nil {
				ece, mce, nll, brier = append(ece, c.ECE), append(mce, c.MCE), append(nll, c.NLL), append(brier, c.Brier)
				fromFile = fromFile || !c.Binned()
			}
			if r.Top5 != nil {
				t5 = append(t5, *r.Top5)
			}
		}
		if len(ece) == 0 {
			continue
		}
		found = true
		r := g.First()
		row := []string{dataName(r), r.Net, fmt.Sprint(r.Dim), g.Label(), fmt.Sprint(len(ece)), g.Error.Format(100, 2),
			Summarize(ece).Format(100, 2), Summarize(mce).Format(100, 2), Summarize(nll).Format(1, 4), Summarize(brier).Format(1, 4)}
		if top5 {
			row = append(row, Summarize(t5).Format(100, 2))
		}
		t.Rows = append(t.Rows, row)
	}
	if !found {
		return Section{}, false
	}
	text := fmt.Sprintf("Of the posteriors (softmax of the margin-free logits) on the whole test set: ECE over %d equal-width bins of the largest posterior, MCE, the mean negative log-likelihood of the true class and the multi-class Brier score; mean ± std over seeds.", CalibrationBins)
	if fromFile {
		text += " Runs without their checkpoint here give the figures their eval.json recorded (lgm eval --json of the final checkpoint); they have no bins for the reliability diagram, and no MCE where the file has none (–, and – for a group's mean when one of its runs has none)."
	}
	return Section{Heading: "Calibration", Tables: []Table{t}, Text: text}, true
}

// fileName makes s usable in a file name.
func fileName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func figureSections(groups []*Group, opts Options) ([]Section, error) {
	var out []Section
	// Figure 1: the first run (lowest seed) of each group that has features.
	var feats []Picture
	var likes []Figure
	fig1 := Section{Heading: "Figure 1: 2-D features", Text: "Test features of the first seed of each group (one colour and marker per class; the large discs are the class centres or means), and the likelihood maps of the heads that have one."}
	letter := 'a'
	for _, g := range groups {
		r := g.First()
		if r.Features != nil {
			f := *r.Features
			f.Title = fmt.Sprintf("(%c) %s", letter, g.Label())
			letter++
			pic, err := FeaturePlot(f)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.Name, err)
			}
			feats = append(feats, pic)
			fig1.Figures = append(fig1.Figures, Figure{File: "features-" + fileName(r.Name) + ".png", Caption: fmt.Sprintf("%s: test features of %s", g.Label(), r.Name), Pic: pic})
		}
		if r.Likelihood != nil {
			pic, err := LikelihoodPlot(*r.Likelihood)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.Name, err)
			}
			likes = append(likes, Figure{File: "likelihood-" + fileName(r.Name) + ".png", Caption: fmt.Sprintf("%s: the learned likelihood over the feature plane (%s) with the test features", g.Label(), r.Name), Pic: pic})
		}
	}
	// The combined picture, laid out like the paper's: (a)–(e) the features,
	// then a likelihood map: L-GM's as in the paper's (f), else GM's, else
	// the last group's that has one.
	var combined []Picture
	combined = append(combined, feats...)
	var pick *Likelihood
	for _, want := range []string{"lgm", "gm", ""} {
		for i := len(groups) - 1; i >= 0 && pick == nil; i-- {
			if r := groups[i].First(); r.Likelihood != nil && (want == "" || r.Head == want) {
				pick = r.Likelihood
			}
		}
	}
	if pick != nil && len(feats) > 0 {
		lc := *pick
		lc.Title = fmt.Sprintf("(%c) %s", letter, pick.Title)
		pic, err := LikelihoodPlot(lc)
		if err != nil {
			return nil, err
		}
		combined = append(combined, pic)
	}
	if len(combined) > 1 {
		fig1.Figures = append([]Figure{{File: "figure1.png", Caption: "Figure 1: the features of every D = 2 group side by side, and a likelihood map", Pic: Grid(3, combined...)}}, fig1.Figures...)
	}
	fig1.Figures = append(fig1.Figures, likes...)
	if len(fig1.Figures) > 0 {
		out = append(out, fig1)
	}

	var curves []Curve
	for _, g := range groups {
		for _, r := range g.Runs {
			if len(r.Curve.Epochs) > 0 {
				c := r.Curve
				c.Name = r.Name
				curves = append(curves, c)
			}
		}
	}
	if len(curves) > 0 {
		pic, err := CurvesPlot(curves)
		if err != nil {
			return nil, err
		}
		out = append(out, Section{Heading: "Training curves", Figures: []Figure{{File: "curves.png", Caption: "Loss terms, error, learning rate and schedules of every run", Pic: pic}}})
	}

	var cals []NamedCalibration
	var scores []AttackScores
	var conf []Figure
	for _, g := range groups {
		r := g.First()
		for _, run := range g.Runs { // the first seed with bins to draw
			if c := run.Calibration; c != nil && c.Binned() {
				cals = append(cals, NamedCalibration{Name: g.Label(), Calibration: *c})
				break
			}
		}
		for _, s := range r.Scores {
			s.Name = fmt.Sprintf("%s %s", r.Head, s.Method)
			scores = append(scores, s)
		}
		if opts.Confusion {
			for _, r := range g.Runs {
				if r.Confusion != nil {
					pic, err := ConfusionPlot("Confusion matrix: "+r.Name, r.Confusion, r.Classes)
					if err != nil {
						return nil, err
					}
					conf = append(conf, Figure{File: "confusion-" + fileName(r.Name) + ".png", Caption: "Confusion matrix of " + r.Name + " on the test set", Pic: pic})
				}
			}
		}
	}
	if len(cals) > 0 {
		pic, err := ReliabilityPlot(cals)
		if err != nil {
			return nil, err
		}
		out = append(out, Section{Heading: "Reliability diagrams", Figures: []Figure{{File: "calibration.png", Caption: "Reliability diagram of the first seed of each group", Pic: pic}}})
	}
	if len(scores) > 0 {
		pic, err := AttackPlot(scores)
		if err != nil {
			return nil, err
		}
		out = append(out, Section{Heading: "Figures 3 and 4: posteriors, likelihoods and ROC under attack", Figures: []Figure{{File: "attack.png", Caption: "Per head (first seed): the largest posterior of the attacked images (Figure 3), the likelihood of clean and attacked images (Figure 4), and the ROC curves of detection by likelihood and by posterior", Pic: pic}}})
	}
	if len(conf) > 0 {
		out = append(out, Section{Heading: "Confusion matrices", Figures: conf})
	}
	return out, nil
}

// Render writes the document as Markdown (pictures linked as files beside
// it), as one self-contained HTML page (pictures inline as data URIs), and
// returns the picture files by name.
func (d *Document) Render() (md, page []byte, files map[string][]byte, err error) {
	files = map[string][]byte{}
	var m, h bytes.Buffer
	fmt.Fprintf(&m, "# %s\n\n%s\n\n", d.Title, d.Intro)
	fmt.Fprintf(&h, `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>%s</title>
<style>
body { font-family: "Liberation Sans", Arial, sans-serif; max-width: 1300px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
caption { font-weight: bold; text-align: left; padding: 0.3em 0; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th { background: #eee; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #444; }
.note { font-size: 0.85em; color: #555; }
</style>
</head>
<body>
<h1>%s</h1>
<p>%s</p>
`, html.EscapeString(d.Title), html.EscapeString(d.Title), html.EscapeString(d.Intro))
	for _, s := range d.Sections {
		fmt.Fprintf(&m, "## %s\n\n", s.Heading)
		fmt.Fprintf(&h, "<section>\n<h2>%s</h2>\n", html.EscapeString(s.Heading))
		if s.Text != "" {
			fmt.Fprintf(&m, "%s\n\n", s.Text)
			fmt.Fprintf(&h, "<p>%s</p>\n", html.EscapeString(s.Text))
		}
		for _, t := range s.Tables {
			m.WriteString(t.Markdown() + "\n")
			h.WriteString(t.HTML())
		}
		for _, f := range s.Figures {
			if _, dup := files[f.File]; dup {
				return nil, nil, nil, fmt.Errorf("report: two pictures named %s", f.File)
			}
			png, err := Encode(f.Pic, "png")
			if err != nil {
				return nil, nil, nil, fmt.Errorf("report: %s: %w", f.File, err)
			}
			files[f.File] = png
			fmt.Fprintf(&m, "![%s](%s)\n\n*%s*\n\n", f.Caption, f.File, f.Caption)
			// Shown at its size in CSS pixels (96 a inch); the PNG has 144 dots an inch, sharp on high-density screens.
			w, _ := f.Pic.Size()
			fmt.Fprintf(&h, "<figure><img src=\"data:image/png;base64,%s\" width=\"%d\" alt=\"%s\" data-file=\"%s\"><figcaption>%s</figcaption></figure>\n",
				base64.StdEncoding.EncodeToString(png), int(math.Round(float64(w)*96/72)), html.EscapeString(f.Caption), html.EscapeString(f.File), html.EscapeString(f.Caption))
		}
		h.WriteString("</section>\n")
	}
	h.WriteString("</body>\n</html>\n")
	return m.Bytes(), h.Bytes(), files, nil
}

// seeds says "1 seed" or "n seeds".
func seeds(n int) string {
	if n == 1 {
		return "1 seed"
	}
	return fmt.Sprintf("%d seeds", n)
}
