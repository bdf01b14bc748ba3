package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// cifar10Archive is a small archive in the layout of cifar-10-binary.tar.gz:
// a few records per file.
func cifar10Archive(t testing.TB) []byte {
	t.Helper()
	files := withPrefix(CIFAR10Folder+"/", cifar10Files([6]int{2, 1, 1, 1, 3, 2}))
	files[CIFAR10Folder+"/readme.html"] = []byte("<p>CIFAR-10</p>")
	return tarBytes(t, files, true)
}

func cifar100Archive(t testing.TB) []byte {
	t.Helper()
	return tarBytes(t, withPrefix(CIFAR100Folder+"/", cifar100Files(3, 2)), true)
}

// specOf returns the size and MD5 of b.
func specOf(b []byte) *ArchiveSpec {
	sum := md5.Sum(b)
	return &ArchiveSpec{Size: int64(len(b)), MD5: hex.EncodeToString(sum[:])}
}

// archiveServer serves an archive from a test server on 127.0.0.1 and
// records the requests it gets.
type archiveServer struct {
	*httptest.Server
	mu     sync.Mutex
	ranges []string // the Range header of each request ("" for none)
	paths  []string // the URL path of each request
	sent   int64    // body bytes written
}

// serve starts a server whose handler is h; h gets the index of the
// request.
func serve(t *testing.T, h func(w http.ResponseWriter, r *http.Request, i int) int64) *archiveServer {
	t.Helper()
	s := &archiveServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		i := len(s.ranges)
		s.ranges = append(s.ranges, r.Header.Get("Range"))
		s.paths = append(s.paths, r.URL.Path)
		s.mu.Unlock()
		n := h(w, r, i)
		s.mu.Lock()
		s.sent += n
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

// requests returns the Range headers of the requests so far.
func (s *archiveServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// serveContent serves data with Range support, as a real server does.
func serveContent(data []byte) func(http.ResponseWriter, *http.Request, int) int64 {
	return func(w http.ResponseWriter, r *http.Request, _ int) int64 {
		cw := &countingWriter{ResponseWriter: w}
		http.ServeContent(cw, r, "", time.Time{}, bytes.NewReader(data))
		return cw.n
	}
}

// cutOnce sends the first half of data to the first request, then drops the
// connection; later requests are served properly.
func cutOnce(t *testing.T, data []byte) func(http.ResponseWriter, *http.Request, int) int64 {
	return func(w http.ResponseWriter, r *http.Request, i int) int64 {
		if i > 0 {
			return serveContent(data)(w, r, i)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		n, _ := w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("case cut: cannot hijack the connection: %v", err)
			return int64(n)
		}
		conn.Close()
		return int64(n)
	}
}

// fastRetries makes Download retry at once for the rest of the test.
func fastRetries(t *testing.T) {
	old := downloadRetryDelay
	downloadRetryDelay = time.Millisecond
	t.Cleanup(func() { downloadRetryDelay = old })
}

// checkNothingValid checks that dir holds nothing that looks like a
// dataset: no release folder, no temporary folder.
func checkNothingValid(t *testing.T, name, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != ".partial" {
			t.Errorf("case %v: got %s left in the download folder, want only .partial", name, e.Name())
		}
	}
}

// checkDownloadError checks a failed Download: an error containing words,
// on one line, and nothing that looks like a dataset.
func checkDownloadError(t *testing.T, name, dir, path string, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("case %v: got %s, want an error", name, path)
		return
	}
	t.Logf("case %v: %v", name, err)
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("case %v: got %q, want it to contain %q", name, err, w)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("case %v: got %q, want one line", name, err)
	}
	checkNothingValid(t, name, dir)
}

func TestDownload(t *testing.T) {
	for _, tc := range []struct {
		name    string
		archive []byte
		file    string
		load    func(string) (*Set, *Set, error)
		n       [2]int
	}{
		{"cifar10", cifar10Archive(t), "cifar-10-binary.tar.gz", LoadCIFAR10, [2]int{8, 2}},
		{"cifar100", cifar100Archive(t), "cifar-100-binary.tar.gz", func(p string) (*Set, *Set, error) { return LoadCIFAR100(p, false) }, [2]int{3, 2}},
	} {
		srv := serve(t, serveContent(tc.archive))
		dir := t.TempDir()
		var progress bytes.Buffer
		path, err := Download(context.Background(), tc.name, dir, DownloadOptions{BaseURL: srv.URL + "/some/mirror/", Progress: &progress, Expect: specOf(tc.archive)})
		if err != nil {
			t.Errorf("case %v: got error %v, want none", tc.name, err)
			continue
		}
		if want := filepath.Join(dir, map[string]string{"cifar10": CIFAR10Folder, "cifar100": CIFAR100Folder}[tc.name]); path != want {
			t.Errorf("case %v: got path %s, want %s", tc.name, path, want)
		}
		srv.mu.Lock()
		paths := srv.paths
		srv.mu.Unlock()
		if want := []string{"/some/mirror/" + tc.file}; !reflect.DeepEqual(paths, want) {
			t.Errorf("case %v: got requests for %v, want %v", tc.name, paths, want)
		}
		train, test, err := tc.load(path)
		if err != nil || train.N != tc.n[0] || test.N != tc.n[1] {
			t.Errorf("case %v: got %v reading the download, want %d and %d examples", tc.name, err, tc.n[0], tc.n[1])
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Errorf("case %v: got %d entries in the download folder, want only the dataset (archive and temporary folders deleted)", tc.name, len(ents))
		}
		if !strings.Contains(progress.String(), "is ready in "+path) {
			t.Errorf("case %v: got progress %q, want it to say where the dataset is", tc.name, progress.String())
		}
	}
}

