package intake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/robfig/cron/v3"

	"dsr-intake/parser"
	"dsr-intake/register"
)

// Daemon watches the inbox: it processes every message there, moves each
// to the folder of its outcome once the decision is committed, and waits
// for more with IDLE (or polling), reconnecting after any failure.
//
// Everything in the watched mailbox is work to do: a message leaves it
// only after its decision is committed, so a crash at any point means the
// next run sees the message again, recognises it by its content hash and
// only moves it. Neither \Seen nor keywords are used.
type Daemon struct {
	IMAP            IMAPConfig
	Pipeline        *Pipeline
	Sender          *Sender // optional: kicked after each sync
	Store           *register.Store
	MaxMessageBytes int64         // larger messages are quarantined unread
	MaxAttempts     int           // pipeline failures before quarantine
	MaxIdle         time.Duration // IDLE is re-issued after this (under 29 minutes)
	Workers         int           // messages parsed at once; 0: one per CPU
	Poll            cron.Schedule // the polling safety net; nil: every 5 minutes
	Watchdog        time.Duration // no successful fetch for this long is an error
	Health          *Health
	Metrics         *Metrics // optional
	Log             *slog.Logger
	Now             func() time.Time
	// OnProcessed, when set, is told of every message handled (progress).
	OnProcessed func(register.Outcome)
}

// Health is what the watchdog, the metrics and /healthz know of the
// intake. It is safe for concurrent use.
type Health struct {
	mu          sync.Mutex
	lastFetchOK time.Time
	connected   bool
	quarantined int
	processed   map[register.Outcome]int
}

// FetchOK records a successful look at the mailbox.
func (h *Health) FetchOK(t time.Time) {
	h.mu.Lock()
	h.lastFetchOK = t
	h.connected = true
	h.mu.Unlock()
}

// Disconnected records a lost connection.
func (h *Health) Disconnected() {
	h.mu.Lock()
	h.connected = false
	h.mu.Unlock()
}

func (h *Health) count(o register.Outcome) {
	h.mu.Lock()
	if h.processed == nil {
		h.processed = map[register.Outcome]int{}
	}
	h.processed[o]++
	h.mu.Unlock()
}

func (h *Health) quarantine() {
	h.mu.Lock()
	h.quarantined++
	h.mu.Unlock()
}

// HealthSnapshot is a copy of the health figures.
type HealthSnapshot struct {
	LastFetchOK time.Time
	Connected   bool
	Quarantined int
	Processed   map[register.Outcome]int
}

// Snapshot copies the figures.
func (h *Health) Snapshot() HealthSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := make(map[register.Outcome]int, len(h.processed))
	for k, v := range h.processed {
		p[k] = v
	}
	return HealthSnapshot{LastFetchOK: h.lastFetchOK, Connected: h.connected, Quarantined: h.quarantined, Processed: p}
}

// Run watches the mailbox until ctx ends. When ctx ends during a message,
// that message is finished (decided, committed and moved) before Run
// returns.
func (d *Daemon) Run(ctx context.Context) error {
	d.defaults()
	go d.watchdog(ctx)
	attempt := 0
	for ctx.Err() == nil {
		lock, ok, err := d.Store.TryLockMailbox(ctx, d.lockName())
		if err != nil || !ok {
			if err != nil {
				d.Log.Warn("mailbox lock", "err", err)
			} else {
				d.Log.Info("another daemon is watching this mailbox; standing by")
			}
			sleep(ctx, 30*time.Second)
			continue
		}
		err = d.watch(ctx, lock, &attempt)
		lock.Release()
		if err != nil && ctx.Err() == nil {
			d.Log.Warn("mailbox lock lost; taking it again", "err", err)
		}
	}
	return nil
}

// errLockLost ends a watch when the mailbox lock's connection has gone.
var errLockLost = errors.New("mailbox lock lost")

