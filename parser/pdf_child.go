package parser

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// childResult is what the PDF child writes to stdout.
type childResult struct {
	Forms     []*RawForm     `json:"forms,omitempty"`
	Files     []EmbeddedFile `json:"files,omitempty"`
	FilesNote string         `json:"files_note,omitempty"`
	Reason    string         `json:"reason,omitempty"` // set when unreadable
	Error     string         `json:"error,omitempty"`
}

// maxChildOutput bounds what the parent reads back: forms are a few KB,
// attached files at most maxEmbeddedBytes, in base64.
const maxChildOutput = 8<<20 + maxEmbeddedBytes*4/3

// childPDF reads PDFs in child processes, so that a PDF which hangs the
// library or exhausts memory costs only that process. Starting the child
// costs more than reading a typical form (the binary is large), so each
// child serves many PDFs in turn over its stdin and stdout: a pool of up
// to one child per CPU, each reading one PDF at a time under the same
// time limit, and killed (with its process group) when a PDF runs out the
// clock. The address-space limit is set once in each child; what one PDF
// allocated is garbage once it is answered and its address space is
// reused by the next, and a child is replaced after maxChildPDFs PDFs to
// bound any leak or fragmentation.
type childPDF struct {
	cmd    []string
	env    []string
	limits Limits
	ocr    bool // the child reads scans and images too, under Limits.OCRTimeout

	slots chan struct{} // one per child that may run
	mu    sync.Mutex
	idle  []*pdfWorker
}

const (
	// maxChildPDFs is how many PDFs one child reads before it is replaced.
	// A start costs ~10 ms of CPU (the Go runtime and this binary's
	// package initialisers), as much as a few forms; at 200 the sample
	// mailbox started eight children per 1,000 emails, at 1,000 two. The
	// child's heap is bounded by its memory limit whatever it has read.
	maxChildPDFs = 1000
	// childIdle is how long an unused child is kept.
	childIdle = 30 * time.Second
	// streamMagic opens the many-PDF protocol: each request is an 8-byte
	// big-endian length and the PDF, each answer a 4-byte length and the
	// JSON result. Without it the child reads one PDF to EOF, as before.
	streamMagic = "DSR-PDF-STREAM-1\n"
)

// NewChildPDFReader reads each PDF by running cmd (e.g. [os.Executable(),
// "parse-pdf"]), which must call ServePDFChild. env is added to the
// child's environment. The child is killed, with its process group, when
// Limits.PDFTimeout passes. Children are reused for later PDFs; at most
// one per CPU runs at a time.
func NewChildPDFReader(cmd []string, l Limits, env ...string) PDFReader {
	return &childPDF{cmd: cmd, env: env, limits: l.withDefaults(), slots: make(chan struct{}, max(1, runtime.NumCPU()))}
}

// pdfWorker is one running child.
type pdfWorker struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  *bufio.Reader
	stderr  *limitedBuffer
	exited  chan struct{} // closed once Wait has returned
	waitErr error
	served  int
	timer   *time.Timer // reaps the child when idle too long
}

func (c *childPDF) ReadPDF(ctx context.Context, data []byte) ([]*RawForm, error) {
	content, err := c.ReadPDFFiles(ctx, data)
	return content.Forms, err
}

