// Command gustbench runs the workloads of gust's comparison suite
// (benches/compare.rs) in Go, with the standard library only, so that
// bench/run.sh can put Go beside gust and its Rust peers.
//
// Usage:
//
//	go run . [-workers 1,2] [-only spawn,sieve] [-quick]   # the workloads
//	go run . -mem [-tasks 1000000]                          # memory per idle goroutine
//
// Without -workers it runs at the current GOMAXPROCS (set it with the
// environment variable). Each line it prints is
//
//	go<TAB>workload<TAB>workers<TAB>median ns/op<TAB>spread %<TAB>ops
//
// where spread is the median absolute deviation in percent of the median, and
// for -mem
//
//	memory<TAB>go<TAB>tasks<TAB>RSS growth bytes/goroutine<TAB>peak growth bytes/goroutine
//
// Every workload checks its result (counts, sums, the last prime) and exits
// with status 1 when it is wrong.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func tri(n int) int { return n * (n - 1) / 2 }

func check(ok bool, format string, args ...interface{}) {
	if !ok {
		fmt.Fprintf(os.Stderr, "gustbench: FAIL: "+format+"\n", args...)
		os.Exit(1)
	}
}

// spawn: n goroutines and join them all (Go has no join handle: each writes
// its result to its slot and a WaitGroup joins).
func wSpawn(n int) time.Duration {
	t0 := time.Now()
	res := make([]int, n)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) { res[i] = i; wg.Done() }(i)
	}
	wg.Wait()
	sum := 0
	for _, v := range res {
		sum += v
	}
	el := time.Since(t0)
	check(sum == tri(n), "spawn: sum %d", sum)
	return el
}

// pingpong: rendezvous round trips between main and an echo goroutine.
func wPingpong(n int) time.Duration {
	a, b := make(chan int), make(chan int)
	done := make(chan int)
	t0 := time.Now()
	go func() {
		c := 0
		for v := range a {
			b <- v
			c++
		}
		done <- c
	}()
	for i := 0; i < n; i++ {
		a <- i
		v := <-b
		check(v == i, "pingpong: got %d want %d", v, i)
	}
	close(a)
	c := <-done
	el := time.Since(t0)
	check(c == n, "pingpong: echo count %d", c)
	return el
}

// spsc: one producer, main consumes, capacity cap (0 = rendezvous).
func wSpsc(n, cp int) time.Duration {
	ch := make(chan int, cp)
	t0 := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			ch <- i
		}
		close(ch)
	}()
	c, s := 0, 0
	for v := range ch {
		c++
		s += v
	}
	el := time.Since(t0)
	check(c == n && s == tri(n), "spsc: count %d sum %d", c, s)
	return el
}

// mpmc: 4 producers x 4 consumers over one chan of capacity 1024.
func wMpmc(n int) time.Duration {
	per := n / 4
	ch := make(chan int, 1024)
	type cs struct{ c, s int }
	out := make(chan cs, 4)
	t0 := time.Now()
	for k := 0; k < 4; k++ {
		go func() {
			c, s := 0, 0
			for v := range ch {
				c++
				s += v
			}
			out <- cs{c, s}
		}()
	}
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := p * per; i < (p+1)*per; i++ {
				ch <- i
			}
		}(p)
	}
	wg.Wait()
	close(ch)
	c, s := 0, 0
	for k := 0; k < 4; k++ {
		r := <-out
		c += r.c
		s += r.s
	}
	el := time.Since(t0)
	check(c == 4*per && s == tri(4*per), "mpmc: count %d sum %d", c, s)
	return el
}

// select: main selects over 4 chans of capacity 64 fed by 4 producers.
func wSelect(n int) time.Duration {
	per := n / 4
	t0 := time.Now()
	var chs [4]chan int
	for p := 0; p < 4; p++ {
		ch := make(chan int, 64)
		chs[p] = ch
		go func(p int) {
			for i := p * per; i < (p+1)*per; i++ {
				ch <- i
			}
			close(ch)
		}(p)
	}
	c0, c1, c2, c3 := chs[0], chs[1], chs[2], chs[3]
	c, s, open := 0, 0, 4
	for open > 0 {
		select {
		case v, ok := <-c0:
			if !ok {
				c0 = nil
				open--
			} else {
				c++
				s += v
			}
		case v, ok := <-c1:
			if !ok {
				c1 = nil
				open--
			} else {
				c++
				s += v
			}
		case v, ok := <-c2:
			if !ok {
				c2 = nil
				open--
			} else {
				c++
				s += v
			}
		case v, ok := <-c3:
			if !ok {
				c3 = nil
				open--
			} else {
				c++
				s += v
			}
		}
	}
	el := time.Since(t0)
	check(c == 4*per && s == tri(4*per), "select: count %d sum %d", c, s)
	return el
}