// watch connects and serves while the mailbox lock is held.
func (d *Daemon) watch(ctx context.Context, lock *register.MailboxLock, attempt *int) error {
	for ctx.Err() == nil {
		if !lock.Held(ctx) {
			return errLockLost
		}
		mb, err := DialIMAP(ctx, d.IMAP)
		if err != nil {
			d.Health.Disconnected()
			wait := Backoff(*attempt)
			*attempt++
			d.Log.Warn("imap connect failed", "err", err, "retry_in", wait.Round(time.Second))
			sleep(ctx, wait)
			continue
		}
		*attempt = 0
		err = d.serve(ctx, mb, lock)
		_ = mb.Close()
		d.Health.Disconnected()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errLockLost) {
			return err
		}
		wait := Backoff(*attempt)
		*attempt++
		d.Log.Warn("imap connection lost", "err", err, "retry_in", wait.Round(time.Second))
		sleep(ctx, wait)
	}
	return nil
}

// lockName identifies the watched mailbox across daemons.
func (d *Daemon) lockName() string {
	return d.IMAP.Username + "@" + d.IMAP.Addr + "/" + d.IMAP.mailbox()
}

// RunOnce processes what is in the mailbox now, then returns. It refuses
// to run while a daemon is watching the same mailbox.
func (d *Daemon) RunOnce(ctx context.Context) error {
	d.defaults()
	lock, ok, err := d.Store.TryLockMailbox(ctx, d.lockName())
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("another daemon is watching this mailbox: stop it first, or let it do the work")
	}
	defer lock.Release()
	mb, err := DialIMAP(ctx, d.IMAP)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer mb.Close()
	if err := mb.EnsureFolders(ctx); err != nil {
		return err
	}
	return d.Sync(ctx, mb)
}

func (d *Daemon) serve(ctx context.Context, mb *Mailbox, lock *register.MailboxLock) error {
	if err := mb.EnsureFolders(ctx); err != nil {
		return err
	}
	for {
		if !lock.Held(ctx) {
			return errLockLost
		}
		if err := d.Sync(ctx, mb); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := d.MaxIdle
		if next := d.Poll.Next(d.now()); !next.IsZero() {
			if until := next.Sub(d.now()); until < wait {
				wait = max(until, time.Second)
			}
		}
		if err := mb.WaitForChange(ctx, wait); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("wait for mail: %w", err)
		}
	}
}

// Sync handles every message in the mailbox once. Messages are fetched,
// committed and moved one at a time in UID order on the one connection,
// while up to Workers of the next ones are parsed in parallel: parsing
// the forms is most of the work.
func (d *Daemon) Sync(ctx context.Context, mb *Mailbox) error {
	d.defaults()
	infos, err := mb.List(ctx)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	d.Health.FetchOK(d.now())
	var pending []*inHand
	inFlight := map[string]bool{}
	moves := &moveBatch{}
	commitOldest := func() error {
		j := pending[0]
		pending = pending[1:]
		delete(inFlight, j.hash)
		defer j.cancel()
		if err := d.commit(j.ctx, mb, j, moves); err != nil {
			return err
		}
		if moves.n >= maxMoveBatch {
			return d.flushMoves(ctx, mb, moves)
		}
		return nil
	}
	flush := func() error {
		for len(pending) > 0 {
			if err := commitOldest(); err != nil {
				return err
			}
		}
		return nil
	}
	// On a failure the messages in hand stay in the inbox for the next
	// sync; their parsing is stopped.
	abandon := func() {
		for _, j := range pending {
			j.cancel()
		}
	}
	for _, info := range infos {
		if ctx.Err() != nil {
			break
		}
		if info.Deleted {
			continue
		}
		// The messages in hand are finished even if we are asked to
		// stop: only waits for the network are cut short.
		work, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		j, err := d.take(work, mb, info, func(hash string) error {
			// The same bytes twice: the first copy's decision is
			// committed before the second is looked at.
			if inFlight[hash] {
				return flush()
			}
			return nil
		})
		if err != nil || j == nil {
			cancel()
			if err != nil {
				abandon()
				return err
			}
			continue
		}
		j.ctx, j.cancel = work, cancel
		pending = append(pending, j)
		inFlight[j.hash] = true
		if len(pending) > d.Workers {
			if err := commitOldest(); err != nil {
				abandon()
				return err
			}
		}
	}
	if err := flush(); err != nil {
		abandon()
		return err
	}
	if err := d.flushMoves(ctx, mb, moves); err != nil {
		return err
	}
	d.Health.FetchOK(d.now())
	if d.Sender != nil {
		d.Sender.Kick()
	}
	return nil
}

