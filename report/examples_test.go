package report

import (
	"bytes"
	"image/png"
	"testing"
)

func TestExamplesPlot(t *testing.T) {
	const n, c, h, w = 2, 1, 4, 4
	ex := Examples{Title: "t", C: c, H: h, W: w, Eps: []float64{0, 0.1}, Labels: []int{3, 5}, Preds: [][]int{{3, 5}, {3, 1}}}
	for range ex.Eps {
		img := make([]float32, n*c*h*w)
		for i := range img {
			img[i] = float32(i%7) / 6
		}
		ex.Images = append(ex.Images, img)
	}
	pic, err := ExamplesPlot(ex)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Encode(pic, "png")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Encode(pic, "png")
	if !bytes.Equal(a, b) {
		t.Errorf("two renderings differ")
	}
	if _, err := png.Decode(bytes.NewReader(a)); err != nil {
		t.Errorf("not a PNG: %v", err)
	}
	bad := ex
	bad.Preds = [][]int{{3, 5}}
	if _, err := ExamplesPlot(bad); err == nil {
		t.Errorf("predictions for one ε of two: got no error")
	}
	bad = ex
	bad.C = 2
	if _, err := ExamplesPlot(bad); err == nil {
		t.Errorf("two channels: got no error")
	}
}