// mutex: `tasks` goroutines take turns at one sync.Mutex, n increments in all.
func wMutex(n, tasks int) time.Duration {
	var mu sync.Mutex
	x := 0
	per := n / tasks
	var wg sync.WaitGroup
	t0 := time.Now()
	for t := 0; t < tasks; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				mu.Lock()
				x++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	check(x == per*tasks, "mutex: %d increments, want %d", x, per*tasks)
	return el
}

// dynselect: 16 producers on bounded(64) channels, one consumer selecting
// over the 16 with reflect.Select (a closed channel's case is set to nil).
func wDynSelect(n int) time.Duration {
	per := n / 16
	t0 := time.Now()
	cases := make([]reflect.SelectCase, 16)
	for p := 0; p < 16; p++ {
		ch := make(chan int, 64)
		cases[p] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)}
		go func(p int) {
			for i := p * per; i < (p+1)*per; i++ {
				ch <- i
			}
			close(ch)
		}(p)
	}
	c, s, open := 0, 0, 16
	for open > 0 {
		i, v, ok := reflect.Select(cases)
		if !ok {
			cases[i].Chan = reflect.Value{}
			open--
			continue
		}
		c++
		s += int(v.Int())
	}
	el := time.Since(t0)
	check(c == 16*per && s == tri(16*per), "dynselect: count %d sum %d", c, s)
	return el
}

// timers100k: n goroutines (spawned in batches of 1,000 with a Gosched
// between) each sleep until t0 + 1 ms + i*200 ns and record their lateness;
// the time is from t0 to the last wake-up. The lateness (p50, p99, max in
// µs) goes to $GUST_BENCH_OUT/lateness.tsv (stderr without it), the line
// format of benches/rows/timers.rs.
func wTimers(n int) time.Duration {
	t0 := time.Now()
	base := t0.Add(time.Millisecond)
	woke := make([]time.Time, n)
	deadlines := make([]time.Time, n)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		d := base.Add(time.Duration(i) * 200 * time.Nanosecond)
		deadlines[i] = d
		go func(i int, d time.Time) {
			time.Sleep(time.Until(d))
			woke[i] = time.Now()
			wg.Done()
		}(i, d)
		if (i+1)%1000 == 0 {
			runtime.Gosched()
		}
	}
	wg.Wait()
	last := t0
	late := make([]float64, n)
	for i := range woke {
		check(!woke[i].Before(deadlines[i]), "timers: a sleep ended before its deadline")
		late[i] = float64(woke[i].Sub(deadlines[i]).Nanoseconds()) / 1e3
		if woke[i].After(last) {
			last = woke[i]
		}
	}
	el := last.Sub(t0)
	sort.Float64s(late)
	q := func(f float64) float64 { return late[int(float64(n-1)*f+0.5)] }
	line := fmt.Sprintf("timers100k\t%d\tgo\t%.1f\t%.1f\t%.1f\n", runtime.GOMAXPROCS(0), q(0.5), q(0.99), q(1))
	if out := os.Getenv("GUST_BENCH_OUT"); out != "" {
		f, err := os.OpenFile(out+"/lateness.tsv", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			f.WriteString(line)
			f.Close()
		}
	} else {
		fmt.Fprint(os.Stderr, "lateness\t"+line)
	}
	return el
}

// timeouts1m: 8 goroutines each create n/8 timers of 10 s, yield once
// (runtime.Gosched, the Rust side's yield_now) and stop them (time.NewTimer
// + Stop, the timer each Rust timeout registers and cancels).
func wTimeouts(n int) time.Duration {
	const tasks = 8
	per := n / tasks
	var stopped int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for t := 0; t < tasks; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok := int64(0)
			for i := 0; i < per; i++ {
				tm := time.NewTimer(10 * time.Second)
				runtime.Gosched()
				if tm.Stop() {
					ok++
				}
			}
			atomic.AddInt64(&stopped, ok)
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	check(stopped == int64(per*tasks), "timeouts: %d of %d timers stopped before firing", stopped, per*tasks)
	return el
}

// sieve: Go's test/chan/sieve1.go, to the primes-th prime. Unlike the
// original, the chain is torn down after the timing (the generator checks a
// stop flag, each filter ends when its input is closed), so that goroutines
// do not pile up across runs.
func generate(ch chan<- int, stop *int32) {
	for i := 2; atomic.LoadInt32(stop) == 0; i++ {
		ch <- i
	}
	close(ch)
}