// inHand is a fetched message being parsed.
type inHand struct {
	info   MessageInfo
	loc    Location
	raw    []byte
	hash   string
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when sub and err are set
	sub    *parser.Submission
	err    error
	parse  time.Duration
}

// take fetches one message and, unless it was decided before, starts
// parsing it. It returns nil when nothing more is to be done with the
// message now, and an error only when the connection is no longer
// usable. seen is called with the message's hash before its state is
// read.
func (d *Daemon) take(ctx context.Context, mb *Mailbox, info MessageInfo, seen func(hash string) error) (*inHand, error) {
	loc := Location{Mailbox: d.IMAP.mailbox(), UIDValidity: mb.UIDValidity(), UID: info.UID}
	if info.Size > d.MaxMessageBytes {
		return nil, d.oversize(ctx, mb, info, loc)
	}
	var buf bytes.Buffer
	buf.Grow(int(info.Size))
	if _, err := mb.Fetch(ctx, info.UID, &buf, d.MaxMessageBytes); err != nil {
		switch {
		case errors.Is(err, ErrTooLarge):
			return nil, d.oversize(ctx, mb, info, loc)
		case errors.Is(err, ErrNoMessage):
			return nil, nil // moved or deleted by someone else meanwhile
		}
		return nil, fmt.Errorf("fetch uid %d: %w", info.UID, err)
	}
	raw := buf.Bytes()
	hash := parser.Hash(raw)
	if err := seen(hash); err != nil {
		return nil, err
	}
	st, err := d.Store.MessageState(ctx, hash)
	if err != nil {
		return nil, fmt.Errorf("message state uid %d: %w", info.UID, err)
	}
	switch st.State {
	case register.MessageDecided, register.MessageMoved:
		// Decided before a crash or a failed move: only move it.
		return nil, d.move(ctx, mb, info.UID, hash, d.folderFor(st.Outcome, false))
	case register.MessageQuarantined:
		return nil, d.move(ctx, mb, info.UID, hash, mb.Folders().Quarantine)
	}
	j := &inHand{info: info, loc: loc, raw: raw, hash: hash, done: make(chan struct{})}
	go func() {
		defer close(j.done)
		start := time.Now()
		j.sub, j.err = d.Pipeline.Parse(ctx, raw)
		j.parse = time.Since(start)
	}()
	return j, nil
}

// commit waits for j's parse, then decides and commits it, and adds it to
// the moves. It returns an error only when the connection is no longer
// usable; a failing message is recorded and, after MaxAttempts,
// quarantined.
func (d *Daemon) commit(ctx context.Context, mb *Mailbox, j *inHand, moves *moveBatch) error {
	<-j.done
	start := time.Now()
	err := j.err
	var applied register.Applied
	if err == nil {
		applied, err = d.Pipeline.Apply(ctx, j.loc, j.raw, j.sub)
	}
	d.Metrics.Observe(j.parse + time.Since(start))
	if err != nil {
		return d.failed(ctx, mb, j.info, j.loc, j.raw, j.hash, err)
	}
	d.Health.count(applied.Decision.Outcome)
	if d.OnProcessed != nil {
		d.OnProcessed(applied.Decision.Outcome)
	}
	moves.add(j.info.UID, j.hash, d.folderFor(applied.Decision.Outcome, applied.Duplicate))
	return nil
}

// maxMoveBatch is how many committed messages wait for one MOVE per
// folder. A move is a round trip and, on Dovecot, an fsync; a message
// decided but not yet moved is safe (the next sync finds it decided and
// only moves it), so moving in batches keeps the exactly-once promise.
const maxMoveBatch = 64

// moveBatch is committed messages waiting to be moved, by folder.
type moveBatch struct {
	folders  []string
	byFolder map[string][]committed
	n        int
}

type committed struct {
	uid  uint32
	hash string
}