// TestDownloadResume cuts the connection half-way: Download must resume
// with a Range request by itself, and a later run must resume a partial
// file left by an earlier one.
func TestDownloadResume(t *testing.T) {
	fastRetries(t)
	archive := cifar10Archive(t)
	half := len(archive) / 2

	srv := serve(t, cutOnce(t, archive))
	dir := t.TempDir()
	var progress bytes.Buffer
	path, err := Download(context.Background(), "cifar10", dir, DownloadOptions{BaseURL: srv.URL, Progress: &progress, Expect: specOf(archive)})
	if err != nil {
		t.Fatalf("case cut: got error %v, want none", err)
	}
	if got, want := srv.requests(), []string{"", "bytes=" + strconv.Itoa(half) + "-"}; !reflect.DeepEqual(got, want) {
		t.Errorf("case cut: got requests with ranges %q, want %q", got, want)
	}
	srv.mu.Lock()
	sent := srv.sent
	srv.mu.Unlock()
	if sent != int64(len(archive)) {
		t.Errorf("case cut: got %d bytes sent, want %d (each byte once)", sent, len(archive))
	}
	if !strings.Contains(progress.String(), "retrying") {
		t.Errorf("case cut: got progress %q, want it to say it retried", progress.String())
	}
	if _, _, err := LoadCIFAR10(path); err != nil {
		t.Errorf("case cut: got %v reading the download, want none", err)
	}

	// An earlier run left the first half.
	srv = serve(t, serveContent(archive))
	dir = t.TempDir()
	writeFiles(t, filepath.Join(dir, ".partial"), map[string][]byte{"cifar-10-binary.tar.gz": archive[:half]})
	if _, err := Download(context.Background(), "cifar10", dir, DownloadOptions{BaseURL: srv.URL, Expect: specOf(archive)}); err != nil {
		t.Errorf("case partial file: got error %v, want none", err)
	}
	if got, want := srv.requests(), []string{"bytes=" + strconv.Itoa(half) + "-"}; !reflect.DeepEqual(got, want) {
		t.Errorf("case partial file: got requests with ranges %q, want %q", got, want)
	}
}

// TestDownloadRestarts checks the cases where a partial file must be
// thrown away: the server ignores Range, or the file is too large.
func TestDownloadRestarts(t *testing.T) {
	archive := cifar10Archive(t)
	ignoreRange := func(w http.ResponseWriter, r *http.Request, _ int) int64 {
		n, _ := w.Write(archive) // 200, the whole file, whatever was asked
		return int64(n)
	}
	for _, tc := range []struct {
		name    string
		partial []byte
		handler func(http.ResponseWriter, *http.Request, int) int64
		ranges  []string
		say     string
	}{
		// Garbage in the partial file: appending to it would fail the MD5.
		{"server ignores range", bytes.Repeat([]byte{'x'}, 100), ignoreRange, []string{"bytes=100-"}, "ignored the request to resume"},
		{"partial too large", append(append([]byte(nil), archive...), 1, 2, 3), serveContent(archive), []string{""}, "larger than"},
		{"partial complete", archive, serveContent(archive), nil, "ready"},
	} {
		srv := serve(t, tc.handler)
		dir := t.TempDir()
		writeFiles(t, filepath.Join(dir, ".partial"), map[string][]byte{"cifar-10-binary.tar.gz": tc.partial})
		var progress bytes.Buffer
		path, err := Download(context.Background(), "cifar10", dir, DownloadOptions{BaseURL: srv.URL, Progress: &progress, Expect: specOf(archive)})
		if err != nil {
			t.Errorf("case %v: got error %v, want none", tc.name, err)
			continue
		}
		if got := srv.requests(); !reflect.DeepEqual(got, tc.ranges) {
			t.Errorf("case %v: got requests with ranges %q, want %q", tc.name, got, tc.ranges)
		}
		if !strings.Contains(progress.String(), tc.say) {
			t.Errorf("case %v: got progress %q, want it to contain %q", tc.name, progress.String(), tc.say)
		}
		if _, _, err := LoadCIFAR10(path); err != nil {
			t.Errorf("case %v: got %v reading the download, want none", tc.name, err)
		}
	}
}

