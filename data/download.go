package data

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/lgm-dev/lgm/internal/fileio"
)

// cifarBaseURL is where the dataset authors publish the CIFAR archives
// (Krizhevsky, "Learning Multiple Layers of Features from Tiny Images",
// 2009). It is the only download host in lgm.
const cifarBaseURL = "https://www.cs.toronto.edu/~kriz"

// ArchiveSpec describes a dataset archive: its file name (fetched from
// <base URL>/<File>), its size in bytes and its MD5 digest in hex, as
// published with it.
type ArchiveSpec struct {
	File string
	Size int64
	MD5  string
}

// downloadable is a dataset Download can fetch.
type downloadable struct {
	name    string
	format  cifarFormat
	archive ArchiveSpec
}

// downloads lists the datasets Download knows, with the archives' published
// sizes and checksums.
var downloads = []downloadable{
	{"cifar10", cifar10Format, ArchiveSpec{File: "cifar-10-binary.tar.gz", Size: 170052171, MD5: "c32a1d4ab5d03f1284b67883e8d87530"}},
	{"cifar100", cifar100Format, ArchiveSpec{File: "cifar-100-binary.tar.gz", Size: 168513733, MD5: "03b5dce01913d631647c71ecec9e9cb8"}},
}

// DownloadNames returns the names Download accepts, in order.
func DownloadNames() []string {
	names := make([]string, len(downloads))
	for i, d := range downloads {
		names[i] = d.name
	}
	return names
}

// DownloadOptions adjusts Download. The zero value downloads from the
// dataset authors' site with http.DefaultClient and reports nothing.
type DownloadOptions struct {
	// BaseURL replaces the official site (for tests): the archive is
	// fetched from BaseURL + "/" + its file name.
	BaseURL string
	// Progress receives a progress bar and one-line status messages; nil
	// for none.
	Progress io.Writer
	// Client makes the requests; nil for http.DefaultClient. Cancel a
	// download through the context, not a client timeout: a whole archive
	// takes minutes.
	Client *http.Client
	// Expect replaces the published size and MD5 (for tests serving small
	// archives); its File, if set, replaces the archive's file name.
	Expect *ArchiveSpec
}

// downloadRetries is how many times in a row a download may fail without
// receiving a byte before Download gives up; downloadRetryDelay is the
// pause before retrying (tests shorten it).
var (
	downloadRetries    = 5
	downloadRetryDelay = 2 * time.Second
)

// maxUnpackBytes caps what an archive may unpack to: ten times the size of
// the official CIFAR releases unpacked.
const maxUnpackBytes = 2 << 30