func (b *moveBatch) add(uid uint32, hash, folder string) {
	if b.byFolder == nil {
		b.byFolder = map[string][]committed{}
	}
	if _, ok := b.byFolder[folder]; !ok {
		b.folders = append(b.folders, folder)
	}
	b.byFolder[folder] = append(b.byFolder[folder], committed{uid, hash})
	b.n++
}

// flushMoves moves the batch, one UID MOVE per folder on a server with
// MOVE, and empties it.
func (d *Daemon) flushMoves(ctx context.Context, mb *Mailbox, b *moveBatch) error {
	if b.n == 0 {
		return nil
	}
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	defer func() { *b = moveBatch{} }()
	for _, folder := range b.folders {
		ms := b.byFolder[folder]
		if len(ms) == 1 || !mb.caps.Has(imap.CapMove) {
			for _, m := range ms {
				if err := d.move(work, mb, m.uid, m.hash, folder); err != nil {
					return err
				}
			}
			continue
		}
		var set imap.UIDSet
		for _, m := range ms {
			set.AddNum(imap.UID(m.uid))
		}
		moveAll := func() error {
			return mb.do(work, fmt.Sprintf("move %d messages to %q", len(ms), folder), func() error {
				_, err := mb.c.Move(set, folder).Wait()
				return err
			})
		}
		err := moveAll()
		if err != nil && needsCreate(err) {
			if cerr := mb.create(work, folder); cerr != nil {
				err = fmt.Errorf("%w; then %w", err, cerr)
			} else {
				err = moveAll()
			}
		}
		if err != nil {
			// The decisions are committed: the next sync moves them.
			d.Log.Error("move failed", "messages", len(ms), "folder", folder, "err", err)
			return fmt.Errorf("move %d messages to %s: %w", len(ms), folder, err)
		}
		for _, m := range ms {
			if err := d.Store.MarkMoved(work, m.hash, folder, 0, 0); err != nil && !errors.Is(err, register.ErrNotFound) {
				d.Log.Warn("mark moved", "err", err)
			}
		}
	}
	return nil
}

func (d *Daemon) failed(ctx context.Context, mb *Mailbox, info MessageInfo, loc Location, raw []byte, hash string, cause error) error {
	in := register.Incoming{Hash: hash, Mailbox: loc.Mailbox, UIDValidity: loc.UIDValidity, UID: loc.UID, Raw: raw, ReceivedAt: d.now()}
	attempts, err := d.Store.RecordFailure(ctx, in, cause.Error())
	if err != nil {
		return fmt.Errorf("record failure of uid %d: %w", info.UID, err)
	}
	d.Log.Error("message failed", "uid", info.UID, "attempt", attempts, "err", cause)
	if !errors.Is(cause, ErrUnparseable) && attempts < d.MaxAttempts {
		return nil // stays in the inbox; tried again at the next sync
	}
	if err := d.Store.Quarantine(ctx, hash, cause.Error()); err != nil {
		return fmt.Errorf("quarantine uid %d: %w", info.UID, err)
	}
	d.Health.quarantine()
	if d.OnProcessed != nil {
		d.OnProcessed("quarantined")
	}
	return d.move(ctx, mb, info.UID, hash, mb.Folders().Quarantine)
}

