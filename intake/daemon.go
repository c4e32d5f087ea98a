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

	"github.com/robfig/cron/v3"

	"dsr-intake/intake/mailbox"
	"dsr-intake/intake/outbox"
	"dsr-intake/register"
	"dsr-intake/register/store"
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
	IMAP            mailbox.IMAPConfig
	Pipeline        *Pipeline
	Sender          *outbox.Sender // optional: kicked after each sync
	Store           *store.Store
	MaxMessageBytes int64         // larger messages are quarantined unread
	MaxAttempts     int           // pipeline failures before quarantine
	MaxIdle         time.Duration // IDLE is re-issued after this (under 29 minutes)
	Workers         int           // CPUs to keep parsing (see inHandPerWorker); 0: one per CPU
	Poll            cron.Schedule // the polling safety net; nil: every 5 minutes
	Watchdog        time.Duration // no successful fetch for this long is an error
	// AttachmentBound is the longest one attachment may take to read
	// (parser.Parser.AttachmentBound): a message's budget from its fetch
	// to its commit is 5 minutes plus room for the messages in hand ahead
	// of it to have two attachments each read that long (scans by OCR).
	AttachmentBound time.Duration
	Health          *Health
	Metrics         *Metrics // optional
	Log             *slog.Logger
	Now             func() time.Time
	// OnProcessed, when set, is told of every message handled (progress).
	OnProcessed func(register.Outcome)
	// OnMoved, when set, is told how many messages were moved out of the
	// inbox to folder (never by two goroutines at once), and OnReconciled
	// how many moved ones whose move had not been recorded were found (the
	// --once summary).
	OnMoved      func(folder string, n int)
	OnReconciled func(n int)
	movedMu      sync.Mutex
	// onInHand, when set, is told how many messages are in hand each time
	// one more is handed over (tests of the bound).
	onInHand func(n int)
	// fetchSilence, when set, replaces the const of that name (tests).
	fetchSilence time.Duration

	// unfound are rows reconcile looked for and did not find (a person
	// moved or deleted the message): not looked for again until restart.
	unfound map[string]bool
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
func (d *Daemon) watch(ctx context.Context, lock *store.MailboxLock, attempt *int) error {
	for ctx.Err() == nil {
		if !lock.Held(ctx) {
			return errLockLost
		}
		mb, err := mailbox.DialIMAP(ctx, d.IMAP)
		if err != nil {
			d.Health.Disconnected()
			wait := mailbox.Backoff(*attempt)
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
		wait := mailbox.Backoff(*attempt)
		*attempt++
		d.Log.Warn("imap connection lost", "err", err, "retry_in", wait.Round(time.Second))
		sleep(ctx, wait)
	}
	return nil
}

// lockName identifies the watched mailbox across daemons.
func (d *Daemon) lockName() string {
	return d.IMAP.Username + "@" + d.IMAP.Addr + "/" + d.IMAP.MailboxName()
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
	mb, err := mailbox.DialIMAP(ctx, d.IMAP)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer mb.Close()
	if err := mb.EnsureFolders(ctx); err != nil {
		return err
	}
	if err := d.Sync(ctx, mb); err != nil {
		return err
	}
	return d.afterSync(ctx, mb)
}

// afterSync reconciles the store with the mailbox (see reconcile).
func (d *Daemon) afterSync(ctx context.Context, mb *mailbox.Mailbox) error {
	n, err := d.reconcile(ctx, mb)
	if n > 0 && d.OnReconciled != nil {
		d.OnReconciled(n)
	}
	return err
}

func (d *Daemon) serve(ctx context.Context, mb *mailbox.Mailbox, lock *store.MailboxLock) error {
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
		if err := d.afterSync(ctx, mb); err != nil {
			return err
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
func (d *Daemon) flushMoves(ctx context.Context, mb *mailbox.Mailbox, b *moveBatch) error {
	if b.n == 0 {
		return nil
	}
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	defer func() { *b = moveBatch{} }()
	// The batch's decisions reach the disk before their emails leave the
	// inbox: one wait for the disk per batch, not per email.
	if err := d.Store.Barrier(work); err != nil {
		return fmt.Errorf("before moving %d messages: %w", b.n, err)
	}
	for _, folder := range b.folders {
		ms := b.byFolder[folder]
		if len(ms) == 1 || !mb.CanMove() {
			for _, m := range ms {
				if err := d.move(work, mb, m.uid, m.hash, folder); err != nil {
					return err
				}
			}
			continue
		}
		uids := make([]uint32, len(ms))
		for i, m := range ms {
			uids[i] = m.uid
		}
		err := mb.MoveAll(work, uids, folder)
		if err != nil {
			// The decisions are committed: the next sync moves them.
			d.Log.Error("move failed", "messages", len(ms), "folder", folder, "err", err)
			return fmt.Errorf("move %d messages to %s: %w", len(ms), folder, err)
		}
		hashes := make([]string, len(ms))
		for i, m := range ms {
			hashes[i] = m.hash
		}
		d.moved(folder, len(ms))
		if _, err := d.Store.MarkMovedAll(work, hashes, folder); err != nil {
			// Only bookkeeping: the messages are decided and moved.
			d.Log.Warn("mark moved", "messages", len(ms), "err", err)
		}
	}
	return nil
}

// failed records a message the pipeline failed on and says whether it is
// now quarantined (to be moved to the quarantine folder); otherwise it
// stays in the inbox to be tried again at the next sync.
func (d *Daemon) failed(ctx context.Context, info mailbox.MessageInfo, loc Location, raw []byte, hash string, cause error) (quarantined bool, err error) {
	// The message's own budget may be what ran out: recording that must
	// not need it, or the failure is never counted and the message fails
	// the same way at every sync.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	in := store.Incoming{Hash: hash, Mailbox: loc.Mailbox, UIDValidity: loc.UIDValidity, UID: loc.UID, Raw: raw, ReceivedAt: d.now()}
	attempts, err := d.Store.RecordFailure(ctx, in, cause.Error())
	if err != nil {
		return false, fmt.Errorf("record failure of uid %d: %w", info.UID, err)
	}
	d.Log.Error("message failed", "uid", info.UID, "attempt", attempts, "err", cause)
	if !errors.Is(cause, ErrUnparseable) && attempts < d.MaxAttempts {
		return false, nil
	}
	if err := d.Store.Quarantine(ctx, hash, cause.Error()); err != nil {
		return false, fmt.Errorf("quarantine uid %d: %w", info.UID, err)
	}
	d.Health.quarantine()
	if d.OnProcessed != nil {
		d.OnProcessed("quarantined")
	}
	return true, nil
}

// oversize quarantines a message too large to read, without holding it:
// it is streamed through the hash (for its identity) keeping only the
// header, and its sender gets one short notice.
func (d *Daemon) oversize(ctx context.Context, mb *mailbox.Mailbox, info mailbox.MessageInfo, loc Location) error {
	h := sha256.New()
	head := &headCapture{max: 64 << 10}
	if _, err := mb.Fetch(ctx, info.UID, io.MultiWriter(h, head), 1<<40); err != nil {
		if errors.Is(err, mailbox.ErrNoMessage) {
			return nil
		}
		return fmt.Errorf("fetch oversize uid %d: %w", info.UID, err)
	}
	hash := hex.EncodeToString(h.Sum(nil))
	st, err := d.Store.MessageState(ctx, hash)
	if err != nil {
		return err
	}
	if st.State == "" || st.State == store.MessageFailed {
		header := head.headerOnly()
		sub, _ := d.Pipeline.Parser.Parse(ctx, header)
		in := store.Incoming{Hash: hash, Mailbox: loc.Mailbox, UIDValidity: loc.UIDValidity, UID: loc.UID,
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
		if sub != nil && !sub.AutoReply && !sub.List && sub.From != "" && !d.Pipeline.Composer.Own(sub.From) {
			if _, err := d.Store.Enqueue(ctx, d.Pipeline.Composer.Oversize(replyAddress(sub), sub.MessageID, int(d.MaxMessageBytes>>20))); err != nil {
				return err
			}
		}
		d.Health.quarantine()
		d.Log.Warn("oversize message quarantined", "uid", info.UID, "size", info.Size)
		if err := d.Store.Barrier(ctx); err != nil {
			return fmt.Errorf("before moving oversize uid %d: %w", info.UID, err)
		}
	}
	return d.move(ctx, mb, info.UID, hash, mb.Folders().Quarantine)
}

func (d *Daemon) move(ctx context.Context, mb *mailbox.Mailbox, uid uint32, hash, folder string) error {
	if err := mb.Move(ctx, uid, folder); err != nil {
		if errors.Is(err, mailbox.ErrNoMessage) {
			return nil
		}
		// The decision is committed: the next sync moves it.
		d.Log.Error("move failed", "uid", uid, "folder", folder, "err", err)
		return fmt.Errorf("move uid %d to %s: %w", uid, folder, err)
	}
	d.moved(folder, 1)
	if err := d.Store.MarkMoved(ctx, hash, folder, 0, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
		d.Log.Warn("mark moved", "err", err)
	}
	return nil
}

// moved tells OnMoved, one call at a time: the fetcher quarantines an
// oversize email on its connection while the mover moves on its own.
func (d *Daemon) moved(folder string, n int) {
	if d.OnMoved != nil {
		d.movedMu.Lock()
		defer d.movedMu.Unlock()
		d.OnMoved(folder, n)
	}
}

func (d *Daemon) folderFor(o register.Outcome, duplicate bool) string {
	f := d.IMAP.Folders.WithDefaults()
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