// ReadPDFFiles reads one PDF in a child: its forms and the files
// attached inside it, which the child takes out when there are any.
func (c *childPDF) ReadPDFFiles(ctx context.Context, data []byte) (pdfContent, error) {
	if len(c.cmd) == 0 {
		return pdfContent{}, errors.New("pdf child: no command")
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return pdfContent{}, fmt.Errorf("read pdf in child: %w", ctx.Err())
	}
	defer func() { <-c.slots }()

	tctx, cancel := context.WithTimeout(ctx, c.limits.readTimeout(c.ocr))
	defer cancel()
	w := c.take()
	if w == nil {
		var err error
		if w, err = c.start(); err != nil {
			return pdfContent{}, err
		}
	}
	type answer struct {
		out []byte
		err error
	}
	got := make(chan answer, 1)
	go func() {
		out, err := w.exchange(data)
		got <- answer{out, err}
	}()
	var a answer
	select {
	case a = <-got:
	case <-tctx.Done():
		w.kill()
		<-got
		if ctx.Err() != nil {
			return pdfContent{}, fmt.Errorf("read pdf in child: %w", ctx.Err())
		}
		return pdfContent{}, unreadable(ReasonPDFTimeout, fmt.Errorf("pdf child killed after %s", c.limits.readTimeout(c.ocr)))
	}
	if a.err != nil {
		// The child died under this PDF (or closed its end): how it died
		// says why.
		w.kill()
		if w.waitErr == nil {
			return pdfContent{}, unreadable(ReasonPDFDamaged, fmt.Errorf("pdf child: %w", a.err))
		}
		return pdfContent{}, childFailure(w.waitErr, w.stderr.String())
	}
	w.served++
	c.put(w)
	var res childResult
	if err := json.Unmarshal(a.out, &res); err != nil {
		return pdfContent{}, unreadable(ReasonPDFDamaged, fmt.Errorf("pdf child output: %w", err))
	}
	if res.Reason != "" {
		return pdfContent{Files: res.Files, FilesNote: res.FilesNote}, unreadable(res.Reason, errors.New(res.Error))
	}
	if res.Error != "" {
		return pdfContent{Files: res.Files, FilesNote: res.FilesNote}, fmt.Errorf("pdf child: %s", res.Error)
	}
	return pdfContent{Forms: res.Forms, Files: res.Files, FilesNote: res.FilesNote}, nil
}

// start runs a new child and opens the many-PDF protocol with it.
func (c *childPDF) start() (*pdfWorker, error) {
	cmd := exec.Command(c.cmd[0], c.cmd[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	w := &pdfWorker{cmd: cmd, stderr: &limitedBuffer{max: 64 << 10}, exited: make(chan struct{})}
	cmd.Stderr = w.stderr
	// Its own group, so a kill takes any helper it started; and it dies
	// with us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start pdf child: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start pdf child: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pdf child: %w", err)
	}
	w.stdin, w.stdout = stdin, bufio.NewReader(stdout)
	go func() {
		w.waitErr = cmd.Wait()
		close(w.exited)
	}()
	if _, err := io.WriteString(w.stdin, streamMagic); err != nil {
		w.kill()
		return nil, fmt.Errorf("start pdf child: %w", err)
	}
	return w, nil
}

// exchange sends one PDF and reads its answer.
func (w *pdfWorker) exchange(data []byte) ([]byte, error) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(data)))
	if _, err := w.stdin.Write(n[:]); err != nil {
		return nil, err
	}
	if _, err := w.stdin.Write(data); err != nil {
		return nil, err
	}
	var l [4]byte
	if _, err := io.ReadFull(w.stdout, l[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(l[:])
	if size > maxChildOutput {
		return nil, fmt.Errorf("answer of %d bytes", size)
	}
	out := make([]byte, size)
	if _, err := io.ReadFull(w.stdout, out); err != nil {
		return nil, err
	}
	return out, nil
}

// kill ends the child's whole group and waits for it.
func (w *pdfWorker) kill() {
	if w.timer != nil {
		w.timer.Stop()
	}
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	_ = w.stdin.Close()
	select {
	case <-w.exited:
	case <-time.After(5 * time.Second):
	}
}

// take returns an idle child, or nil.
func (c *childPDF) take() *pdfWorker {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.idle) > 0 {
		w := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		w.timer.Stop()
		select {
		case <-w.exited: // died while idle
			continue
		default:
		}
		return w
	}
	return nil
}

