package report

import (
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Palette is the qualitative colour scheme of classes and runs: Paul Tol's
// "muted" scheme (P. Tol, "Colour Schemes", SRON technical note
// SRON/EPS/TN/09-002, 2021), nine colours chosen to stay distinct for
// colour-blind readers, and a dark grey as the tenth. With more than ten
// classes the colours repeat, with the next marker shape.
var Palette = []color.RGBA{
	{0x33, 0x22, 0x88, 0xff}, // indigo
	{0x88, 0xcc, 0xee, 0xff}, // cyan
	{0x44, 0xaa, 0x99, 0xff}, // teal
	{0x11, 0x77, 0x33, 0xff}, // green
	{0x99, 0x99, 0x33, 0xff}, // olive
	{0xdd, 0xcc, 0x77, 0xff}, // sand
	{0xcc, 0x66, 0x77, 0xff}, // rose
	{0x88, 0x22, 0x55, 0xff}, // wine
	{0xaa, 0x44, 0x99, 0xff}, // purple
	{0x55, 0x55, 0x55, 0xff}, // dark grey
}

// Colour returns the palette colour of class or run i.
func Colour(i int) color.RGBA { return Palette[i%len(Palette)] }

// Marker returns the marker shape of class i: filled circle, square,
// triangle and diamond, plus, cross, then the hollow ring, square, triangle
// and diamond; shapes repeat after ten, shifted against the colours.
func Marker(i int) draw.GlyphDrawer {
	shapes := []draw.GlyphDrawer{
		draw.CircleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, diamondGlyph{fill: true},
		draw.PlusGlyph{}, draw.CrossGlyph{},
		draw.RingGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, diamondGlyph{},
	}
	return shapes[(i+i/len(Palette))%len(shapes)]
}

// classStyle is the marker of class i at radius r.
func classStyle(i int, r vg.Length) draw.GlyphStyle {
	return draw.GlyphStyle{Color: Colour(i), Radius: r, Shape: Marker(i)}
}

// diamondGlyph is a square standing on a corner, filled or outlined.
type diamondGlyph struct{ fill bool }

func (d diamondGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetColor(sty.Color)
	r := sty.Radius * 1.3
	var p vg.Path
	p.Move(vg.Point{X: pt.X, Y: pt.Y + r})
	p.Line(vg.Point{X: pt.X + r, Y: pt.Y})
	p.Line(vg.Point{X: pt.X, Y: pt.Y - r})
	p.Line(vg.Point{X: pt.X - r, Y: pt.Y})
	p.Close()
	if d.fill {
		c.Fill(p)
		return
	}
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(0.5)})
	c.Stroke(p)
}

// Sizes shared by the pictures.
const (
	titleSize = vg.Length(12)
	labelSize = vg.Length(10)
	tickSize  = vg.Length(8.5)
	legSize   = vg.Length(9)
)

// newPlot returns a plot with lgm's fonts and light grid lines.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = titleSize
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = labelSize
		a.Tick.Label.Font.Size = tickSize
		a.Tick.Marker = shortTicks{}
	}
	p.Legend.TextStyle.Font.Size = legSize
	p.Legend.Top = true
	return p
}

// shortTicks are gonum's default ticks with the labels' trailing zeros cut
// ("-25.00" → "-25", "7.50" → "7.5"): gonum gives every label of an axis the
// decimals its step needs at the ends.
type shortTicks struct{}

func (shortTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		ts[i].Label = trimZeros(ts[i].Label)
	}
	return ts
}

// trimZeros cuts the trailing zeros of a decimal label, and its point when
// nothing follows it; labels without a point, or with an exponent, are kept.
func trimZeros(s string) string {
	if !strings.Contains(s, ".") || strings.ContainsAny(s, "eE") {
		return s
	}
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" || s == "" || s == "-" {
		return "0"
	}
	return s
}

// newLegend returns a legend for a strip beside a plot: top left of it.
func newLegend() *plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font.Size = legSize
	l.Top, l.Left = true, true
	l.XOffs = vg.Points(4)
	return &l
}

// glyphThumb is a legend entry that shows a marker.
type glyphThumb struct{ sty draw.GlyphStyle }

func (g glyphThumb) Thumbnail(c *draw.Canvas) { c.DrawGlyph(g.sty, c.Center()) }

// lineThumb is a legend entry that shows a line.
type lineThumb struct{ sty draw.LineStyle }

func (l lineThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(l.sty, c.Min.X, y, c.Max.X, y)
}

// dashes are the line dashes that tell quantities apart in a panel where the
// colour tells the runs apart.
var dashes = [][]vg.Length{nil, {vg.Points(5), vg.Points(2.5)}, {vg.Points(1.5), vg.Points(1.5)}, {vg.Points(6), vg.Points(2), vg.Points(1.5), vg.Points(2)}}

func dash(i int) []vg.Length { return dashes[i%len(dashes)] }

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 0xff} }