func filter(in <-chan int, out chan<- int, prime int) {
	for i := range in {
		if i%prime != 0 {
			out <- i
		}
	}
	close(out)
}

func wSieve(primes, last int) time.Duration {
	var stop int32
	t0 := time.Now()
	ch := make(chan int)
	go generate(ch, &stop)
	p := 0
	for k := 0; k < primes; k++ {
		p = <-ch
		ch1 := make(chan int)
		go filter(ch, ch1, p)
		ch = ch1
	}
	el := time.Since(t0)
	atomic.StoreInt32(&stop, 1)
	for range ch {
	}
	check(p == last, "sieve: last prime %d want %d", p, last)
	return el
}

// fanout: n goroutines each send one value into a chan of capacity 1024,
// closed by a goroutine waiting on the WaitGroup; main drains.
func wFanout(n int) time.Duration {
	t0 := time.Now()
	ch := make(chan int, 1024)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ch <- i
		}(i)
	}
	go func() {
		wg.Wait()
		close(ch)
	}()
	c, s := 0, 0
	for v := range ch {
		c++
		s += v
	}
	el := time.Since(t0)
	check(c == n && s == tri(n), "fanout: count %d sum %d", c, s)
	return el
}

// cancel: n goroutines wait on one context; the time is from cancel until
// the WaitGroup sees them all gone.
func wCancel(n int) time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var started, exited int64
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			atomic.AddInt64(&started, 1)
			<-ctx.Done()
			atomic.AddInt64(&exited, 1)
		}()
	}
	for atomic.LoadInt64(&started) < int64(n) {
		runtime.Gosched()
	}
	for k := 0; k < 4; k++ {
		runtime.Gosched()
	}
	check(atomic.LoadInt64(&exited) == 0, "cancel: a waiter ended early")
	t0 := time.Now()
	cancel()
	wg.Wait()
	el := time.Since(t0)
	check(atomic.LoadInt64(&exited) == int64(n), "cancel: exited %d", exited)
	return el
}

// fanin: n goroutines, each adding its index to a sum, counted by a
// WaitGroup (Add(1) before each go, Done at its end); main waits.
func wFanin(n int) time.Duration {
	t0 := time.Now()
	var wg sync.WaitGroup
	var sum int64
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			atomic.AddInt64(&sum, int64(i))
			wg.Done()
		}(i)
	}
	wg.Wait()
	el := time.Since(t0)
	check(atomic.LoadInt64(&sum) == int64(tri(n)), "fanin: sum %d", sum)
	return el
}

// children: create and cancel n child contexts of one long-lived parent,
// one after the other; each child must report context.Canceled.
func wChildren(n int) time.Duration {
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	t0 := time.Now()
	done := 0
	for i := 0; i < n; i++ {
		child, cancel := context.WithCancel(parent)
		cancel()
		if child.Err() == context.Canceled {
			done++
		}
	}
	el := time.Since(t0)
	check(done == n, "children: %d of %d children done", done, n)
	check(parent.Err() == nil, "children: the parent ended")
	return el
}

// rss returns VmRSS and VmHWM in bytes.
func rss() (int64, int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	var r, h int64
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			r = v * 1024
		case "VmHWM:":
			h = v * 1024
		}
	}
	return r, h
}

// memory: n goroutines each blocked on a receive from its own unbuffered
// chan, the chans kept in a slice.
func memory(n int) {
	r0, h0 := rss()
	chs := make([]chan int, n)
	var started int64
	for i := range chs {
		ch := make(chan int)
		chs[i] = ch
		go func() {
			atomic.AddInt64(&started, 1)
			<-ch
		}()
	}
	for atomic.LoadInt64(&started) < int64(n) {
		runtime.Gosched()
	}
	time.Sleep(50 * time.Millisecond)
	r1, h1 := rss()
	fmt.Printf("memory\tgo\t%d\t%d\t%d\n", n, (r1-r0)/int64(n), (h1-h0)/int64(n))
	runtime.KeepAlive(chs)
}

// chanMemory: n unbuffered chans kept in a slice, no goroutine.
func chanMemory(n int) {
	r0, _ := rss()
	chs := make([]chan int, n)
	for i := range chs {
		chs[i] = make(chan int)
	}
	r1, _ := rss()
	fmt.Printf("chanmem\tgo\t%d\t%d\n", n, (r1-r0)/int64(n))
	runtime.KeepAlive(chs)
}

