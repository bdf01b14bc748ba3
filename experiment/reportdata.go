package experiment

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lgm-dev/lgm/data"
	"github.com/lgm-dev/lgm/report"
)

// ReportOptions say what ReadReportRun measures beyond the run's files.
type ReportOptions struct {
	// Inspect runs the checkpoint over the test set for the calibration,
	// top-5 error, confusion matrix and (D = 2) the features.
	Inspect bool
	// Likelihood also evaluates the head's log-likelihood on a grid over
	// the features (D = 2 runs whose checkpoint and head allow it).
	Likelihood bool
	GridN      int       // cells per side of that grid (0: 200)
	MaxPoints  int       // the most features drawn (0: report.DefaultMaxPoints)
	MarkEps    float64   // ε of the attack examples marked on the likelihood map (0: the smallest > 0)
	Confusion  bool      // compute the confusion matrix
	Data       string    // data folder, if it moved since training
	Split      string    // split of the features: test (default) or train
	Log        io.Writer // one line per slow step, or nil
	// Train and Test, when set, replace the data the run's config names (tests use this).
	Train, Test *data.Set
}

// AttackScoresPath is where the per-image scores of method are in a run
// directory (beside AttackFile's summary).
func AttackScoresPath(dir, method string) string { return filepath.Join(dir, "attack-"+method+".csv") }

// AttackFeaturesPath is where the 2-D features of every image at every ε are.
func AttackFeaturesPath(dir, method string) string {
	return filepath.Join(dir, "attack-"+method+"-features.csv")
}

// finalValue is the value a schedule settles at: the constant, the value
// after the warm-up, the cap of a step schedule (or its first value without
// one), the floor of an "inv" one.
func finalValue(s Schedule) float64 {
	switch s.Kind {
	case "step":
		if s.Max > 0 {
			return s.Max
		}
		return s.Value
	case "inv":
		return s.Min
	}
	return s.Value
}

// headSetting describes a head's settings in words, and gives lgm's final α.
func headSetting(h HeadConfig) (string, float64) {
	var parts []string
	alpha := 0.0
	switch h.Name {
	case "lgm":
		alpha = finalValue(h.Alpha)
		parts = append(parts, fmt.Sprintf("α = %g", alpha))
		fallthrough
	case "gm":
		parts = append(parts, fmt.Sprintf("λ = %g", finalValue(h.Lambda)))
		if h.Covariance != "" && h.Covariance != "identity" {
			parts = append(parts, h.Covariance+" Σ")
		}
	case "center":
		parts = append(parts, fmt.Sprintf("λ = %g", finalValue(h.Lambda)))
	case "lsoftmax":
		parts = append(parts, fmt.Sprintf("m = %d", h.Margin))
	}
	return strings.Join(parts, ", "), alpha
}

// datasetOf is the data set a run trained on, as the report names it: a
// folder labelled with data.name is that data set.
func datasetOf(cfg Config) string {
	if cfg.Data.Name != "" {
		return cfg.Data.Name
	}
	return cfg.Data.Dataset
}

// groupKey is cfg without what differs between seeds of one experiment.
func groupKey(cfg Config) string {
	cfg.Seed, cfg.Name, cfg.Data.Dir = 0, "", ""
	return string(cfg.Marshal())
}

// ReportCurve converts a metrics log for the report.
func ReportCurve(name string, ms []Metrics) report.Curve {
	c := report.Curve{Name: name}
	for _, m := range ms {
		c.Epochs = append(c.Epochs, report.Epoch{Epoch: m.Epoch, LR: m.LR, TrainLoss: m.TrainLoss, TrainError: m.TrainError,
			TestError: m.TestError, Terms: m.Terms, Schedule: m.Schedule})
	}
	return c
}