// oversize quarantines a message too large to read, without holding it:
// it is streamed through the hash (for its identity) keeping only the
// header, and its sender gets one short notice.
func (d *Daemon) oversize(ctx context.Context, mb *Mailbox, info MessageInfo, loc Location) error {
	h := sha256.New()
	head := &headCapture{max: 64 << 10}
	if _, err := mb.Fetch(ctx, info.UID, io.MultiWriter(h, head), 1<<40); err != nil {
		if errors.Is(err, ErrNoMessage) {
			return nil
		}
		return fmt.Errorf("fetch oversize uid %d: %w", info.UID, err)
	}
	hash := hex.EncodeToString(h.Sum(nil))
	st, err := d.Store.MessageState(ctx, hash)
	if err != nil {
		return err
	}
	if st.State == "" || st.State == register.MessageFailed {
		header := head.headerOnly()
		sub, _ := d.Pipeline.Parser.Parse(ctx, header)
		in := register.Incoming{Hash: hash, Mailbox: loc.Mailbox, UIDValidity: loc.UIDValidity, UID: loc.UID,
			Raw: header, Submission: sub, ReceivedAt: d.now()}
		if sub != nil {
			in.MessageID = sub.MessageID
		}
		why := fmt.Sprintf("the email is %d MB, over the %d MB limit, and was not read", info.Size>>20, d.MaxMessageBytes>>20)
		if _, err := d.Store.RecordFailure(ctx, in, why); err != nil {
			return err
		}
		if err := d.Store.Quarantine(ctx, hash, why); err != nil {
			return err
		}
		if sub != nil && !sub.AutoReply && !sub.List && sub.From != "" && !d.Pipeline.Composer.own(sub.From) {
			if _, err := d.Store.Enqueue(ctx, d.Pipeline.Composer.Oversize(replyAddress(sub), sub.MessageID, int(d.MaxMessageBytes>>20))); err != nil {
				return err
			}
		}
		d.Health.quarantine()
		d.Log.Warn("oversize message quarantined", "uid", info.UID, "size", info.Size)
	}
	return d.move(ctx, mb, info.UID, hash, mb.Folders().Quarantine)
}

func (d *Daemon) move(ctx context.Context, mb *Mailbox, uid uint32, hash, folder string) error {
	if err := mb.Move(ctx, uid, folder); err != nil {
		if errors.Is(err, ErrNoMessage) {
			return nil
		}
		// The decision is committed: the next sync moves it.
		d.Log.Error("move failed", "uid", uid, "folder", folder, "err", err)
		return fmt.Errorf("move uid %d to %s: %w", uid, folder, err)
	}
	if err := d.Store.MarkMoved(ctx, hash, folder, 0, 0); err != nil && !errors.Is(err, register.ErrNotFound) {
		d.Log.Warn("mark moved", "err", err)
	}
	return nil
}

func (d *Daemon) folderFor(o register.Outcome, duplicate bool) string {
	f := d.IMAP.Folders.withDefaults()
	if duplicate {
		return f.Ignored
	}
	switch o {
	case register.OutcomeRegister:
		return f.Processed
	case register.OutcomeQuery:
		return f.Queried
	case register.OutcomeReview:
		return f.Review
	}
	return f.Ignored
}

// watchdog says loudly when the inbox has not been read for too long: an
// intake that silently stopped is the worst failure.
func (d *Daemon) watchdog(ctx context.Context) {
	if d.Watchdog <= 0 {
		return
	}
	start := d.now()
	t := time.NewTicker(min(d.Watchdog/4, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		last := d.Health.Snapshot().LastFetchOK
		if last.IsZero() {
			last = start
		}
		if since := d.now().Sub(last); since > d.Watchdog {
			d.Log.Error("watchdog: no successful fetch from the inbox", "since", last.UTC().Format(time.RFC3339), "for", since.Round(time.Second))
		}
	}
}

func (d *Daemon) defaults() {
	if d.Health == nil {
		d.Health = &Health{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.MaxAttempts <= 0 {
		d.MaxAttempts = 3
	}
	if d.MaxMessageBytes <= 0 {
		d.MaxMessageBytes = 40 << 20
	}
	if d.Workers <= 0 {
		d.Workers = runtime.NumCPU()
	}
	if d.MaxIdle <= 0 || d.MaxIdle >= 29*time.Minute {
		d.MaxIdle = 25 * time.Minute
	}
	if d.Poll == nil {
		d.Poll = cron.Every(5 * time.Minute)
	}
}

func (d *Daemon) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (c IMAPConfig) mailbox() string {
	if c.Mailbox == "" {
		return "INBOX"
	}
	return c.Mailbox
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// headCapture keeps the first bytes of a stream, enough for its header.
type headCapture struct {
	buf bytes.Buffer
	max int
}

func (h *headCapture) Write(p []byte) (int, error) {
	if room := h.max - h.buf.Len(); room > 0 {
		h.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// headerOnly is the captured header and an empty body.
func (h *headCapture) headerOnly() []byte {
	b := h.buf.Bytes()
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		return append([]byte{}, b[:i+4]...)
	}
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		return append([]byte{}, b[:i+2]...)
	}
	return append([]byte{}, b...)
}