// put keeps a child for the next PDF, or retires it.
func (c *childPDF) put(w *pdfWorker) {
	if w.served >= maxChildPDFs {
		go w.kill()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	w.timer = time.AfterFunc(childIdle, func() { c.reap(w) })
	c.idle = append(c.idle, w)
}

// reap retires a child that has been idle too long, unless it was taken.
func (c *childPDF) reap(w *pdfWorker) {
	c.mu.Lock()
	i := slices.Index(c.idle, w)
	if i >= 0 {
		c.idle = slices.Delete(c.idle, i, i+1)
	}
	c.mu.Unlock()
	if i >= 0 {
		w.kill()
	}
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
	return ServePDFChildOCR(ctx, in, out, l, m, nil)
}

// ServePDFChildOCR is ServePDFChildWith that also reads scans and images
// by OCR with o (nil: as ServePDFChildWith). Tesseract and ImageMagick
// run as this child's own children, so the address-space limit and the
// parent's kill of the process group bound them too.
func ServePDFChildOCR(ctx context.Context, in io.Reader, out io.Writer, l Limits, m *Mapping, o *OCR) error {
	l = l.withDefaults()
	debug.SetMemoryLimit(l.PDFMemoryBytes / 2)
	// A form's reading allocates many short-lived objects over a live
	// heap of a few MB: at the default GOGC the child spent a quarter of
	// its time collecting (BenchmarkChildPDF: 13.7 ms a flattened form,
	// 9.2 ms at 400). The memory limit above still bounds the heap.
	debug.SetGCPercent(400)
	if err := limitAddressSpace(l.PDFMemoryBytes); err != nil {
		return fmt.Errorf("pdf child: %w", err)
	}
	// One reader for every PDF this child reads: it keeps its buffers
	// and zlib state from one to the next.
	rd := withOCR(NewInProcessPDFReaderWith(l, m), o, l, m)
	br := bufio.NewReader(in)
	if head, err := br.Peek(len(streamMagic)); err == nil && string(head) == streamMagic {
		_, _ = br.Discard(len(streamMagic))
		return servePDFStream(ctx, br, out, l, rd)
	}
	data, err := io.ReadAll(io.LimitReader(br, l.MaxAttachmentBytes+1))
	res := readInChild(ctx, rd, data, err, l)
	w := bufio.NewWriter(out)
	if err := json.NewEncoder(w).Encode(res); err != nil {
		return fmt.Errorf("pdf child: write result: %w", err)
	}
	return w.Flush()
}

// servePDFStream reads PDFs one after another until in ends.
func servePDFStream(ctx context.Context, in *bufio.Reader, out io.Writer, l Limits, rd PDFReader) error {
	for {
		var n [8]byte
		if _, err := io.ReadFull(in, n[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil // the parent is done with us
			}
			return fmt.Errorf("pdf child: read request: %w", err)
		}
		size := binary.BigEndian.Uint64(n[:])
		var res childResult
		if size > uint64(l.MaxAttachmentBytes) {
			// Keep the stream in step: read and drop it.
			if _, err := io.CopyN(io.Discard, in, int64(size)); err != nil {
				return fmt.Errorf("pdf child: read request: %w", err)
			}
			res.Reason, res.Error = ReasonPDFMemory, "PDF larger than the attachment limit"
		} else {
			data := make([]byte, size)
			_, err := io.ReadFull(in, data)
			if err != nil {
				return fmt.Errorf("pdf child: read request: %w", err)
			}
			res = readInChild(ctx, rd, data, nil, l)
		}
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("pdf child: write result: %w", err)
		}
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
		if _, err := out.Write(append(hdr[:], b...)); err != nil {
			return fmt.Errorf("pdf child: write result: %w", err)
		}
		// After a large PDF, give its memory back rather than hold it
		// while idle; after a form it costs more than the read did.
		if size > 4<<20 {
			debug.FreeOSMemory()
		}
	}
}

// readInChild reads one PDF with rd (or reports why it could not be read).
func readInChild(ctx context.Context, rd PDFReader, data []byte, readErr error, l Limits) childResult {
	var res childResult
	switch {
	case readErr != nil:
		res.Error = "read stdin: " + readErr.Error()
	case int64(len(data)) > l.MaxAttachmentBytes:
		res.Reason, res.Error = ReasonPDFMemory, "PDF larger than the attachment limit"
	default:
		var c pdfContent
		var err error
		if fr, ok := rd.(pdfFileReader); ok {
			c, err = fr.ReadPDFFiles(ctx, data)
		} else {
			c.Forms, err = rd.ReadPDF(ctx, data)
		}
		res.Forms, res.Files, res.FilesNote = c.Forms, c.Files, c.FilesNote
		if err != nil {
			res.Reason = ReasonOf(err)
			var ue *UnreadableError
			if !errors.As(err, &ue) {
				res.Reason = ""
			}
			res.Error = err.Error()
		}
	}
	return res
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