// ReadRunConfig reads the config and metrics of a run directory.
func ReadRunConfig(dir string) (Config, []Metrics, error) {
	switch st, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return Config{}, nil, fmt.Errorf("%s: no such run directory", dir)
	case err != nil:
		return Config{}, nil, err
	case !st.IsDir():
		return Config{}, nil, fmt.Errorf("%s is a file, not a run directory (give the directories lgm train wrote)", dir)
	}
	path := filepath.Join(dir, ConfigFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, nil, fmt.Errorf("%s: no %s: not a run directory of lgm train", dir, ConfigFile)
	}
	if err != nil {
		return Config{}, nil, err
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return Config{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	ms, err := ReadMetrics(filepath.Join(dir, MetricsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Config{}, nil, err
	}
	return cfg, ms, nil
}

// ReadReportRun reads everything the report knows of a run directory: its
// config, its metrics, its attack results and, as opts asks, what its
// checkpoint computes on the test set.
func ReadReportRun(ctx context.Context, dir string, opts ReportOptions) (*report.Run, error) {
	cfg, ms, err := ReadRunConfig(dir)
	if err != nil {
		return nil, err
	}
	r := &report.Run{Name: filepath.Base(filepath.Clean(dir)), Dataset: datasetOf(cfg), Folder: cfg.Data.Name != "", Net: cfg.Model.Net, Dim: cfg.Model.Dim,
		Head: cfg.Head.Name, Augment: cfg.Data.Augment, Key: groupKey(cfg), Seed: cfg.Seed,
		Epochs: len(ms), EpochsTotal: cfg.Train.Epochs, Curve: ReportCurve(filepath.Base(dir), ms)}
	r.Setting, r.Alpha = headSetting(cfg.Head)
	if len(ms) > 0 {
		last := ms[len(ms)-1]
		r.TestError, r.TestN = last.TestError, last.TestN
	}
	if r.Attacks, r.Scores, err = ReadAttacks(dir); err != nil {
		return nil, err
	}
	if !opts.Inspect || len(ms) == 0 {
		return r, nil
	}
	if _, err := os.Stat(filepath.Join(dir, CheckpointFile)); err != nil {
		// Nothing to inspect (a published run): the calibration its
		// eval.json recorded, if that is of the final checkpoint.
		e, ok, err := ReadEvalFile(dir)
		if err != nil {
			return nil, err
		}
		if ok {
			var why string
			if r.Calibration, why = calibrationOfEval(e, ms); why != "" {
				logf(opts.Log, "%s: no checkpoint, and its %s is not used for the calibration: %s", dir, EvalFile, why)
			}
		}
		return r, nil
	}
	logf(opts.Log, "%s: running the checkpoint over the %s set", dir, splitName(opts.Split))
	out, err := Inspect(ctx, dir, RunOptions{DataDir: opts.Data, Split: opts.Split, Train: opts.Train, Test: opts.Test})
	if err != nil {
		return nil, err
	}
	probs := out.Posteriors()
	cal, err := report.Calibrate(probs, out.Labels, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	r.Calibration = &cal
	if datasetOf(cfg) == "cifar100" && out.K >= 5 {
		t5 := report.TopKError(probs, out.Labels, 5)
		r.Top5 = &t5
	}
	r.Classes = out.Classes
	if opts.Confusion {
		if r.Confusion, err = report.Confusion(out.Labels, out.Preds, out.K); err != nil {
			return nil, err
		}
	}
	if out.D != 2 {
		return r, nil
	}
	f := FeaturesOf(out, cfg, opts)
	r.Features = &f
	if opts.Likelihood {
		l, err := LikelihoodOf(dir, cfg, f, opts)
		if err != nil {
			return nil, err
		}
		r.Likelihood = l
	}
	return r, nil
}

func splitName(s string) string {
	if s == "" {
		return "test"
	}
	return s
}

func logf(w io.Writer, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", a...)
	}
}

// FeaturesOf is the feature scatter of a run's outputs.
func FeaturesOf(out *Outputs, cfg Config, opts ReportOptions) report.Features {
	setting, _ := headSetting(cfg.Head)
	title := cfg.Head.Name
	if setting != "" {
		title += " (" + setting + ")"
	}
	return report.Features{
		Title: fmt.Sprintf("%s, %s %s features", title, cfg.Data.Dataset, splitName(opts.Split)),
		X:     out.Features(), Labels: out.Labels, Classes: out.Classes,
		Centres: out.Centres, CentreName: out.CentreName, MaxPoints: opts.MaxPoints, Seed: cfg.Seed,
	}
}

// logLikName says what a head's log-likelihood score is.
func logLikName(h HeadConfig) string {
	switch h.Name {
	case "softmax", "lsoftmax":
		return "winning logit max_k z_k"
	case "center":
		return "−½‖x − c_ŷ‖²"
	case "gm", "lgm":
		if h.Covariance == "" || h.Covariance == "identity" {
			return "max_k log N(x; μ_k, I)"
		}
		return "log N(x; μ_ŷ, Σ_ŷ)"
	}
	return "log-likelihood score"
}

// LikelihoodOf evaluates the head of the run in dir over a grid covering f
// and marks the run's attack examples at opts.MarkEps (FGSM first), if it has them.
func LikelihoodOf(dir string, cfg Config, f report.Features, opts ReportOptions) (*report.Likelihood, error) {
	f.Title = fmt.Sprintf("%s: %s", cfg.Head.Name, logLikName(cfg.Head))
	if setting, _ := headSetting(cfg.Head); setting != "" {
		f.Title = fmt.Sprintf("%s (%s): %s", cfg.Head.Name, setting, logLikName(cfg.Head))
	}
	for _, method := range []string{"fgsm", "bim", "pgd"} {
		pts, eps, err := ReadAttackFeatures(AttackFeaturesPath(dir, method), opts.MarkEps)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(pts) > report.MaxMarked {
			rng := rand.New(rand.NewPCG(cfg.Seed, 0xadf))
			idx := rng.Perm(len(pts))[:report.MaxMarked]
			slices.Sort(idx)
			var keep [][]float64
			for _, i := range idx {
				keep = append(keep, pts[i])
			}
			pts = keep
		}
		f.Marked, f.MarkedName = pts, fmt.Sprintf("%s ε = %g", strings.ToUpper(method), eps)
		break
	}
	g, err := report.LikelihoodGrid(f, opts.GridN)
	if err != nil {
		return nil, err
	}
	pts := g.Points()
	xs := make([][]float64, len(pts))
	for i, p := range pts {
		xs[i] = []float64{p[0], p[1]}
	}
	z, err := HeadLogLik(dir, xs)
	if err != nil {
		return nil, err
	}
	return &report.Likelihood{Features: f, Grid: g, Z: z, ZName: logLikName(cfg.Head)}, nil
}

// ReadAttacks reads every attack-<method>.json of a run directory, and the
// scores CSV of each where there is one.
func ReadAttacks(dir string) ([]report.Attack, []report.AttackScores, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "attack-*.json"))
	if err != nil {
		return nil, nil, err
	}
	var attacks []report.Attack
	var scores []report.AttackScores
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		var a report.Attack
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, nil, fmt.Errorf("%s: not an lgm attack summary: %w (rerun lgm attack, or move the file away)", p, err)
		}
		if a.Method == "" {
			a.Method = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "attack-"), ".json")
		}
		attacks = append(attacks, a)
		rows, err := ReadAttackScores(AttackScoresPath(dir, a.Method))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		scores = append(scores, report.AttackScores{Name: filepath.Base(dir), Method: a.Method, Rows: rows})
	}
	return attacks, scores, nil
}

