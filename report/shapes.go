package report

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// box is a filled rectangle in data coordinates (plot.Plotter).
type box struct {
	x0, y0, x1, y1 float64
	c              color.Color
}

// rect returns a box of colour c at opacity alpha.
func rect(x0, y0, x1, y1 float64, c color.RGBA, alpha float64) box {
	return box{x0, y0, x1, y1, withAlpha(c, alpha)}
}

func withAlpha(c color.RGBA, alpha float64) color.NRGBA {
	return color.NRGBA{R: c.R, G: c.G, B: c.B, A: uint8(alpha*255 + 0.5)}
}

func (b box) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	var path vg.Path
	path.Move(vg.Point{X: tx(b.x0), Y: ty(b.y0)})
	path.Line(vg.Point{X: tx(b.x1), Y: ty(b.y0)})
	path.Line(vg.Point{X: tx(b.x1), Y: ty(b.y1)})
	path.Line(vg.Point{X: tx(b.x0), Y: ty(b.y1)})
	path.Close()
	c.SetColor(b.c)
	c.Fill(path)
}

// rectThumb is a legend entry that shows a filled square.
type rectThumb struct {
	c     color.RGBA
	alpha float64
}

func (r rectThumb) Thumbnail(c *draw.Canvas) {
	c.SetColor(withAlpha(r.c, r.alpha))
	c.Fill(c.Rectangle.Path())
}
