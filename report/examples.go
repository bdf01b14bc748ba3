package report

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Examples are a few images, clean and attacked at each ε, with the
// classifier's predictions: the picture `lgm attack --examples` draws.
type Examples struct {
	Title      string
	C, H, W    int         // image geometry; C is 1 (grey) or 3 (RGB)
	Eps        []float64   // the columns; 0 is the clean image
	Images     [][]float32 // [ε][image·C·H·W], pixels in [0, 1]
	Labels     []int       // per image
	Preds      [][]int     // [ε][image]
	ClassNames []string    // optional names of the labels
}

// ExamplesPlot lays the images out one row per image and one column per ε,
// each with "prediction" under it, in red where it is wrong.
func ExamplesPlot(ex Examples) (Picture, error) {
	n := len(ex.Labels)
	if n == 0 || len(ex.Eps) == 0 {
		return nil, errors.New("examples: no images")
	}
	if ex.C != 1 && ex.C != 3 {
		return nil, fmt.Errorf("examples: %d channels (want 1 or 3)", ex.C)
	}
	size := ex.C * ex.H * ex.W
	if len(ex.Images) != len(ex.Eps) || len(ex.Preds) != len(ex.Eps) {
		return nil, fmt.Errorf("examples: %d image sets and %d prediction sets for %d ε", len(ex.Images), len(ex.Preds), len(ex.Eps))
	}
	for e := range ex.Eps {
		if len(ex.Images[e]) != n*size || len(ex.Preds[e]) != n {
			return nil, fmt.Errorf("examples: ε %v has %d values and %d predictions, want %d and %d", ex.Eps[e], len(ex.Images[e]), len(ex.Preds[e]), n*size, n)
		}
	}
	return &examplesPicture{ex: ex}, nil
}

type examplesPicture struct{ ex Examples }

const (
	exCell  = 1.1 * vg.Inch // an image's side
	exLabel = 0.28 * vg.Inch
	exTitle = 0.35 * vg.Inch
	exGap   = 0.12 * vg.Inch
)

func (p *examplesPicture) Size() (vg.Length, vg.Length) {
	cols, rows := vg.Length(len(p.ex.Eps)), vg.Length(len(p.ex.Labels))
	return cols*(exCell+exGap) + exGap, exTitle + exLabel + rows*(exCell+exLabel+exGap)
}

func (p *examplesPicture) name(k int) string {
	if k >= 0 && k < len(p.ex.ClassNames) && p.ex.ClassNames[k] != "" {
		return p.ex.ClassNames[k]
	}
	return strconv.Itoa(k)
}

func (p *examplesPicture) Draw(c draw.Canvas) {
	ex := p.ex
	style := func(size vg.Length, col color.Color) text.Style {
		return text.Style{
			Color: col, Font: font.From(plot.DefaultFont, size), Handler: plot.DefaultTextHandler,
			XAlign: draw.XCenter, YAlign: draw.YTop,
		}
	}
	top := c.Max.Y
	if ex.Title != "" {
		c.FillText(style(11, color.Black), vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: top - 4}, ex.Title)
	}
	top -= exTitle
	for e, eps := range ex.Eps {
		x := c.Min.X + exGap + vg.Length(e)*(exCell+exGap)
		head := "clean"
		if eps > 0 {
			head = "ε = " + strconv.FormatFloat(eps, 'g', 4, 64)
		}
		c.FillText(style(10, color.Black), vg.Point{X: x + exCell/2, Y: top}, head)
	}
	top -= exLabel
	size := ex.C * ex.H * ex.W
	for i, label := range ex.Labels {
		y := top - vg.Length(i)*(exCell+exLabel+exGap)
		for e := range ex.Eps {
			x := c.Min.X + exGap + vg.Length(e)*(exCell+exGap)
			img := toImage(ex.Images[e][i*size:(i+1)*size], ex.C, ex.H, ex.W)
			c.DrawImage(vg.Rectangle{Min: vg.Point{X: x, Y: y - exCell}, Max: vg.Point{X: x + exCell, Y: y}}, img)
			pred := ex.Preds[e][i]
			col, txt := color.Color(color.Black), p.name(pred)
			if pred != label {
				col, txt = color.RGBA{0xcc, 0x22, 0x22, 0xff}, p.name(pred)+" (is "+p.name(label)+")"
			}
			c.FillText(style(9, col), vg.Point{X: x + exCell/2, Y: y - exCell - 2}, txt)
		}
	}
}

// toImage converts C×H×W pixels in [0, 1] to an image.
func toImage(px []float32, c, h, w int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	level := func(v float32) uint8 { return uint8(min(max(v, 0), 1)*255 + 0.5) }
	plane := h * w
	for r := 0; r < h; r++ {
		for q := 0; q < w; q++ {
			j := r*w + q
			var rgb [3]uint8
			for ch := range rgb {
				rgb[ch] = level(px[min(ch, c-1)*plane+j])
			}
			img.SetRGBA(q, r, color.RGBA{rgb[0], rgb[1], rgb[2], 0xff})
		}
	}
	return img
}
