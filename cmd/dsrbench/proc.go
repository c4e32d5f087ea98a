package main

// Running a command and measuring it: wall time, and memory three ways.
// wait4's ru_maxrss (what /usr/bin/time -v prints as "Maximum resident
// set size") is the largest of the process and each waited-for
// descendant taken alone, so it cannot tell dsr from one of its PDF
// children. A sampler therefore also reads, every 20 ms, the process's
// own VmHWM (its exact high-water mark) and the summed VmRSS of its
// descendants.

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
	Wall        time.Duration
	MaxRSSKB    int64 // wait4 ru_maxrss: max over dsr and each child alone
	ParentHWMKB int64 // dsr's own peak (VmHWM), last sample before exit
	ChildrenKB  int64 // peak of the descendants' summed RSS
	MaxChildren int   // most descendants alive at once
	Stdout      string
	Stderr      string
	ExitCode    int
	TotalPeakKB int64 // peak of dsr's RSS plus its descendants' at one sample
	// ChildTreeKB is the peak, over samples and over dsr's direct children,
	// of one child's RSS plus its own descendants': one PDF/OCR reader
	// with the Tesseract and ImageMagick it runs, the unit pdf_memory_mb
	// bounds. MaxProcKB is the largest single descendant's RSS.
	ChildTreeKB, MaxProcKB int64
	// SampledCPU is the CPU time of dsr and its descendants as last seen
	// in /proc/PID/stat, summed over every process seen: it counts
	// children that were never waited for (a pool's readers, killed at
	// exit), which wait4's rusage leaves out. A process that lives less
	// than one sample is missed.
	SampledCPU   time.Duration
	UserCPU, Sys time.Duration
}

func runMeasured(ctx context.Context, dir string, name string, args ...string) (procResult, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return procResult{}, err
	}
	var res procResult
	ticks := map[int]int64{} // utime+stime in clock ticks, last seen
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			hwm, rss := procStatus(cmd.Process.Pid)
			if hwm > res.ParentHWMKB {
				res.ParentHWMKB = hwm
			}
			kids := descendants(cmd.Process.Pid)
			for _, k := range append(kids, cmd.Process.Pid) {
				if t := procTicks(k); t > 0 {
					ticks[k] = t
				}
			}
			rss1 := make(map[int]int64, len(kids))
			var sum int64
			for _, k := range kids {
				_, r := procStatus(k)
				rss1[k] = r
				sum += r
				res.MaxProcKB = max(res.MaxProcKB, r)
			}
			for _, c := range childrenOf(cmd.Process.Pid) {
				tree := rss1[c]
				for _, d := range descendants(c) {
					tree += rss1[d]
				}
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
	for _, t := range ticks {
		res.SampledCPU += time.Duration(t) * time.Second / clockTicks
	}
	res.Stdout, res.Stderr = out.String(), errb.String()
	if ps := cmd.ProcessState; ps != nil {
		res.ExitCode = ps.ExitCode()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			res.MaxRSSKB = ru.Maxrss
		}
		res.UserCPU, res.Sys = ps.UserTime(), ps.SystemTime()
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

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on Linux.
const clockTicks = 100

// procTicks returns utime+stime of pid in clock ticks (0 when it is gone).
func procTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces: the fields start after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// descendants lists every process below pid.
func descendants(pid int) []int {
	var out []int
	for _, c := range childrenOf(pid) {
		out = append(out, c)
		out = append(out, descendants(c)...)
	}
	return out
}

// childrenOf lists pid's direct children.
func childrenOf(pid int) []int {
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

func numCPU() int { return runtime.NumCPU() }
