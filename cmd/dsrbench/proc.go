package main

// Running a command and measuring it: wall time, and memory three ways.
// wait4's ru_maxrss (what /usr/bin/time -v prints as "Maximum resident
// set size") is the largest of the process and each waited-for
// descendant taken alone, so it cannot tell dsr from one of its PDF
// children. A sampler therefore also reads, every 20 or 100 ms (see
// sampleTimed), the process's own VmHWM (its exact high-water mark) and
// the summed RSS of its descendants.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"dsr-intake/internal/harness"
)

type procResult struct {
	Wall         time.Duration
	MaxRSSKB     int64 // wait4 ru_maxrss: max over dsr and each child alone
	ParentHWMKB  int64 // dsr's own peak (VmHWM), last sample before exit
	ChildrenKB   int64 // peak of the descendants' summed RSS
	MaxChildren  int   // most descendants alive at once
	Stdout       string
	Stderr       string
	ExitCode     int
	TotalPeakKB  int64         // peak of dsr's RSS plus its descendants' at one sample
	UserCPU, Sys time.Duration // the process's and its waited-for descendants' (wait4)
	// UnwaitedCPU is the CPU of the descendants alive at the last sample
	// before the process exited, which wait4 leaves out.
	UnwaitedCPU time.Duration
	// OwnCPU is the process's own user and system CPU, its children's
	// left out, at the last sample before it exited (up to one interval
	// short).
	OwnCPU time.Duration
	// ServerCPU is the PostgreSQL server's CPU (user + system, every
	// server process) over the run; -1 when not measured.
	ServerCPU time.Duration
	// ChildTreeKB is the peak, over samples and over dsr's direct children,
	// of one child's RSS plus its own descendants': one PDF/OCR reader
	// with the Tesseract and ImageMagick it runs, the unit pdf_memory_mb
	// bounds. MaxProcKB is the largest single descendant's RSS.
	ChildTreeKB, MaxProcKB int64
}

// CPU is the process's user and system CPU, all its descendants'
// included: those it waited for (wait4) and those still running when it
// exited (sampled).
func (r procResult) CPU() time.Duration { return r.UserCPU + r.Sys + r.UnwaitedCPU }

// How often runMeasured samples /proc. The timings set against another
// tool's (mbsync's, pdftotext's) sample every 100 ms: at every 20 ms the
// sampler took 8% of the two CPUs while dsr ran (perf, 2,000 emails), CPU
// that dsr would otherwise have had, and dsr, with its threads and
// children, costs more a sample than mbsync. The runs that measure peaks
// sample every 20 ms.
const (
	sampleTimed = 100 * time.Millisecond
	samplePeaks = 20 * time.Millisecond
)

// runMeasured runs name and measures it, sampling it every every.
func runMeasured(ctx context.Context, every time.Duration, dir string, name string, args ...string) (procResult, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return procResult{}, err
	}
	res := procResult{ServerCPU: -1}
	// The descendants alive at the last sample and their CPU so far: those
	// still alive when dsr exits are never waited for by it (the PDF
	// children die with it, by their parent-death signal), so wait4 does
	// not count them.
	alive := map[int]time.Duration{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			hwm, rss := procStatus(cmd.Process.Pid)
			if hwm > res.ParentHWMKB {
				res.ParentHWMKB = hwm
			}
			f, err := statFields(cmd.Process.Pid)
			if err == nil {
				res.OwnCPU = ticks(f[11]) + ticks(f[12])
			}
			// Once dsr has exited (a zombie until waited for) its children
			// are gone from its list: keep the last list it had.
			running := err == nil && f[0] != "Z" && f[0] != "X"
			if running {
				clear(alive)
			}
			kids := procTree(cmd.Process.Pid)
			var sum int64
			trees := map[int]int64{} // by direct child: its RSS and its descendants'
			for _, k := range kids {
				sum += k.rssKB
				res.MaxProcKB = max(res.MaxProcKB, k.rssKB)
				trees[k.top] += k.rssKB
				// Its own CPU and that of the processes it waited for:
				// a PDF/OCR child's Tesseract and ImageMagick runs are
				// in its cutime and cstime, and it dies unwaited.
				if running {
					alive[k.pid] = k.waited
				}
			}
			for _, tree := range trees {
				res.ChildTreeKB = max(res.ChildTreeKB, tree)
			}
			res.ChildrenKB = max(res.ChildrenKB, sum)
			res.MaxChildren = max(res.MaxChildren, len(kids))
			res.TotalPeakKB = max(res.TotalPeakKB, rss+sum)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	res.Wall = time.Since(start)
	close(stop)
	<-done
	res.Stdout, res.Stderr = out.String(), errb.String()
	if ps := cmd.ProcessState; ps != nil {
		res.ExitCode = ps.ExitCode()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			res.MaxRSSKB = ru.Maxrss
		}
		res.UserCPU, res.Sys = ps.UserTime(), ps.SystemTime()
	}
	for _, c := range alive {
		res.UnwaitedCPU += c
	}
	if err != nil {
		return res, fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, harness.Tail(errb.Bytes(), 3000))
	}
	return res, nil
}

