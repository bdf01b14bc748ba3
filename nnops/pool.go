package nnops

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// threads bounds the workers one op call uses.
var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// SetThreads bounds the goroutines each op call uses (default
// runtime.GOMAXPROCS(0) at start-up). n < 1 means 1.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	if n > 256 {
		n = 256
	}
	threads.Store(int32(n))
}

// Threads reports the bound set by SetThreads.
func Threads() int { return int(threads.Load()) }

// slotsFor is the number of workers a loop over n items uses.
func slotsFor(n int) int {
	t := Threads()
	if t > n {
		t = n
	}
	if t < 1 {
		t = 1
	}
	return t
}

// body is the work of a parallel loop: item(slot, i) processes item i on
// worker slot. A slot is used by one goroutine at a time, so per-slot
// buffers need no locking.
type body interface {
	item(slot, i int)
}

// loop runs a body over items 0..n-1: slot s first takes item s (so that
// every slot does some work, which the tests rely on to exercise per-slot
// buffers), then the slots take the rest one at a time, so that a slot slowed
// by another process on the host does less. The items are images or groups
// of planes, large enough to amortise that. An op keeps its loops in its
// struct so that running one allocates nothing.
type loop struct {
	body body
	n    int
	next atomic.Int64
	wg   sync.WaitGroup
}

type job struct {
	l    *loop
	slot int
}

var (
	jobs     = make(chan job, 256)
	poolMu   sync.Mutex
	poolSize atomic.Int32
)

// grow starts pool goroutines until there are at least n.
func grow(n int) {
	if int(poolSize.Load()) >= n {
		return
	}
	poolMu.Lock()
	defer poolMu.Unlock()
	for int(poolSize.Load()) < n {
		go serve()
		poolSize.Add(1)
	}
}

func serve() {
	for j := range jobs {
		j.l.drain(j.slot)
		j.l.wg.Done()
	}
}

func (l *loop) drain(slot int) {
	if slot < l.n {
		l.body.item(slot, slot)
	}
	for {
		i := int(l.next.Add(1) - 1)
		if i >= l.n {
			return
		}
		l.body.item(slot, i)
	}
}

// run calls b.item(slot, i) once for each i in [0, n) on slots 0..slots-1
// (the caller is slot 0) and returns when all are done.
func (l *loop) run(b body, n, slots int) {
	l.body, l.n = b, n
	l.next.Store(int64(slots))
	if slots > 1 {
		grow(slots - 1)
		l.wg.Add(slots - 1)
		for s := 1; s < slots; s++ {
			jobs <- job{l, s}
		}
	}
	l.drain(0)
	l.wg.Wait()
	l.body = nil
}