// Download fetches dataset name ("cifar10" or "cifar100") into dir and
// returns the path of the dataset folder: dir/cifar-10-batches-bin or
// dir/cifar-100-binary, ready for LoadCIFAR10 or LoadCIFAR100.
//
// If that folder already exists and LoadCIFAR* would accept it, Download
// says so and returns at once; if it exists but is not valid, Download
// fails and leaves it alone.
//
// Otherwise it downloads the archive to dir/.partial/<archive>, resuming a
// partial file left by an interrupted run with an HTTP Range request (and
// starting again from zero if the server ignores the range or the partial
// file is larger than the archive), and retrying by itself when the
// connection drops. It then checks the size and MD5 (on a mismatch the
// file is deleted and the error gives both digests), unpacks it into a
// temporary folder inside dir, refusing absolute paths, ".." and links,
// validates the result with the CIFAR reader, and only then renames it
// into place and deletes the archive. So a run that is interrupted or fails
// never leaves something that looks like a dataset: at most the partial
// archive, which the next run resumes. Two Downloads into the same dir at
// the same time are not supported.
func Download(ctx context.Context, name, dir string, opts DownloadOptions) (path string, err error) {
	var d downloadable
	for _, c := range downloads {
		if c.name == name {
			d = c
		}
	}
	if d.name == "" {
		return "", fmt.Errorf("unknown dataset %q (want one of: %s)", name, strings.Join(DownloadNames(), ", "))
	}
	if dir == "" {
		return "", errors.New("no folder to download into (want --dir DIR)")
	}
	spec := d.archive
	if e := opts.Expect; e != nil {
		spec.Size, spec.MD5 = e.Size, e.MD5
		if e.File != "" {
			spec.File = e.File
		}
	}
	base := cifarBaseURL
	if opts.BaseURL != "" {
		base = opts.BaseURL
	}
	url := strings.TrimSuffix(base, "/") + "/" + spec.File
	var bar *progressbar.ProgressBar
	say := func(format string, args ...any) {
		if opts.Progress == nil {
			return
		}
		if bar != nil && !bar.IsFinished() {
			bar.Clear() // a message, not a half-drawn bar, on its line
		}
		fmt.Fprintf(opts.Progress, format+"\n", args...)
	}
	retry := fmt.Sprintf("run `lgm data download %s --dir %s` again", name, dir)

	dest := filepath.Join(dir, d.format.folder)
	if _, err := os.Lstat(dest); err == nil {
		if err := checkCIFAR(dest, d.format); err != nil {
			return "", fmt.Errorf("%s already exists but is not a valid %s folder (%v); move or delete it and %s", dest, d.format.title, err, retry)
		}
		say("%s is already in %s", d.format.title, dest)
		return dest, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}

	partialDir := filepath.Join(dir, ".partial")
	if err := os.MkdirAll(partialDir, 0o755); err != nil {
		return "", err
	}
	archive := filepath.Join(partialDir, spec.File)
	f := &fetcher{ctx: ctx, url: url, file: archive, spec: spec, say: say, retry: retry, client: opts.Client}
	if f.client == nil {
		f.client = http.DefaultClient
	}
	if opts.Progress != nil {
		bar = progressbar.NewOptions64(spec.Size,
			progressbar.OptionSetWriter(opts.Progress),
			progressbar.OptionSetDescription(spec.File),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(20),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(opts.Progress) }),
		)
		f.bar = bar
	}
	if err := f.fetch(); err != nil {
		return "", err
	}
	if err := checkArchive(archive, spec, url, retry); err != nil {
		return "", err
	}
	say("unpacking %s", archive)
	if err := unpackCIFAR(archive, dir, dest, d.format); err != nil {
		return "", err
	}
	os.Remove(archive)
	os.Remove(partialDir) // only if empty
	say("%s is ready in %s", d.format.title, dest)
	return dest, nil
}

// fetcher downloads one archive to file, resuming and retrying.
type fetcher struct {
	ctx    context.Context
	client *http.Client
	url    string
	file   string
	spec   ArchiveSpec
	bar    *progressbar.ProgressBar // nil for none
	say    func(format string, args ...any)
	retry  string // what to run to try again, for messages
}

