package report

import (
	"cmp"
	"fmt"
	"slices"
)

// Run is one training run as the report sees it: what it is, how it ended,
// and whatever was measured of it. Fields that were not measured are nil.
type Run struct {
	Name    string // the run directory's name
	Dataset string
	// Folder: the data were a folder of images labelled as Dataset
	// (data.name), e.g. a JPEG copy of CIFAR-10, not its official files.
	Folder  bool
	Net     string
	Dim     int
	Head    string
	Setting string  // the head's settings in words: "α = 1, λ = 0.1"
	Alpha   float64 // lgm's final α, for the paper's cells
	Augment bool
	// Key is the run's config with the seed (and paths) left out: runs with
	// the same Key are seeds of one experiment.
	Key         string
	Seed        uint64
	Epochs      int // finished
	EpochsTotal int // configured
	// TestError is the test error after the last finished epoch (never the
	// best epoch), a fraction of TestN images.
	TestError float64
	TestN     int
	Curve     Curve

	Calibration *Calibration // of the checkpoint's test posteriors
	Top5        *float64     // top-5 test error (a fraction)
	Classes     []string     // class names, for the confusion matrix
	Confusion   [][]int      // [true][predicted] counts
	Features    *Features    // test features (Figure 1 a–e), D = 2 runs
	Likelihood  *Likelihood  // the likelihood map (Figure 1 f), D = 2 runs
	Attacks     []Attack     // attack-<method>.json files
	Scores      []AttackScores
}

// Group is the runs of one setting over seeds.
type Group struct {
	Runs  []*Run // sorted by seed
	Error MeanStd
}

// First is the group's first run, which names the setting.
func (g *Group) First() *Run { return g.Runs[0] }

// Setting is what the paper's numbers are looked up by.
func (g *Group) Setting() PaperSetting {
	r := g.First()
	return PaperSetting{Dataset: r.Dataset, Net: r.Net, Head: r.Head, Dim: r.Dim, Alpha: r.Alpha, Augment: r.Augment}
}

// Label names the group in a table: "lgm (α = 1, λ = 0.1)".
func (g *Group) Label() string {
	r := g.First()
	if r.Setting == "" {
		return r.Head
	}
	return fmt.Sprintf("%s (%s)", r.Head, r.Setting)
}

// Epochs says how many epochs the group's runs finished: "30" or "20–30".
func (g *Group) Epochs() string {
	lo, hi := g.Runs[0].Epochs, g.Runs[0].Epochs
	for _, r := range g.Runs {
		lo, hi = min(lo, r.Epochs), max(hi, r.Epochs)
	}
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}

// GroupRuns groups runs by Key (runs that differ only in their seed), in
// the order the groups first appear, each group's runs sorted by seed. A
// group's error is the mean and sample standard deviation over its runs of
// the last epoch's test error. Runs with no finished epoch are left out.
func GroupRuns(runs []*Run) []*Group {
	var groups []*Group
	byKey := map[string]*Group{}
	for _, r := range runs {
		if r.Epochs == 0 {
			continue
		}
		g := byKey[r.Key]
		if g == nil {
			g = &Group{}
			byKey[r.Key] = g
			groups = append(groups, g)
		}
		g.Runs = append(g.Runs, r)
	}
	for _, g := range groups {
		slices.SortStableFunc(g.Runs, func(a, b *Run) int { return cmp.Compare(a.Seed, b.Seed) })
		errs := make([]float64, len(g.Runs))
		for i, r := range g.Runs {
			errs[i] = r.TestError
		}
		g.Error = Summarize(errs)
	}
	return groups
}

// attackAt returns the results at eps of the method's attack in each of g's
// runs that has one.
func (g *Group) attackAt(method string, eps float64) []AttackEps {
	var out []AttackEps
	for _, r := range g.Runs {
		for _, a := range r.Attacks {
			if a.Method != method {
				continue
			}
			for _, e := range a.Results {
				if near(e.Eps, eps) {
					out = append(out, e)
				}
			}
		}
	}
	return out
}

// methods lists the attack methods and their ε found in the groups' runs.
func methods(groups []*Group) (names []string, eps map[string][]float64) {
	eps = map[string][]float64{}
	for _, g := range groups {
		for _, r := range g.Runs {
			for _, a := range r.Attacks {
				if _, ok := eps[a.Method]; !ok {
					names = append(names, a.Method)
				}
				for _, e := range a.Results {
					eps[a.Method] = append(eps[a.Method], e.Eps)
				}
			}
		}
	}
	slices.Sort(names)
	for m := range eps {
		slices.Sort(eps[m])
		eps[m] = slices.Compact(eps[m])
	}
	return names, eps
}
