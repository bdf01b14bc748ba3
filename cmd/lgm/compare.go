package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lgm-dev/lgm/experiment"
	"github.com/lgm-dev/lgm/internal/fileio"
)

type compareOptions struct {
	perEpoch bool
	markdown bool
	json     bool
}

// runSummary is one run in `lgm compare`.
type runSummary struct {
	Run        string  `json:"run"`
	Net        string  `json:"net"`
	Head       string  `json:"head"`
	Dim        int     `json:"dim"`
	Dataset    string  `json:"dataset"`
	DataName   string  `json:"data_name,omitempty"` // a folder's label (data.name), e.g. cifar10
	Seed       uint64  `json:"seed"`
	Epochs     int     `json:"epochs"`       // finished
	Of         int     `json:"epochs_total"` // configured
	TestError  float64 `json:"test_error"`   // after the last finished epoch
	Wrong      int     `json:"wrong"`
	TestN      int     `json:"test_n"`
	ImgS       float64 `json:"train_img_s"`   // mean over epochs
	Seconds    float64 `json:"epoch_seconds"` // mean wall time per epoch, evaluation included
	TotalHours float64 `json:"hours"`         // sum of the epochs' wall times

	metrics []experiment.Metrics
}

func newCompareCmd(io streams) *cobra.Command {
	o := &compareOptions{}
	cmd := &cobra.Command{
		Use:   "compare RUN_DIR...",
		Short: "Compare runs side by side: test error, epochs, speed",
		Long: `Read the config.yaml and metrics.jsonl of each run directory and print one row per
run: network, feature size D, head, data set, seed, epochs finished, the test error after the last
finished epoch (wrong of all test images), mean training images/s and mean wall
time per epoch (evaluation included). Runs still training show the epochs done so far.

The test error reported is the last epoch's, never the best: picking the best
epoch on the test set would tune on it.`,
		Example: `  lgm compare runs/softmax runs/lgm
  lgm compare runs/* --per-epoch            # test error after every epoch, a column per run
  lgm compare runs/softmax runs/lgm --markdown
  lgm compare runs/softmax runs/lgm --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.json && (o.markdown || o.perEpoch) {
				return usageError{errors.New("--json prints everything: drop --markdown and --per-epoch"), true}
			}
			runs := make([]runSummary, 0, len(args))
			for _, dir := range args {
				r, err := summarize(dir)
				if err != nil {
					return usageError{err: err} // a path that is not a run: nothing was compared
				}
				runs = append(runs, r)
			}
			if o.json {
				enc := json.NewEncoder(io.out)
				for _, r := range runs {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
				return nil
			}
			if o.perEpoch {
				return printPerEpoch(io, runs, o.markdown)
			}
			return printSummary(io, runs, o.markdown)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.perEpoch, "per-epoch", false, "one row per epoch: each run's test error and seconds")
	f.BoolVar(&o.markdown, "markdown", false, "print a Markdown table (for notes and READMEs)")
	f.BoolVar(&o.json, "json", false, "print one JSON object per run")
	return cmd
}

// summarize reads a run directory's config and metrics.
func summarize(dir string) (runSummary, error) {
	r := runSummary{Run: dir}
	switch st, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return r, fmt.Errorf("%s: no such run directory", dir)
	case err != nil:
		return r, err
	case !st.IsDir():
		return r, fmt.Errorf("%s is a file, not a run directory (give the directories lgm train wrote)", dir)
	}
	cfgPath := filepath.Join(dir, experiment.ConfigFile)
	raw, err := fileio.ReadFile(cfgPath, "a config file", fileio.MaxConfigBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return r, fmt.Errorf("%s: no %s: not a run directory of lgm train", dir, experiment.ConfigFile)
	}
	if err != nil {
		return r, err
	}
	cfg, err := experiment.ParseConfig(raw)
	if err != nil {
		return r, fmt.Errorf("%s: %w", cfgPath, err)
	}
	r.Net, r.Head, r.Dim, r.Dataset, r.Seed, r.Of = cfg.Model.Net, cfg.Head.Name, cfg.Model.Dim, cfg.Data.Dataset, cfg.Seed, cfg.Train.Epochs
	r.DataName = cfg.Data.Name
	ms, err := experiment.ReadMetrics(filepath.Join(dir, experiment.MetricsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return r, err
	}
	r.metrics, r.Epochs = ms, len(ms)
	if len(ms) == 0 {
		return r, nil
	}
	last := ms[len(ms)-1]
	r.TestError, r.TestN = last.TestError, last.TestN
	r.Wrong = int(math.Round(last.TestError * float64(last.TestN)))
	var seconds, imgS float64
	for _, m := range ms {
		seconds += m.Seconds
		imgS += m.ImgS
	}
	r.Seconds, r.ImgS, r.TotalHours = seconds/float64(len(ms)), imgS/float64(len(ms)), seconds/3600
	return r, nil
}

// table prints rows as aligned text or as Markdown.
func table(io streams, markdown bool, header []string, rows [][]string) error {
	if markdown {
		fmt.Fprintf(io.out, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
		for _, row := range rows {
			fmt.Fprintf(io.out, "| %s |\n", strings.Join(row, " | "))
		}
		return nil
	}
	tw := tabwriter.NewWriter(io.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

func printSummary(io streams, runs []runSummary, markdown bool) error {
	header := []string{"run", "net", "D", "head", "data", "seed", "epochs", "test error", "train img/s", "s/epoch"}
	rows := make([][]string, 0, len(runs))
	for _, r := range runs {
		errCell, speed, secs := "–", "–", "–"
		if r.Epochs > 0 {
			errCell = fmt.Sprintf("%.2f%% (%d/%d)", 100*r.TestError, r.Wrong, r.TestN)
			speed, secs = fmt.Sprintf("%.0f", r.ImgS), fmt.Sprintf("%.0f", r.Seconds)
		}
		data := r.Dataset
		if r.DataName != "" {
			data += " (" + r.DataName + ")"
		}
		rows = append(rows, []string{r.Run, r.Net, fmt.Sprint(r.Dim), r.Head, data, fmt.Sprint(r.Seed),
			fmt.Sprintf("%d/%d", r.Epochs, r.Of), errCell, speed, secs})
	}
	return table(io, markdown, header, rows)
}

func printPerEpoch(io streams, runs []runSummary, markdown bool) error {
	header := []string{"epoch"}
	most := 0
	names := shortNames(runs)
	for i, r := range runs {
		header = append(header, names[i]+" test error", "s")
		most = max(most, len(r.metrics))
	}
	rows := make([][]string, 0, most)
	for e := 0; e < most; e++ {
		row := []string{fmt.Sprint(e + 1)}
		for _, r := range runs {
			if e >= len(r.metrics) {
				row = append(row, "", "")
				continue
			}
			m := r.metrics[e]
			row = append(row, fmt.Sprintf("%.2f%%", 100*m.TestError), fmt.Sprintf("%.0f", m.Seconds))
		}
		rows = append(rows, row)
	}
	return table(io, markdown, header, rows)
}

// shortNames names the runs by their directories' last elements, or by the
// paths as given when two of those coincide.
func shortNames(runs []runSummary) []string {
	names := make([]string, len(runs))
	seen := make(map[string]bool, len(runs))
	for i, r := range runs {
		names[i] = filepath.Base(r.Run)
		if seen[names[i]] {
			for j := range runs {
				names[j] = runs[j].Run
			}
			return names
		}
		seen[names[i]] = true
	}
	return names
}