func TestDownloadBadChecksum(t *testing.T) {
	archive := cifar10Archive(t)
	srv := serve(t, serveContent(archive))
	dir := t.TempDir()
	expect := specOf(archive)
	got := expect.MD5
	expect.MD5 = "0123456789abcdef0123456789abcdef"
	path, err := Download(context.Background(), "cifar10", dir, DownloadOptions{BaseURL: srv.URL, Expect: expect})
	checkDownloadError(t, "bad checksum", dir, path, err, "MD5 "+got, "want "+strconv.Itoa(len(archive))+" bytes with MD5 0123456789abcdef0123456789abcdef",
		"deleted", "lgm data download cifar10 --dir "+dir, srv.URL+"/cifar-10-binary.tar.gz")
	if _, err := os.Stat(filepath.Join(dir, ".partial", "cifar-10-binary.tar.gz")); err == nil {
		t.Errorf("case bad checksum: got the archive kept, want it deleted")
	}
}

// TestDownloadBadArchive serves archives whose checksum matches (the test
// says so) but whose content is unusable.
func TestDownloadBadArchive(t *testing.T) {
	good := cifar10Archive(t)
	files := withPrefix(CIFAR10Folder+"/", cifar10Files([6]int{1, 1, 1, 1, 1, 1}))
	withEntry := func(hdr tar.Header, body []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		w := tar.NewWriter(zw)
		for name, b := range files {
			w.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Size: int64(len(b)), Mode: 0o644})
			w.Write(b)
		}
		hdr.Size = int64(len(body))
		w.WriteHeader(&hdr)
		w.Write(body)
		w.Close()
		zw.Close()
		return buf.Bytes()
	}
	badLabel := withPrefix(CIFAR10Folder+"/", cifar10Files([6]int{1, 1, 1, 1, 1, 1}))
	badLabel[CIFAR10Folder+"/data_batch_2.bin"] = cifarBytes(0, []byte{3}, []byte{12})
	missing := withPrefix(CIFAR10Folder+"/", cifar10Files([6]int{1, 1, 1, 1, 1, 1}))
	delete(missing, CIFAR10Folder+"/test_batch.bin")

	outside := t.TempDir() // where a traversal would land
	for _, tc := range []struct {
		name    string
		archive []byte
		words   []string
	}{
		{"truncated", good[:len(good)*2/3], []string{"truncated"}},
		{"not gzip", []byte("this is not an archive at all"), []string{"corrupt gzip stream"}},
		{"dot dot", withEntry(tar.Header{Name: CIFAR10Folder + "/../../" + filepath.Base(outside) + "/evil", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("x")),
			[]string{"points outside", "refusing"}},
		{"absolute", withEntry(tar.Header{Name: filepath.Join(outside, "evil"), Typeflag: tar.TypeReg, Mode: 0o644}, []byte("x")),
			[]string{"points outside", "refusing"}},
		{"symlink", withEntry(tar.Header{Name: CIFAR10Folder + "/link", Typeflag: tar.TypeSymlink, Linkname: outside}, nil),
			[]string{"is a symbolic link", "refusing"}},
		{"hard link", withEntry(tar.Header{Name: CIFAR10Folder + "/hard", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}, nil),
			[]string{"is a hard link", "refusing"}},
		{"bad label", tarBytes(t, badLabel, true), []string{"invalid CIFAR-10 release", "data_batch_2.bin: record 1 has label 12"}},
		{"missing file", tarBytes(t, missing, true), []string{"invalid CIFAR-10 release", "missing test_batch.bin"}},
		{"wrong layout", tarBytes(t, cifar10Files([6]int{1, 1, 1, 1, 1, 1}), true), []string{"has no cifar-10-batches-bin/ folder"}},
	} {
		srv := serve(t, serveContent(tc.archive))
		dir := t.TempDir()
		path, err := Download(context.Background(), "cifar10", dir, DownloadOptions{BaseURL: srv.URL, Expect: specOf(tc.archive)})
		checkDownloadError(t, tc.name, dir, path, err, tc.words...)
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Errorf("case %v: got %d files written outside the download folder, want none", tc.name, len(ents))
		}
	}
}

