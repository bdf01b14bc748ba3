package main

import (
	"errors"
	"strings"

	"github.com/lgm-dev/lgm/experiment"
)

// configFlags maps config keys to the flags of train and bench that set them.
var configFlags = map[string]string{
	"model.net": "--net", "model.width": "--width", "model.dim": "--dim",
	"head.name": "--head", "data.dataset": "--dataset", "data.augment": "--augment",
	"train.epochs": "--epochs", "train.batch": "--batch", "train.lr": "--lr", "train.limit": "--limit",
	"data.val": "--val", "train.keep": "--keep", "train.precision": "--precision",
}

// nameFlags rewrites a config's validation error so that each problem with a
// value the user gave by flag names that flag instead of the config key
// (given reports whether a flag was set on the command line). The result is
// a one-line usage error: the flags' problems alone when every problem came
// from a flag, else "invalid config FILE: …" with those from flags renamed.
func nameFlags(err error, given func(flag string) bool, file string) error {
	var ce *experiment.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	msgs := make([]string, len(ce.Errs))
	fromFlags := 0
	for i, e := range ce.Errs {
		msgs[i] = e.Error()
		var fe *experiment.FieldError
		if !errors.As(e, &fe) {
			continue
		}
		if strings.HasPrefix(fe.Field, "--") { // already named after the command line (--set …)
			fromFlags++
			continue
		}
		if flag, ok := configFlags[fe.Field]; ok && given(strings.TrimPrefix(flag, "--")) {
			msgs[i] = flag + fe.Rest
			fromFlags++
		}
	}
	if fromFlags == len(msgs) {
		return usageError{err: errors.New(strings.Join(msgs, "; "))}
	}
	where := "invalid config"
	if file != "" {
		where += " " + file
	}
	return usageError{err: errors.New(where + ": " + strings.Join(msgs, "; "))}
}
