package report

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// chromium finds Debian's headless browser, or skips the test.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (apt-get install chromium): the report page is not checked in a browser")
	return ""
}

// runChromium runs a headless Chromium with a fresh profile on page.
func runChromium(t *testing.T, bin string, args ...string) (stdout, stderr []byte) {
	t.Helper()
	profile := t.TempDir()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile, "--virtual-time-budget=20000"}
	cmd := exec.Command(bin, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes(), errb.Bytes()
}

// imageCheck is added to a copy of the page: after loading, it records how
// many pictures the browser decoded (naturalWidth > 0) of how many.
const imageCheck = `<script>
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; }
  var p = document.createElement("p");
  p.id = "image-check";
  p.textContent = "decoded " + ok + " of " + imgs.length;
  document.body.appendChild(p);
});
</script>
</body>`

func TestReportInChromium(t *testing.T) {
	bin := chromium(t)
	runs := reportRuns(true)
	f := synthFeatures(3, 30, 2)
	runs[0].Features, runs[2].Features = &f, &f
	runs[0].Dim, runs[1].Dim, runs[2].Dim = 2, 2, 2
	doc, err := Build(runs, Options{Title: "browser check"})
	if err != nil {
		t.Fatal(err)
	}
	_, page, files, err := doc.Render()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	htmlPath := filepath.Join(dir, "report.html")
	checked := bytes.Replace(page, []byte("</body>"), []byte(imageCheck), 1)
	if err := os.WriteFile(htmlPath, checked, 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + htmlPath

	dom, stderr := runChromium(t, bin, "--dump-dom", url)
	tables := bytes.Count(page, []byte("<table>"))
	if got := bytes.Count(dom, []byte("<table>")); got != tables || tables < 4 {
		t.Errorf("DOM: got %d tables, want the page's %d (at least 4)", got, tables)
	}
	if got := regexp.MustCompile(`<img [^>]*src="data:image/png;base64,`).FindAll(dom, -1); len(got) != len(files) {
		t.Errorf("DOM: got %d inline pictures, want %d", len(got), len(files))
	}
	for name := range files {
		if !bytes.Contains(dom, []byte(`data-file="`+name+`"`)) {
			t.Errorf("DOM: picture %s is missing", name)
		}
	}
	want := []byte("decoded " + strconv.Itoa(len(files)) + " of " + strconv.Itoa(len(files)))
	if !bytes.Contains(dom, want) {
		m := regexp.MustCompile(`decoded \d+ of \d+`).Find(dom)
		t.Errorf("browser decoded pictures: got %q, want %q", m, want)
	}
	for _, bad := range []string{"net::ERR_", "Not allowed to load", "Failed to load"} {
		if bytes.Contains(stderr, []byte(bad)) {
			t.Errorf("chromium reported %q:\n%s", bad, stderr)
		}
	}

	shot := filepath.Join(dir, "report.png")
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1300,2400", "--hide-scrollbars", url)
	raw, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1300 || b.Dy() != 2400 {
		t.Errorf("screenshot: got %v, want 1300 × 2400", b)
	}
	// Something was drawn: more than a few colours (text, tables, pictures).
	colours := map[uint32]bool{}
	for y := 0; y < img.Bounds().Dy(); y += 4 {
		for x := 0; x < img.Bounds().Dx(); x += 4 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|b>>8] = true
		}
	}
	if len(colours) < 50 {
		t.Errorf("screenshot: got %d colours, want a rendered page (>= 50)", len(colours))
	}
	if out := os.Getenv("LGM_REPORT_SCREENSHOT"); out != "" {
		os.WriteFile(out, raw, 0o644)
	}
}
