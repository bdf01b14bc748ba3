// Package report draws the pictures and writes the tables of lgm: the 2-D
// feature scatter and likelihood heatmap of Wan et al.'s Figure 1, training
// curves, the attack histograms and ROC curves of Figures 3 and 4, reliability
// diagrams with calibration metrics, and Markdown/HTML tables of grouped runs
// beside the paper's published numbers (paper.go).
//
// Everything here works on plain data (features, labels, metrics, scores):
// the package imports neither Gorgonia nor experiment, and reads no run
// directories; package experiment reads those and hands the values over.
//
// Pictures are gonum.org/v1/plot drawings written as PNG or SVG (the file
// extension chooses) with the same bytes for the same input. Classes get the
// colours of a colour-blind-safe qualitative palette and, so that a grey
// print still tells them apart, different marker shapes too.
package report
