package experiment

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// evalProgress returns a per-example hook for evaluate that shows the
// progress of an evaluation of n images in batches of b, called label
// ("epoch 2/30  evaluating test"): a bar on a terminal, else a line at most
// every lineEvery (0: none). Before each batch it calls mark, if not nil.
func evalProgress(out io.Writer, terminal bool, lineEvery time.Duration, label string, n, b int, mark func()) func(i, label, pred int, feat []float32) error {
	if out == nil {
		out = io.Discard
	}
	var bar *progressbar.ProgressBar
	if terminal {
		bar = progressbar.NewOptions(n,
			progressbar.OptionSetWriter(out),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(20),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	start := time.Now()
	last := start
	return func(i, _, _ int, _ []float32) error {
		if i%b != 0 {
			return nil
		}
		if mark != nil {
			mark()
		}
		switch {
		case bar != nil:
			bar.Set(i)
			if i+b >= n {
				bar.Finish()
				fmt.Fprintln(out)
			}
		case lineEvery > 0 && time.Since(last) >= lineEvery:
			last = time.Now()
			fmt.Fprintf(out, "%s: %d/%d images  %.0f img/s\n", label, i, n, float64(i)/time.Since(start).Seconds())
		}
		return nil
	}
}
