package report

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Table is a titled table of text cells, written as Markdown or HTML.
type Table struct {
	Title  string
	Note   string // a sentence under the title
	Header []string
	Rows   [][]string
}

// Markdown returns t as a Markdown (GitHub) table under a bold title.
func (t Table) Markdown() string {
	var b strings.Builder
	if t.Title != "" {
		fmt.Fprintf(&b, "**%s**\n\n", t.Title)
	}
	if t.Note != "" {
		fmt.Fprintf(&b, "%s\n\n", t.Note)
	}
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + cell(c) + " |")
		}
		b.WriteString("\n")
	}
	row(t.Header)
	b.WriteString("|" + strings.Repeat("---|", len(t.Header)) + "\n")
	for _, r := range t.Rows {
		row(r)
	}
	return b.String()
}

// HTML returns t as an HTML table with a caption, every cell escaped.
func (t Table) HTML() string {
	var b strings.Builder
	b.WriteString("<table>\n")
	if t.Title != "" {
		fmt.Fprintf(&b, "<caption>%s</caption>\n", html.EscapeString(t.Title))
	}
	b.WriteString("<thead><tr>")
	for _, h := range t.Header {
		fmt.Fprintf(&b, "<th>%s</th>", html.EscapeString(h))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, r := range t.Rows {
		b.WriteString("<tr>")
		for _, c := range r {
			fmt.Fprintf(&b, "<td>%s</td>", html.EscapeString(c))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
	if t.Note != "" {
		fmt.Fprintf(&b, "<p class=\"note\">%s</p>\n", html.EscapeString(t.Note))
	}
	return b.String()
}

// MeanStd is a mean over seeds with the sample standard deviation.
type MeanStd struct {
	Mean, Std float64 // Std is NaN for a single value
	N         int
}

// Summarize returns the mean and the sample standard deviation (n − 1 in the
// denominator) of xs.
func Summarize(xs []float64) MeanStd {
	m := MeanStd{N: len(xs), Mean: math.NaN(), Std: math.NaN()}
	if len(xs) == 0 {
		return m
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	m.Mean = s / float64(len(xs))
	if len(xs) > 1 {
		var ss float64
		for _, x := range xs {
			ss += (x - m.Mean) * (x - m.Mean)
		}
		m.Std = math.Sqrt(ss / float64(len(xs)-1))
	}
	return m
}

// Format writes m scaled by scale with prec decimals: "0.71 ± 0.05" (n > 1),
// "0.71" (n = 1), "–" (n = 0).
func (m MeanStd) Format(scale float64, prec int) string {
	if m.N == 0 || math.IsNaN(m.Mean) {
		return "–"
	}
	if m.N == 1 || math.IsNaN(m.Std) {
		return fmt.Sprintf("%.*f", prec, scale*m.Mean)
	}
	return fmt.Sprintf("%.*f ± %.*f", prec, scale*m.Mean, prec, scale*m.Std)
}