// csvColumns reads a CSV header and returns the index of each wanted column.
func csvColumns(path string, header []string, want ...string) (map[string]int, error) {
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, w := range want {
		if _, ok := col[w]; !ok {
			return nil, fmt.Errorf("%s: no column %q in the header (want %s)", path, w, strings.Join(want, ","))
		}
	}
	return col, nil
}

// readCSV opens path and calls row for every record after the header.
func readCSV(path string, want []string, row func(line int, get func(string) string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	col, err := csvColumns(path, header, want...)
	if err != nil {
		return err
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := row(line, func(name string) string { return rec[col[name]] }); err != nil {
			return fmt.Errorf("%s line %d: %w", path, line, err)
		}
	}
}

// ReadAttackScores reads an attack's scores CSV
// (index,label,eps,prediction,loglik,posterior).
func ReadAttackScores(path string) ([]report.Score, error) {
	var rows []report.Score
	err := readCSV(path, []string{"index", "label", "eps", "prediction", "loglik", "posterior"}, func(_ int, get func(string) string) error {
		var s report.Score
		var errs []error
		atoi := func(name string) int {
			v, err := strconv.Atoi(get(name))
			errs = append(errs, err)
			return v
		}
		atof := func(name string) float64 {
			v, err := strconv.ParseFloat(get(name), 64)
			errs = append(errs, err)
			return v
		}
		s.Index, s.Label, s.Eps, s.Prediction = atoi("index"), atoi("label"), atof("eps"), atoi("prediction")
		s.LogLik, s.Posterior = atof("loglik"), atof("posterior")
		if err := errors.Join(errs...); err != nil {
			return err
		}
		rows = append(rows, s)
		return nil
	})
	return rows, err
}

// ReadAttackFeatures reads the 2-D features of the attacked images at eps
// (0: the smallest ε > 0 in the file) from index,label,eps,prediction,f1,f2,
// and returns them with the ε read.
func ReadAttackFeatures(path string, eps float64) ([][]float64, float64, error) {
	type row struct {
		eps  float64
		x, y float64
	}
	var rows []row
	err := readCSV(path, []string{"eps", "f1", "f2"}, func(_ int, get func(string) string) error {
		e, err1 := strconv.ParseFloat(get("eps"), 64)
		x, err2 := strconv.ParseFloat(get("f1"), 64)
		y, err3 := strconv.ParseFloat(get("f2"), 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		rows = append(rows, row{e, x, y})
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if eps <= 0 {
		eps = math.Inf(1)
		for _, r := range rows {
			if r.eps > 0 {
				eps = min(eps, r.eps)
			}
		}
	}
	var pts [][]float64
	for _, r := range rows {
		if r.eps == eps {
			pts = append(pts, []float64{r.x, r.y})
		}
	}
	if len(pts) == 0 {
		return nil, 0, fmt.Errorf("%s: no attacked images at ε = %g", path, eps)
	}
	return pts, eps, nil
}