func TestDownloadAlreadyPresent(t *testing.T) {
	srv := serve(t, serveContent(cifar10Archive(t)))
	dir := t.TempDir()
	dest := writeFiles(t, filepath.Join(dir, CIFAR10Folder), cifar10Files([6]int{1, 1, 1, 1, 1, 1}))
	var progress bytes.Buffer
	path, err := Download(context.Background(), "cifar10", dir, DownloadOptions{BaseURL: srv.URL, Progress: &progress})
	if err != nil || path != dest {
		t.Errorf("case present: got %q, %v, want %q, nil", path, err, dest)
	}
	if !strings.Contains(progress.String(), "already in "+dest) {
		t.Errorf("case present: got progress %q, want it to say the dataset is already there", progress.String())
	}

	// Present but broken: left alone, with advice.
	writeFile(t, dest, "data_batch_3.bin", []byte("oops"))
	path, err = Download(context.Background(), "cifar10", dir, DownloadOptions{BaseURL: srv.URL})
	if err == nil || !strings.Contains(err.Error(), "already exists but is not a valid CIFAR-10 folder") || !strings.Contains(err.Error(), "move or delete it") {
		t.Errorf("case broken: got %q, %v, want an error saying what to do", path, err)
	}
	if got := srv.requests(); len(got) != 0 {
		t.Errorf("case present: got %d requests, want none", len(got))
	}
}

func TestDownloadErrors(t *testing.T) {
	fastRetries(t)
	archive := cifar10Archive(t)
	notFound := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) int64 {
		http.NotFound(w, r)
		return 0
	})
	okServer := serve(t, serveContent(archive))
	hangUp := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) int64 {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return 0
	})
	for _, tc := range []struct {
		name, dataset string
		opts          DownloadOptions
		words         []string
	}{
		{"unknown", "cifar11", DownloadOptions{}, []string{`unknown dataset "cifar11" (want one of: cifar10, cifar100)`}},
		{"not found", "cifar10", DownloadOptions{BaseURL: notFound.URL}, []string{notFound.URL + "/cifar-10-binary.tar.gz", "404 Not Found"}},
		{"wrong size", "cifar10", DownloadOptions{BaseURL: okServer.URL, Expect: &ArchiveSpec{Size: 12345, MD5: "00"}},
			[]string{"is " + strconv.Itoa(len(archive)) + " bytes, want 12345"}},
		{"always hangs up", "cifar10", DownloadOptions{BaseURL: hangUp.URL, Expect: specOf(archive)},
			[]string{"giving up after 5 attempts without progress", "to resume"}},
	} {
		dir := t.TempDir()
		path, err := Download(context.Background(), tc.dataset, dir, tc.opts)
		checkDownloadError(t, tc.name, dir, path, err, tc.words...)
	}
}

// TestDownloadCancel cancels the context in the middle of the body: the
// partial file stays for the next run, which resumes it.
func TestDownloadCancel(t *testing.T) {
	archive := cifar10Archive(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := serve(t, func(w http.ResponseWriter, r *http.Request, i int) int64 {
		if i > 0 {
			return serveContent(archive)(w, r, i)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(archive)))
		n, _ := w.Write(archive[:len(archive)/3])
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the rest never comes
		return int64(n)
	})
	dir := t.TempDir()
	partial := filepath.Join(dir, ".partial", "cifar-10-binary.tar.gz")
	go func() {
		// Cancel once the served third is on disk (however long a loaded
		// machine takes to write it: the test's own timeout bounds the wait).
		for {
			if fi, err := os.Stat(partial); err == nil && fi.Size() == int64(len(archive)/3) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	path, err := Download(ctx, "cifar10", dir, DownloadOptions{BaseURL: srv.URL, Expect: specOf(archive)})
	checkDownloadError(t, "cancel", dir, path, err, "interrupted after "+strconv.Itoa(len(archive)/3)+" of", "to resume")
	if fi, err := os.Stat(partial); err != nil || fi.Size() != int64(len(archive)/3) {
		t.Errorf("case cancel: got %v, want the partial file of %d bytes kept", err, len(archive)/3)
	}
	if _, err := Download(context.Background(), "cifar10", dir, DownloadOptions{BaseURL: srv.URL, Expect: specOf(archive)}); err != nil {
		t.Errorf("case resume after cancel: got error %v, want none", err)
	}
	if got, want := srv.requests(), []string{"", "bytes=" + strconv.Itoa(len(archive)/3) + "-"}; !reflect.DeepEqual(got, want) {
		t.Errorf("case resume after cancel: got requests with ranges %q, want %q", got, want)
	}
}

func TestParseContentRange(t *testing.T) {
	for _, tc := range []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 0-0/*", 0, -1, true},
		{"bytes */200", 0, 0, false},
		{"items 1-2/3", 0, 0, false},
		{"", 0, 0, false},
		{"bytes -5-9/10", 0, 0, false},
	} {
		start, total, ok := parseContentRange(tc.in)
		if start != tc.start || total != tc.total || ok != tc.ok {
			t.Errorf("case %q: got %d %d %v, want %d %d %v", tc.in, start, total, ok, tc.start, tc.total, tc.ok)
		}
	}
}
