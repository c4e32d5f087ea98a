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
	"sync/atomic"
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
	Workers         int           // CPUs to keep parsing; up to 4 messages each are in hand; 0: one per CPU
	Poll            cron.Schedule // the polling safety net; nil: every 5 minutes
	Watchdog        time.Duration // no successful fetch for this long is an error
	Health          *Health
	Metrics         *Metrics // optional
	Log             *slog.Logger
	Now             func() time.Time
	// OnProcessed, when set, is told of every message handled (progress).
	OnProcessed func(register.Outcome)
	// OnMoved, when set, is told how many messages were moved out of the
	// inbox to folder, and OnReconciled how many moved ones whose move had
	// not been recorded were found (the --once summary).
	OnMoved      func(folder string, n int)
	OnReconciled func(n int)

	// unfound are rows reconcile looked for and did not find (a person
	// moved or deleted the message): not looked for again until restart.
	unfound map[string]bool
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
	if err := d.Sync(ctx, mb); err != nil {
		return err
	}
	return d.afterSync(ctx, mb)
}

// afterSync reconciles the store with the mailbox (see reconcile).
func (d *Daemon) afterSync(ctx context.Context, mb *Mailbox) error {
	n, err := d.reconcile(ctx, mb)
	if n > 0 && d.OnReconciled != nil {
		d.OnReconciled(n)
	}
	return err
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

// Sync handles every message in the mailbox once. Three things overlap:
// this goroutine, which owns the IMAP connection, fetches the messages in
// UID order, several per command, and moves committed ones in batches;
// the fetched messages are looked up and parsed in parallel (up to four
// per worker in hand, within inHandBytes); and a committer goroutine
// decides and commits them, in UID order, on the database. A message is
// moved only after its decision is committed and durable (Store.Barrier),
// so a crash anywhere leaves it in the inbox or decided, never lost or
// decided twice.
func (d *Daemon) Sync(ctx context.Context, mb *Mailbox) error {
	d.defaults()
	infos, err := mb.List(ctx)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	d.Health.FetchOK(d.now())
	started := time.Now()
	var st syncStages
	// Messages in hand (fetched, not yet committed) are bounded in number
	// and in bytes; a message larger than the byte budget is taken alone.
	maxInHand := max(4*d.Workers, 4)
	toCommit := make(chan *inHand, maxInHand)
	released := make(chan int64, maxInHand) // sizes of messages the committer is done with
	var held int64
	nInHand := 0
	toMove := make(chan *moveBatch, 1)
	var abandon atomic.Bool // the messages in hand are to be left in the inbox
	commitErr := make(chan error, 1)
	quarantine := mb.Folders().Quarantine
	go func() { commitErr <- d.commitAll(toCommit, released, toMove, &abandon, quarantine, &st) }()

	var fetchErr, moveErr error
	var movesDue []*moveBatch // handed back while the connection was mid-fetch
	move := func(b *moveBatch) {
		if moveErr != nil {
			return // the connection failed: the next sync moves them
		}
		t := time.Now()
		moveErr = d.flushMoves(ctx, mb, b)
		st.move += time.Since(t)
	}
	stop := func() bool { return ctx.Err() != nil || moveErr != nil || abandon.Load() }
	// hand gives the committer a message, keeping the committer's batches
	// to move meanwhile (the connection is mid-fetch).
	hand := func(j *inHand) {
		size := int64(len(j.raw))
		for nInHand > 0 && (held+size > inHandBytes || nInHand >= maxInHand) {
			select {
			case n := <-released:
				held -= n
				nInHand--
			case b := <-toMove:
				movesDue = append(movesDue, b)
			}
		}
		held += size
		nInHand++
		toCommit <- j // never waits: fewer than maxInHand are in it
	}
	for i := 0; i < len(infos) && !stop(); {
		for _, b := range movesDue {
			move(b)
		}
		movesDue = nil
		select {
		case b := <-toMove:
			move(b)
		default:
		}
		// A run of messages to fetch with one command; an oversize one
		// is quarantined alone, without reading it.
		var run []uint32
		var runBytes int64
		for ; i < len(infos) && len(run) < maxFetchBatch && runBytes < maxFetchBatchBytes; i++ {
			info := infos[i]
			if info.Deleted {
				continue
			}
			if info.Size > d.MaxMessageBytes {
				if len(run) > 0 {
					break
				}
				i++
				t := time.Now()
				err := d.oversize(ctx, mb, info, d.location(mb, info.UID))
				st.fetch += time.Since(t)
				if err != nil {
					fetchErr = err
					abandon.Store(true)
				}
				break
			}
			run = append(run, info.UID)
			runBytes += info.Size
		}
		if len(run) == 0 {
			continue
		}
		var tooLarge []uint32
		t := time.Now()
		// A stop does not cut a batch's fetch (that would close the
		// connection before the messages in hand are moved): the rest of
		// the batch is read and dropped, to stay in the inbox.
		fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		err := mb.FetchEach(fetchCtx, run, d.MaxMessageBytes, func(f Fetched) error {
			if stop() {
				return errStopFetch
			}
			if f.TooLarge {
				tooLarge = append(tooLarge, f.UID)
				return nil
			}
			st.fetch += time.Since(t)
			work, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
			j := d.startParse(work, mb, f)
			j.ctx, j.cancel = work, cancel
			hand(j)
			t = time.Now()
			return nil
		})
		cancel()
		st.fetch += time.Since(t)
		if err != nil && !errors.Is(err, errStopFetch) {
			fetchErr = fmt.Errorf("fetch: %w", err)
			abandon.Store(true)
			break
		}
		for _, uid := range tooLarge {
			// The server's size was wrong: quarantine it unread.
			if err := d.oversize(ctx, mb, MessageInfo{UID: uid, Size: d.MaxMessageBytes + 1}, d.location(mb, uid)); err != nil {
				fetchErr = err
				abandon.Store(true)
				break
			}
		}
	}
	for _, b := range movesDue {
		move(b)
	}
	close(toCommit)
	for b := range toMove {
		move(b)
	}
	cerr := <-commitErr
	if st.messages > 0 {
		// Where a sync's time went, for tuning (make bench): fetching and
		// moving on one goroutine, waiting for parses and committing on
		// the other.
		d.Log.Info("sync done", "messages", st.messages, "took", time.Since(started).Round(time.Millisecond),
			"fetch", st.fetch.Round(time.Millisecond), "move", st.move.Round(time.Millisecond),
			"wait_parse", st.waitParse.Round(time.Millisecond),
			"apply", st.apply.Round(time.Millisecond), "hand_back", st.handBack.Round(time.Millisecond))
	}
	if err := errors.Join(fetchErr, cerr, moveErr); err != nil {
		return err
	}
	d.Health.FetchOK(d.now())
	if d.Sender != nil {
		d.Sender.Kick()
	}
	return nil
}

// syncStages is the time one sync spent in each stage: fetch and move are
// the IMAP goroutine's; waitParse (for the look-up and the parse), apply
// and handBack (waiting to hand a batch to be moved) the committer's.
type syncStages struct {
	messages                   int
	fetch, move                time.Duration
	waitParse, apply, handBack time.Duration
}

// inHand is a fetched message being parsed.
type inHand struct {
	info   MessageInfo
	loc    Location
	raw    []byte
	hash   string
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the fields below are set
	// Set before done is closed: the message's state in the store, and
	// unless it was decided before, its parse.
	state    register.MessageStatus
	stateErr error
	sub      *parser.Submission
	err      error
	parse    time.Duration
}

// Fetches are batched: one UID FETCH for up to maxFetchBatch messages
// (and about maxFetchBatchBytes), streamed back to back by the server.
// Batching holds no more in memory: each message is handed to the
// committer as it arrives, and the stream waits while the committer is
// busy.
const (
	maxFetchBatch      = 16
	maxFetchBatchBytes = 16 << 20
)

// inHandBytes bounds the raw bytes of the messages in hand: enough for a
// hundred typical referrals queued for the parsers and the committer,
// while one email at the size limit is still taken, alone.
const inHandBytes = 32 << 20

// errStopFetch ends a batch's fetch early when the sync is stopping.
var errStopFetch = errors.New("sync stopping")

func (d *Daemon) location(mb *Mailbox, uid uint32) Location {
	return Location{Mailbox: d.IMAP.mailbox(), UIDValidity: mb.UIDValidity(), UID: uid}
}

// startParse looks a fetched message up and, unless it was decided
// before, starts parsing it, beside the committer: on PostgreSQL the look-up
// is a round trip the committer need not wait for.
func (d *Daemon) startParse(ctx context.Context, mb *Mailbox, f Fetched) *inHand {
	j := &inHand{info: MessageInfo{UID: f.UID, Size: int64(len(f.Raw))}, loc: d.location(mb, f.UID),
		raw: f.Raw, hash: parser.Hash(f.Raw), done: make(chan struct{})}
	go func() {
		defer close(j.done)
		start := time.Now()
		j.state, j.stateErr = d.Store.MessageState(ctx, j.hash)
		if j.stateErr != nil || j.state.State != "" && j.state.State != register.MessageFailed {
			return // the committer reports the error, or only moves it
		}
		j.sub, j.err = d.Pipeline.Parse(ctx, f.Raw)
		j.parse = time.Since(start)
	}()
	return j
}

// commitAll is the committer: it commits the messages it is handed in
// order and hands back batches of them to move. After an error, or once
// abandon is set, it only cancels what it is handed (those messages stay
// in the inbox for the next sync); it returns when toCommit is closed,
// after closing toMove.
func (d *Daemon) commitAll(toCommit <-chan *inHand, released chan<- int64, toMove chan<- *moveBatch, abandon *atomic.Bool, quarantine string, st *syncStages) error {
	defer close(toMove)
	moves := &moveBatch{}
	var err error
	for j := range toCommit {
		if err != nil || abandon.Load() {
			j.cancel()
			released <- int64(len(j.raw))
			continue
		}
		err = d.commit(j, moves, quarantine, st)
		j.cancel()
		<-j.done // its parse has let go of the raw bytes too
		released <- int64(len(j.raw))
		if err != nil {
			abandon.Store(true)
			continue
		}
		if moves.n >= maxMoveBatch {
			t := time.Now()
			toMove <- moves
			st.handBack += time.Since(t)
			moves = &moveBatch{}
		}
	}
	// What is committed is moved even after a failure.
	if moves.n > 0 {
		toMove <- moves
	}
	return err
}

// commit looks j up in the store (a message decided before, or
// quarantined, is only moved), else waits for its parse, decides and
// commits it, and adds it to the moves. It returns an error only when the
// store failed; a failing message is recorded and, after MaxAttempts,
// quarantined.
func (d *Daemon) commit(j *inHand, moves *moveBatch, quarantine string, st *syncStages) error {
	ctx := j.ctx
	t := time.Now()
	<-j.done
	st.waitParse += time.Since(t)
	if j.stateErr != nil {
		return fmt.Errorf("message state uid %d: %w", j.info.UID, j.stateErr)
	}
	switch j.state.State {
	case register.MessageDecided, register.MessageMoved:
		// Decided before a crash or a failed move: only move it.
		moves.add(j.info.UID, j.hash, d.folderFor(j.state.Outcome, false))
		return nil
	case register.MessageQuarantined:
		moves.add(j.info.UID, j.hash, quarantine)
		return nil
	}
	st.messages++
	start := time.Now()
	err := j.err
	var applied register.Applied
	if err == nil {
		applied, err = d.Pipeline.Apply(ctx, j.loc, j.raw, j.sub)
	}
	st.apply += time.Since(start)
	d.Metrics.Observe(j.parse + time.Since(start))
	if err != nil {
		quarantined, ferr := d.failed(ctx, j.info, j.loc, j.raw, j.hash, err)
		if quarantined {
			moves.add(j.info.UID, j.hash, quarantine)
		}
		return ferr
	}
	if applied.SameBytes {
		// A second copy of the same bytes in this mailbox, looked up
		// before the first was committed: only move it, to the first's
		// folder, as one decided before.
		moves.add(j.info.UID, j.hash, d.folderFor(applied.Decision.Outcome, false))
		return nil
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
	// The batch's decisions reach the disk before their emails leave the
	// inbox: one wait for the disk per batch, not per email.
	if err := d.Store.Barrier(work); err != nil {
		return fmt.Errorf("before moving %d messages: %w", b.n, err)
	}
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
func (d *Daemon) failed(ctx context.Context, info MessageInfo, loc Location, raw []byte, hash string, cause error) (quarantined bool, err error) {
	in := register.Incoming{Hash: hash, Mailbox: loc.Mailbox, UIDValidity: loc.UIDValidity, UID: loc.UID, Raw: raw, ReceivedAt: d.now()}
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
		if err := d.Store.Barrier(ctx); err != nil {
			return fmt.Errorf("before moving oversize uid %d: %w", info.UID, err)
		}
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
	d.moved(folder, 1)
	if err := d.Store.MarkMoved(ctx, hash, folder, 0, 0); err != nil && !errors.Is(err, register.ErrNotFound) {
		d.Log.Warn("mark moved", "err", err)
	}
	return nil
}

func (d *Daemon) moved(folder string, n int) {
	if d.OnMoved != nil {
		d.OnMoved(folder, n)
	}
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