// transientError marks a failure worth retrying: the connection dropped,
// the server stopped early or resumed in the wrong place.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// fetch makes the partial file complete: spec.Size bytes, not yet checked.
func (f *fetcher) fetch() error {
	failures := 0
	for {
		have := int64(0)
		if fi, err := os.Stat(f.file); err == nil {
			have = fi.Size()
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if have > f.spec.Size {
			f.say("%s is larger than the %d-byte archive; starting again", f.file, f.spec.Size)
			if err := os.Remove(f.file); err != nil {
				return err
			}
			have = 0
		}
		if have == f.spec.Size {
			if f.bar != nil {
				f.bar.Set64(have)
			}
			return nil
		}
		got, err := f.get(have)
		if err == nil {
			continue // the loop checks the size
		}
		var te *transientError
		if !errors.As(err, &te) {
			return err
		}
		if got > 0 {
			failures = 0
		}
		failures++
		if failures >= downloadRetries {
			return fmt.Errorf("downloading %s: giving up after %d attempts without progress: %w; %s to resume", f.url, failures, err, f.retry)
		}
		f.say("download interrupted (%v); retrying", err)
		select {
		case <-f.ctx.Done():
			return f.interrupted(f.ctx.Err())
		case <-time.After(downloadRetryDelay):
		}
	}
}

// interrupted reports a download stopped by the context.
func (f *fetcher) interrupted(err error) error {
	have := int64(0)
	if fi, err := os.Stat(f.file); err == nil {
		have = fi.Size()
	}
	return fmt.Errorf("download of %s interrupted after %d of %d bytes (%w); %s to resume", f.url, have, f.spec.Size, err, f.retry)
}

// get requests the archive from byte offset have (0: all of it) and
// appends what arrives to the partial file. It returns how many bytes it
// wrote. A *transientError means trying again may help.
func (f *fetcher) get(have int64) (int64, error) {
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return 0, fmt.Errorf("downloading %s: %w", f.url, err)
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if f.ctx.Err() != nil {
			return 0, f.interrupted(f.ctx.Err())
		}
		return 0, &transientError{err}
	}
	defer resp.Body.Close()

	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		switch {
		case ok && total >= 0 && total != f.spec.Size:
			os.Remove(f.file)
			return 0, f.wrongSize(total)
		case !ok || start != have:
			// Not what we asked for: start again from zero.
			os.Remove(f.file)
			return 0, &transientError{fmt.Errorf("server answered a request from byte %d with range %q", have, resp.Header.Get("Content-Range"))}
		}
	case resp.StatusCode == http.StatusOK:
		if have > 0 {
			f.say("the server ignored the request to resume at byte %d; starting again from zero", have)
			have = 0
		}
		if resp.ContentLength >= 0 && resp.ContentLength != f.spec.Size {
			return 0, f.wrongSize(resp.ContentLength)
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		os.Remove(f.file)
		return 0, &transientError{fmt.Errorf("server cannot resume at byte %d (%s)", have, resp.Status)}
	default:
		return 0, fmt.Errorf("downloading %s: server says %s", f.url, resp.Status)
	}

	flags := os.O_CREATE | os.O_WRONLY
	if have == 0 {
		flags |= os.O_TRUNC
	}
	// The partial file is lgm's own: never written through a symlink, and
	// it must be a regular file.
	file, err := os.OpenFile(f.file, flags|fileio.NoFollow, 0o644)
	if err != nil {
		return 0, fmt.Errorf("cannot write the partial download %s (if it is a symlink, remove it): %w", f.file, err)
	}
	if fi, err := file.Stat(); err != nil || !fi.Mode().IsRegular() {
		file.Close()
		return 0, fmt.Errorf("%s: the partial download is not a regular file; remove it and %s", f.file, f.retry)
	}
	if err := file.Truncate(have); err != nil {
		file.Close()
		return 0, err
	}
	if _, err := file.Seek(have, io.SeekStart); err != nil {
		file.Close()
		return 0, err
	}
	var dst io.Writer = file
	if f.bar != nil {
		f.bar.Set64(have)
		dst = io.MultiWriter(file, f.bar)
	}
	want := f.spec.Size - have
	got, err := io.Copy(dst, io.LimitReader(resp.Body, want+1))
	if cerr := file.Close(); err == nil && cerr != nil {
		return got, cerr
	}
	switch {
	case got > want:
		os.Remove(f.file)
		return got, fmt.Errorf("downloading %s: the server sent more than the %d bytes of the archive; the file has been deleted", f.url, f.spec.Size)
	case err != nil && f.ctx.Err() != nil:
		return got, f.interrupted(f.ctx.Err())
	case err != nil:
		return got, &transientError{fmt.Errorf("connection lost after %d of %d bytes: %w", have+got, f.spec.Size, err)}
	case got < want:
		return got, &transientError{fmt.Errorf("server stopped after %d of %d bytes", have+got, f.spec.Size)}
	}
	return got, nil
}