type workload struct {
	name string
	ops  int
	run  func() time.Duration
}

func main() {
	workersFlag := flag.String("workers", "", "comma-separated GOMAXPROCS values (default: the current GOMAXPROCS)")
	only := flag.String("only", "", "only the workloads whose name contains one of these (comma-separated)")
	quick := flag.Bool("quick", false, "sizes / 10 (sieve to 1,000 primes), for a smoke run")
	mem := flag.Bool("mem", false, "measure memory per idle goroutine instead")
	tasks := flag.Int("tasks", 1000000, "goroutines for -mem")
	budget := flag.Duration("time", time.Second, "measuring time per workload (at least 3, at most 10 runs)")
	flag.Parse()

	if *mem {
		memory(*tasks)
		chanMemory(*tasks)
		return
	}
	sz := map[string]int{"spawn": 1000000, "pingpong": 100000, "spsc": 1000000, "spsc_rdv": 100000,
		"mpmc": 1000000, "select": 400000, "sieve": 4000, "last": 37813, "fanout": 100000, "cancel": 100000,
		"fanin": 100000, "children": 1000000, "mutex": 1000000, "dynselect": 400000,
		"timers": 100000, "timeouts": 1000000}
	if *quick {
		for k := range sz {
			sz[k] /= 10
		}
		sz["sieve"], sz["last"] = 1000, 7919
	}
	wls := []workload{
		{"spawn", sz["spawn"], func() time.Duration { return wSpawn(sz["spawn"]) }},
		{"pingpong", sz["pingpong"], func() time.Duration { return wPingpong(sz["pingpong"]) }},
		{"spsc_bounded", sz["spsc"], func() time.Duration { return wSpsc(sz["spsc"], 1024) }},
		{"spsc_rendezvous", sz["spsc_rdv"], func() time.Duration { return wSpsc(sz["spsc_rdv"], 0) }},
		{"mpmc", sz["mpmc"], func() time.Duration { return wMpmc(sz["mpmc"]) }},
		{"select", sz["select"], func() time.Duration { return wSelect(sz["select"]) }},
		{"sieve", sz["sieve"], func() time.Duration { return wSieve(sz["sieve"], sz["last"]) }},
		{"fanout", sz["fanout"], func() time.Duration { return wFanout(sz["fanout"]) }},
		{"cancel", sz["cancel"], func() time.Duration { return wCancel(sz["cancel"]) }},
		{"fanin", sz["fanin"], func() time.Duration { return wFanin(sz["fanin"]) }},
		{"children", sz["children"], func() time.Duration { return wChildren(sz["children"]) }},
		{"mutex4", sz["mutex"], func() time.Duration { return wMutex(sz["mutex"], 4) }},
		{"mutex16", sz["mutex"], func() time.Duration { return wMutex(sz["mutex"], 16) }},
		{"dynselect16", sz["dynselect"], func() time.Duration { return wDynSelect(sz["dynselect"]) }},
		{"timers100k", sz["timers"], func() time.Duration { return wTimers(sz["timers"]) }},
		{"timeouts1m", sz["timeouts"], func() time.Duration { return wTimeouts(sz["timeouts"]) }},
	}
	var workers []int
	if *workersFlag == "" {
		workers = []int{runtime.GOMAXPROCS(0)}
	} else {
		for _, w := range strings.Split(*workersFlag, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(w))
			check(err == nil && n > 0, "bad -workers %q", *workersFlag)
			workers = append(workers, n)
		}
	}
	var filters []string
	if *only != "" {
		filters = strings.Split(*only, ",")
	}
	for _, wl := range wls {
		if filters != nil {
			keep := false
			for _, f := range filters {
				if strings.Contains(wl.name, strings.TrimSpace(f)) {
					keep = true
				}
			}
			if !keep {
				continue
			}
		}
		for _, w := range workers {
			runtime.GOMAXPROCS(w)
			runtime.GC()
			wl.run() // warm-up and check
			var ts []float64
			var total time.Duration
			for len(ts) < 10 && (len(ts) < 3 || total < *budget) {
				d := wl.run()
				total += d
				ts = append(ts, float64(d.Nanoseconds())/float64(wl.ops))
			}
			med := median(ts)
			dev := make([]float64, len(ts))
			for i, t := range ts {
				if t > med {
					dev[i] = t - med
				} else {
					dev[i] = med - t
				}
			}
			fmt.Printf("go\t%s\t%d\t%.1f\t%.1f\t%d\n", wl.name, w, med, 100*median(dev)/med, wl.ops)
		}
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