// procStatus returns VmHWM and VmRSS in KB (0 when the process is gone).
func procStatus(pid int) (hwm, rss int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmHWM:":
			hwm, _ = strconv.ParseInt(f[1], 10, 64)
		case "VmRSS:":
			rss, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return hwm, rss
}

// treeProc is one process below the measured one, read once a sample.
type treeProc struct {
	pid    int
	top    int           // the measured process's child it is, or is below
	rssKB  int64         // VmRSS
	waited time.Duration // its CPU with that of the children it waited for
}

// procTree reads every process below pid, each once (its stat line: the
// sampler, at 50 a second, took a sixth of the two CPUs while dsr ran
// when it read each process's status and stat and listed the tree twice).
func procTree(pid int) []treeProc {
	var out []treeProc
	var walk func(p, top int)
	walk = func(p, top int) {
		for _, c := range children(p) {
			t := top
			if t == 0 {
				t = c
			}
			f, err := statFields(c)
			if err != nil {
				continue // gone since it was listed
			}
			pages, _ := strconv.ParseInt(f[21], 10, 64)
			out = append(out, treeProc{pid: c, top: t, rssKB: pages * pageKB,
				waited: ticks(f[11]) + ticks(f[12]) + ticks(f[13]) + ticks(f[14])})
			walk(c, t)
		}
	}
	walk(pid, 0)
	return out
}

// pageKB is the size of a page in KB (stat's rss is in pages).
var pageKB = int64(os.Getpagesize() / 1024)

func numCPU() int { return runtime.NumCPU() }

// ownCPU is pid's own user and system CPU so far.
func ownCPU(pid int) (time.Duration, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	return ticks(f[11]) + ticks(f[12]), nil
}

// waitedCPU is pid's own user and system CPU so far with that of the
// children it has waited for (cutime and cstime).
func waitedCPU(pid int) (time.Duration, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	return ticks(f[11]) + ticks(f[12]) + ticks(f[13]) + ticks(f[14]), nil
}

// statFields are the fields of /proc/PID/stat after the command's closing
// parenthesis: utime, stime, cutime and cstime (the 14th to 17th of the
// whole line) are f[11] to f[14], rss (the 24th, in pages) f[21].
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 22 {
		return nil, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	return f, nil
}

// ticks reads a count of clock ticks (USER_HZ, 100 a second).
func ticks(v string) time.Duration {
	n, _ := strconv.ParseInt(v, 10, 64)
	return time.Duration(n) * (time.Second / 100)
}

// treeCPU is the CPU (user + system) used so far by pid and every process
// below it, those that have exited and been waited for included (their
// time is in their parent's cutime and cstime): for the postmaster, the
// whole PostgreSQL server, backends that came and went included.
func treeCPU(pid int) (time.Duration, error) {
	total, err := waitedCPU(pid)
	if err != nil {
		return 0, err
	}
	for _, c := range children(pid) {
		if t, err := treeCPU(c); err == nil {
			total += t
		}
	}
	return total, nil
}

// children lists pid's direct children.
func children(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}