// wrongSize reports a server whose archive is not the expected size.
func (f *fetcher) wrongSize(size int64) error {
	return fmt.Errorf("downloading %s: the server's file is %d bytes, want %d: not the published archive (has it changed?)", f.url, size, f.spec.Size)
}

// parseContentRange parses "bytes START-END/TOTAL" (TOTAL may be "*",
// returned as -1).
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, size, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	first, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	if size == "*" {
		return start, -1, true
	}
	total, err = strconv.ParseInt(size, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return start, total, true
}

// checkArchive checks the size and MD5 of the downloaded archive, deleting
// it if either is wrong.
func checkArchive(archive string, spec ArchiveSpec, url, retry string) error {
	file, _, err := fileio.Open(archive, "a downloaded archive", maxArchiveBytes)
	if err != nil {
		return err
	}
	h := md5.New()
	n, err := io.Copy(h, file)
	file.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", archive, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if n == spec.Size && strings.EqualFold(sum, spec.MD5) {
		return nil
	}
	os.Remove(archive)
	return fmt.Errorf("%s: %d bytes with MD5 %s, want %d bytes with MD5 %s: the download is corrupt or not the published archive, and has been deleted; %s (if it fails again, download %s by hand and compare its MD5)",
		archive, n, sum, spec.Size, strings.ToLower(spec.MD5), retry, url)
}

// unpackCIFAR unpacks archive into a new temporary folder inside dir,
// checks that it holds a valid release of format, and renames the release
// folder to dest. The temporary folder is removed whatever happens.
func unpackCIFAR(archive, dir, dest string, format cifarFormat) error {
	tmp, err := os.MkdirTemp(dir, ".unpack-"+format.dataset+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := untar(archive, tmp); err != nil {
		return err
	}
	got := filepath.Join(tmp, format.folder)
	if !isDir(got) {
		return fmt.Errorf("%s: has no %s/ folder: not the %s binary release", archive, format.folder, format.title)
	}
	if err := checkCIFAR(got, format); err != nil {
		return fmt.Errorf("%s: unpacks to an invalid %s release: %w", archive, format.title, err)
	}
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("%s appeared while unpacking (another download?); leaving it alone", dest)
	}
	return os.Rename(got, dest)
}

// untar unpacks the gzip-compressed tar archive into dir (which must exist
// and be empty). Only folders and regular files are allowed, with relative
// names that stay inside dir, and at most maxUnpackBytes in all.
func untar(archive, dir string) error {
	file, _, err := fileio.Open(archive, "a downloaded archive", maxArchiveBytes)
	if err != nil {
		return err
	}
	defer file.Close()
	zr, err := newGzipReader(bufio.NewReaderSize(file, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: %w", archive, err)
	}
	tr := tar.NewReader(zr)
	var total int64
	last := ""
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return archiveError(archive, last, err)
		}
		last = hdr.Name
		name := filepath.FromSlash(strings.TrimSuffix(hdr.Name, "/"))
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		if !filepath.IsLocal(name) || strings.Contains(hdr.Name, `\`) {
			return fmt.Errorf("%s: entry %q points outside the folder it unpacks to (absolute path or ..); refusing to unpack it", archive, hdr.Name)
		}
		target := filepath.Join(dir, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if hdr.Size < 0 || hdr.Size > maxUnpackBytes-total {
				return fmt.Errorf("%s: unpacks to more than %d bytes (at %s); refusing to unpack it", archive, int64(maxUnpackBytes), hdr.Name)
			}
			total += hdr.Size
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("%s: unpacking %s: %w", archive, hdr.Name, err)
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return archiveError(archive, hdr.Name, err)
			}
		default:
			return fmt.Errorf("%s: entry %q is a %s, not a file or folder; refusing to unpack it", archive, hdr.Name, tarTypeName(hdr.Typeflag))
		}
	}
}

func tarTypeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	case tar.TypeFifo:
		return "named pipe"
	}
	return fmt.Sprintf("tar entry of type %q", t)
}
