//go:build unix

package sweep

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary play a child: with SWEEP_FAKE_CHILD=1 it
// behaves as lgm train does on signals (the first SIGINT: save and exit
// 130), but exits 99 on a second one, which the sweep must never send.
func TestMain(m *testing.M) {
	if os.Getenv("SWEEP_FAKE_CHILD") == "1" {
		sig := make(chan os.Signal, 2)
		signal.Notify(sig, os.Interrupt)
		fmt.Println("ready")
		<-sig
		fmt.Println("got SIGINT: checkpoint saved")
		select {
		case <-sig:
			fmt.Println("a second SIGINT")
			os.Exit(99)
		case <-time.After(200 * time.Millisecond):
		}
		os.Exit(130)
	}
	os.Exit(m.Run())
}

// A real child gets one SIGINT from Interrupt, in its own process group
// (so a terminal's Ctrl-C does not reach it as well), and its exit code 130
// comes back from Wait.
func TestStartProcessInterrupt(t *testing.T) {
	t.Setenv("SWEEP_FAKE_CHILD", "1")
	log := filepath.Join(t.TempDir(), "run", "train.log")
	p, err := StartProcess(Command{Args: []string{os.Args[0]}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	pid := p.(*process).cmd.Process.Pid
	if pgid, err := syscall.Getpgid(pid); err != nil || pgid == syscall.Getpgrp() {
		t.Errorf("child's process group %d (%v): want its own, not the sweep's %d", pgid, err, syscall.Getpgrp())
	}
	for deadline := time.Now().Add(time.Minute); ; { // until its handler is installed
		if raw, _ := os.ReadFile(log); strings.Contains(string(raw), "ready") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child never got ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.Interrupt(); err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait()
	raw, _ := os.ReadFile(log)
	if err != nil || code != 130 || !strings.Contains(string(raw), "got SIGINT") {
		t.Errorf("got exit code %d (%v), want 130; log:\n%s", code, err, raw)
	}
}
