package report

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Picture is something that draws itself on a canvas of its own size.
type Picture interface {
	Size() (w, h vg.Length)
	Draw(c draw.Canvas)
}

// DPI is the resolution of PNG pictures.
const DPI = 144

// Formats are the picture formats Write knows, by file extension.
var Formats = []string{"png", "svg"}

// FormatOf returns the picture format a file name asks for ("png" or "svg"),
// or an error naming the extensions that work.
func FormatOf(path string) (string, error) {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	switch ext {
	case "png", "svg":
		return ext, nil
	}
	return "", fmt.Errorf("%s: unknown picture format %q (name the file .png or .svg)", path, filepath.Ext(path))
}

// Write draws pic in format ("png" or "svg") to w. The bytes depend only on
// pic: nothing of the clock or the machine goes into them.
func Write(w io.Writer, format string, pic Picture) error {
	width, height := pic.Size()
	switch format {
	case "png":
		c := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
		pic.Draw(draw.New(c))
		_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
		return err
	case "svg":
		c := vgsvg.New(width, height)
		dc := draw.New(c)
		dc.SetColor(color.White)
		dc.Fill(dc.Rectangle.Path())
		pic.Draw(dc)
		_, err := c.WriteTo(w)
		return err
	}
	return fmt.Errorf("unknown picture format %q (want png or svg)", format)
}

// Encode returns the bytes of pic in format.
func Encode(pic Picture, format string) ([]byte, error) {
	var b bytes.Buffer
	if err := Write(&b, format, pic); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// plotPicture is a plot with its size and, optionally, a legend drawn in a
// strip to the right of the plot rather than over the data.
type plotPicture struct {
	p      *plot.Plot
	w, h   vg.Length
	legend *plot.Legend // nil: none (or the plot's own)
	legW   vg.Length    // width of the legend strip
	equal  bool         // one unit is as long on the x axis as on the y axis
}

func (pp *plotPicture) Size() (vg.Length, vg.Length) { return pp.w, pp.h }

func (pp *plotPicture) Draw(c draw.Canvas) {
	plotC := c
	if pp.legend != nil {
		plotC = draw.Crop(c, 0, -pp.legW, 0, 0)
	}
	if pp.equal {
		equalScale(pp.p, plotC)
	}
	pp.p.Draw(plotC)
	if pp.legend != nil {
		legC := draw.Crop(c, c.Size().X-pp.legW, 0, 0, 0)
		legC = draw.Crop(legC, 0, 0, 0, -titleHeight(pp.p))
		pp.legend.Draw(legC)
	}
}

// titleHeight is the space the plot's title takes at the top of the canvas.
func titleHeight(p *plot.Plot) vg.Length {
	if p.Title.Text == "" {
		return 0
	}
	return p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
}

// equalScale widens the x or the y range of p so that one data unit has the
// same length on both axes of the data area p gets inside c. The tick labels'
// widths depend on the ranges, so it repeats until the area stops changing.
func equalScale(p *plot.Plot, c draw.Canvas) {
	for range 4 {
		dc := p.DataCanvas(c)
		w, h := float64(dc.Size().X), float64(dc.Size().Y)
		if w <= 0 || h <= 0 {
			return
		}
		ux := (p.X.Max - p.X.Min) / w // data units per length unit
		uy := (p.Y.Max - p.Y.Min) / h
		switch {
		case ux < uy*(1-1e-9):
			grow(&p.X.Min, &p.X.Max, uy*w)
		case uy < ux*(1-1e-9):
			grow(&p.Y.Min, &p.Y.Max, ux*h)
		default:
			return
		}
	}
}

// grow widens [*lo, *hi] about its centre to span.
func grow(lo, hi *float64, span float64) {
	mid := (*lo + *hi) / 2
	*lo, *hi = mid-span/2, mid+span/2
}

// grid lays pictures out in rows of cols, each cell the size of the largest.
type grid struct {
	cols  int
	pics  []Picture
	cellW vg.Length
	cellH vg.Length
}

// Grid returns pics laid out left to right in rows of cols cells.
func Grid(cols int, pics ...Picture) Picture {
	g := &grid{cols: max(1, min(cols, len(pics))), pics: pics}
	for _, p := range pics {
		w, h := p.Size()
		g.cellW, g.cellH = max(g.cellW, w), max(g.cellH, h)
	}
	return g
}

func (g *grid) Size() (vg.Length, vg.Length) {
	rows := (len(g.pics) + g.cols - 1) / g.cols
	return g.cellW * vg.Length(g.cols), g.cellH * vg.Length(rows)
}

func (g *grid) Draw(c draw.Canvas) {
	_, h := g.Size()
	for i, p := range g.pics {
		col, row := i%g.cols, i/g.cols
		x0 := c.Min.X + g.cellW*vg.Length(col)
		y1 := c.Min.Y + h - g.cellH*vg.Length(row)
		cell := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x0, Y: y1 - g.cellH},
			Max: vg.Point{X: x0 + g.cellW, Y: y1},
		}}
		p.Draw(cell)
	}
}

// row lays pictures side by side, each at its own width.
type row struct{ pics []Picture }

// Row returns pics side by side, left to right, each at its own size.
func Row(pics ...Picture) Picture { return row{pics} }

func (r row) Size() (vg.Length, vg.Length) {
	var w, h vg.Length
	for _, p := range r.pics {
		pw, ph := p.Size()
		w, h = w+pw, max(h, ph)
	}
	return w, h
}

func (r row) Draw(c draw.Canvas) {
	x := c.Min.X
	for _, p := range r.pics {
		pw, ph := p.Size()
		p.Draw(draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: c.Max.Y - ph},
			Max: vg.Point{X: x + pw, Y: c.Max.Y},
		}})
		x += pw
	}
}

// pngCanvas is a canvas of pic's size for measuring (tests).
func pngCanvas(pic Picture) draw.Canvas {
	w, h := pic.Size()
	return draw.New(vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI)))
}
