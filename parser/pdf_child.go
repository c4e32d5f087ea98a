package parser

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// childResult is what the PDF child writes to stdout.
type childResult struct {
	Forms  []*RawForm `json:"forms,omitempty"`
	Reason string     `json:"reason,omitempty"` // set when unreadable
	Error  string     `json:"error,omitempty"`
}

// maxChildOutput bounds what the parent reads back: forms are a few KB.
const maxChildOutput = 8 << 20

// childPDF reads PDFs in a child process, so that a PDF which hangs the
// library or exhausts memory costs only that process.
type childPDF struct {
	cmd    []string
	env    []string
	limits Limits
}

// NewChildPDFReader reads each PDF by running cmd (e.g. [os.Executable(),
// "parse-pdf"]), which must call ServePDFChild. env is added to the
// child's environment. The child is killed, with its process group, when
// Limits.PDFTimeout passes.
func NewChildPDFReader(cmd []string, l Limits, env ...string) PDFReader {
	return &childPDF{cmd: cmd, env: env, limits: l.withDefaults()}
}

func (c *childPDF) ReadPDF(ctx context.Context, data []byte) ([]*RawForm, error) {
	if len(c.cmd) == 0 {
		return nil, errors.New("pdf child: no command")
	}
	tctx, cancel := context.WithTimeout(ctx, c.limits.PDFTimeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, c.cmd[0], c.cmd[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdin = bytes.NewReader(data)
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = maxChildOutput, 64<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		// The whole group: the child may have started helpers.
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		return nil
	}
	cmd.WaitDelay = time.Second
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("read pdf in child: %w", ctx.Err())
	}
	if tctx.Err() != nil {
		return nil, unreadable(ReasonPDFTimeout, fmt.Errorf("pdf child killed after %s", c.limits.PDFTimeout))
	}
	if runErr != nil {
		return nil, childFailure(runErr, stderr.String())
	}
	var res childResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, unreadable(ReasonPDFDamaged, fmt.Errorf("pdf child output: %w", err))
	}
	if res.Reason != "" {
		return nil, unreadable(res.Reason, errors.New(res.Error))
	}
	if res.Error != "" {
		return nil, fmt.Errorf("pdf child: %s", res.Error)
	}
	return res.Forms, nil
}

// childFailure maps how the child died to a reason.
func childFailure(runErr error, stderr string) error {
	var ee *exec.ExitError
	if !errors.As(runErr, &ee) {
		return fmt.Errorf("start pdf child: %w", runErr)
	}
	low := strings.ToLower(stderr)
	// "address space collisions" is the race-enabled runtime's way of
	// running out under RLIMIT_AS.
	if strings.Contains(low, "out of memory") || strings.Contains(low, "cannot allocate memory") || strings.Contains(low, "address space") {
		return unreadable(ReasonPDFMemory, fmt.Errorf("pdf child: %s", ee.ProcessState))
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		// Not our kill (that is the timeout, handled by the caller): the
		// kernel's OOM killer or a crash under the address-space limit.
		return unreadable(ReasonPDFMemory, fmt.Errorf("pdf child killed by %s", ws.Signal()))
	}
	return unreadable(ReasonPDFDamaged, fmt.Errorf("pdf child: %s", ee.ProcessState))
}

// ServePDFChild is the child side: it reads one PDF from in, reads it with
// the in-process reader under an address-space limit of
// Limits.PDFMemoryBytes beyond what the process already has, and writes
// the JSON result to out. It returns an error only when it cannot write.
func ServePDFChild(ctx context.Context, in io.Reader, out io.Writer, l Limits) error {
	return ServePDFChildWith(ctx, in, out, l, nil)
}

// ServePDFChildWith is ServePDFChild with the mapping whose labels are
// looked for (nil: DefaultMapping), for operators' label aliases.
func ServePDFChildWith(ctx context.Context, in io.Reader, out io.Writer, l Limits, m *Mapping) error {
	l = l.withDefaults()
	debug.SetMemoryLimit(l.PDFMemoryBytes / 2)
	if err := limitAddressSpace(l.PDFMemoryBytes); err != nil {
		return fmt.Errorf("pdf child: %w", err)
	}
	var res childResult
	data, err := io.ReadAll(io.LimitReader(in, l.MaxAttachmentBytes+1))
	switch {
	case err != nil:
		res.Error = "read stdin: " + err.Error()
	case int64(len(data)) > l.MaxAttachmentBytes:
		res.Reason, res.Error = ReasonPDFMemory, "PDF larger than the attachment limit"
	default:
		forms, err := NewInProcessPDFReaderWith(l, m).ReadPDF(ctx, data)
		res.Forms = forms
		if err != nil {
			res.Reason = ReasonOf(err)
			var ue *UnreadableError
			if !errors.As(err, &ue) {
				res.Reason = ""
			}
			res.Error = err.Error()
		}
	}
	w := bufio.NewWriter(out)
	if err := json.NewEncoder(w).Encode(res); err != nil {
		return fmt.Errorf("pdf child: write result: %w", err)
	}
	return w.Flush()
}

// limitAddressSpace sets RLIMIT_AS to the current address space plus
// budget: the Go runtime has already reserved its arenas, so a bare
// budget below that would stop it growing at all.
func limitAddressSpace(budget int64) error {
	cur, err := vmSize()
	if err != nil {
		return err
	}
	lim := uint64(cur + budget)
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &rl); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if rl.Max != ^uint64(0) && lim > rl.Max {
		lim = rl.Max
	}
	rl.Cur = lim
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &rl); err != nil {
		return fmt.Errorf("setrlimit: %w", err)
	}
	return nil
}

// vmSize is the process's current virtual memory size in bytes.
func vmSize() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read /proc/self/status: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmSize:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmSize: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmSize in /proc/self/status")
}

// limitedBuffer keeps at most max bytes and drops the rest, so a child
// cannot make the parent buffer without bound.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
