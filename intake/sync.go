package intake

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"dsr-intake/intake/mailbox"
	"dsr-intake/parser"
	"dsr-intake/register/store"
)

// Sync handles every message in the mailbox once. Three things overlap:
// this goroutine, which owns the IMAP connection, fetches the messages in
// UID order, several per command; the fetched messages are looked up and
// parsed in parallel (up to inHandPerWorker per worker in hand,
// parsingPerWorker of them parsed at once, within inHandBytes); and a
// committer goroutine decides and commits them, in UID order, on the
// database. Committed messages are moved in batches: by the fetcher
// between its fetches, or, in a sync of more than one batch, by a mover
// goroutine on a second connection (see dialMover). A message is moved
// only after its decision is committed and durable (Store.Barrier), so a
// crash anywhere leaves it in the inbox or decided, never lost or decided
// twice. The stages are syncRun's methods.
func (d *Daemon) Sync(ctx context.Context, mb *mailbox.Mailbox) error {
	d.defaults()
	infos, err := mb.List(ctx)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	d.Health.FetchOK(d.now())
	started := time.Now()
	r := newSyncRun(ctx, d, mb)
	if mv := d.dialMover(ctx, mb, infos); mv != nil {
		defer mv.Close()
		r.moveOn(mv)
	}
	commitErr := make(chan error, 1)
	go func() { commitErr <- r.commitAll() }()
	r.fetchAll(infos)
	r.finish()
	cerr := <-commitErr
	st := &r.st
	if st.messages > 0 {
		// Where a sync's time went, for tuning (make bench): fetching,
		// moving (on the fetcher or the mover), waiting for parses and
		// committing (on the committer).
		d.Log.Info("sync done", "messages", st.messages, "took", time.Since(started).Round(time.Millisecond),
			"second_connection", r.mover != r.mb,
			"fetch", st.fetch.Round(time.Millisecond), "move", st.move.Round(time.Millisecond),
			"wait_parse", st.waitParse.Round(time.Millisecond),
			"apply", st.apply.Round(time.Millisecond), "hand_back", st.handBack.Round(time.Millisecond))
	}
	if err := errors.Join(r.fetchErr, cerr, r.moveErr); err != nil {
		return err
	}
	d.Health.FetchOK(d.now())
	if d.Sender != nil {
		d.Sender.Kick()
	}
	return nil
}

// dialMover opens a second connection to the watched mailbox for the
// moves of a sync of more messages than one move batch, or returns nil:
// the fetcher then moves between its fetches. The daemon's usual sync, a
// few messages IDLE woke it for, does not pay for a second login. A
// server that refuses the connection (a limit on connections per user)
// or whose mailbox no longer has mb's UIDVALIDITY (the UIDs would mean
// other messages) gets its moves on mb, as before.
func (d *Daemon) dialMover(ctx context.Context, mb *mailbox.Mailbox, infos []mailbox.MessageInfo) *mailbox.Mailbox {
	n := 0
	for _, info := range infos {
		if !info.Deleted {
			n++
		}
	}
	if n <= maxMoveBatch {
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	mv, err := mailbox.DialIMAP(dctx, d.IMAP)
	if err != nil {
		// A daemon stopping during the dial is no fault of the server's.
		if ctx.Err() == nil {
			d.Log.Warn("second connection for moves failed; moving on the first", "err", err)
		}
		return nil
	}
	if mv.UIDValidity() != mb.UIDValidity() {
		_ = mv.Close()
		d.Log.Warn("second connection sees another UIDVALIDITY; moving on the first",
			"uidvalidity", mb.UIDValidity(), "second", mv.UIDValidity())
		return nil
	}
	return mv
}

// syncRun is one Sync. The fetcher (the goroutine that called Sync, which
// owns the IMAP connection) runs fetchAll, hand and finish, and move
// unless a mover goroutine runs moveAll; the committer goroutine runs
// commitAll and commit. They share only the channels, abandon and
// moveFailed; st's fetch is the fetcher's, move the mover's (or the
// fetcher's), the rest the committer's, and Sync reads them once all
// have returned.
type syncRun struct {
	d          *Daemon
	ctx        context.Context
	mb         *mailbox.Mailbox
	quarantine string // the quarantine folder
	st         syncStages

	// mover is the connection moves are made on: mb, or a second one
	// with a goroutine of its own (moveOn). fetcherMoves is toMove when
	// the fetcher moves, and nil (never ready) when the mover does.
	mover        *mailbox.Mailbox
	fetcherMoves chan *moveBatch
	moverDone    chan struct{} // closed when the mover goroutine returns
	moveFailed   atomic.Bool   // a move failed: moveErr is set

	// Messages in hand (fetched, not yet committed) are bounded in number
	// and in bytes; a message larger than the byte budget is taken alone.
	maxInHand int
	toCommit  chan *inHand    // fetcher -> committer, in UID order
	released  chan int64      // committer -> fetcher: sizes of messages it is done with
	toMove    chan *moveBatch // committer -> fetcher: committed batches to move
	abandon   atomic.Bool     // the messages in hand are to be left in the inbox
	// A slot for each message being parsed: fewer than are in hand.
	parsing chan struct{}

	// The fetcher's own.
	held     int64        // bytes in hand
	nInHand  int          // messages in hand
	movesDue []*moveBatch // handed back while the connection was mid-fetch
	fetchErr error

	moveErr error // the mover's (or the fetcher's), read once both are done
}

func newSyncRun(ctx context.Context, d *Daemon, mb *mailbox.Mailbox) *syncRun {
	perWorker := func(n int) int { return n * max(d.Workers, 1) }
	maxInHand := perWorker(inHandPerWorker)
	toMove := make(chan *moveBatch, 1)
	return &syncRun{
		d: d, ctx: ctx, mb: mb, quarantine: mb.Folders().Quarantine,
		mover: mb, fetcherMoves: toMove,
		maxInHand: maxInHand,
		parsing:   make(chan struct{}, perWorker(parsingPerWorker)),
		toCommit:  make(chan *inHand, maxInHand),
		released:  make(chan int64, maxInHand),
		toMove:    toMove,
	}
}

// moveOn hands the moves to a goroutine of their own on mv, a second
// connection to the same mailbox, so that the fetcher never waits for a
// move (a UID MOVE is a round trip and, on Dovecot, an fsync; the
// barrier before it waits for the disk) and fetching goes on meanwhile.
func (r *syncRun) moveOn(mv *mailbox.Mailbox) {
	r.mover, r.fetcherMoves = mv, nil
	r.moverDone = make(chan struct{})
	go r.moveAll()
}

// stop reports whether the fetcher should fetch no more: ctx ended, a
// move failed (the server or the connection is suspect: what is committed
// stays decided in the inbox for the next sync), or the committer or a
// fetch failed and abandoned the messages in hand.
func (r *syncRun) stop() bool {
	return r.ctx.Err() != nil || r.moveFailed.Load() || r.abandon.Load()
}

// fail records a fetch failure: the messages in hand are abandoned (they
// stay in the inbox for the next sync) and the fetcher stops.
func (r *syncRun) fail(err error) {
	r.fetchErr = err
	r.abandon.Store(true)
}

// fetchAll is the fetch stage: it fetches infos in UID order, a run of
// them per command, handing each message to the committer as it arrives,
// and between runs moves the batches the committer handed back (unless
// the mover does). It never decides anything: a message leaves the inbox
// only through move.
func (r *syncRun) fetchAll(infos []mailbox.MessageInfo) {
	for i := 0; i < len(infos) && !r.stop(); {
		for _, b := range r.movesDue {
			r.move(b)
		}
		r.movesDue = nil
		select {
		case b := <-r.fetcherMoves:
			r.move(b)
		default:
		}
		var run []uint32
		run, i = r.nextRun(infos, i)
		if len(run) > 0 {
			r.fetch(run)
		}
	}
}

// nextRun picks the messages from infos[i] on to fetch with one command
// (up to maxFetchBatch, about maxFetchBatchBytes) and returns them with
// the index after them. An oversize message is quarantined alone, without
// reading it, and ends the run.
func (r *syncRun) nextRun(infos []mailbox.MessageInfo, i int) (run []uint32, next int) {
	d := r.d
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
			err := d.oversize(r.ctx, r.mb, info, d.location(r.mb, info.UID))
			r.st.fetch += time.Since(t)
			if err != nil {
				r.fail(err)
			}
			break
		}
		run = append(run, info.UID)
		runBytes += info.Size
	}
	return run, i
}

// fetch reads one run with one command and hands each message over as it
// arrives. A stop does not cut the fetch (that would close the connection
// before the messages in hand are moved): the rest of the run is read and
// dropped, to stay in the inbox. A message the server under-reported is
// quarantined unread.
func (r *syncRun) fetch(run []uint32) {
	d := r.d
	var tooLarge []uint32
	t := time.Now()
	// The server has fetchSilence for each message of the run; the time
	// the run waits for room in hand is not the server's (a run of scans
	// waits minutes for their OCR).
	wait := fetchSilence
	if d.fetchSilence > 0 {
		wait = d.fetchSilence
	}
	fetchCtx, cancel := context.WithCancel(context.WithoutCancel(r.ctx))
	var silent atomic.Bool
	silence := time.AfterFunc(wait, func() { silent.Store(true); cancel() })
	err := r.mb.FetchEach(fetchCtx, run, d.MaxMessageBytes, func(f mailbox.Fetched) error {
		if r.stop() {
			return errStopFetch
		}
		if f.TooLarge {
			tooLarge = append(tooLarge, f.UID)
			return nil
		}
		r.st.fetch += time.Since(t)
		work, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.messageBudget())
		j := d.startParse(work, r.mb, f, r.parsing)
		j.ctx, j.cancel = work, cancel
		silence.Stop()
		r.hand(j)
		silence.Reset(wait)
		t = time.Now()
		return nil
	})
	silence.Stop()
	cancel()
	r.st.fetch += time.Since(t)
	if err != nil && !errors.Is(err, errStopFetch) {
		if silent.Load() {
			err = fmt.Errorf("the server sent nothing for %s: %w", wait, err)
		}
		r.fail(fmt.Errorf("fetch: %w", err))
		return
	}
	for _, uid := range tooLarge {
		// The server's size was wrong: quarantine it unread.
		if err := d.oversize(r.ctx, r.mb, mailbox.MessageInfo{UID: uid, Size: d.MaxMessageBytes + 1}, d.location(r.mb, uid)); err != nil {
			r.fail(err)
			return
		}
	}
}

// messageBudget is one message's time from its fetch to its commit: 5
// minutes, and room to wait for the messages in hand ahead of it to have
// two attachments each read for as long as the parser allows (a batch of
// scans read by OCR takes minutes, not seconds).
func (r *syncRun) messageBudget() time.Duration {
	return 5*time.Minute + time.Duration(2*r.maxInHand)*r.d.AttachmentBound
}

// hand is the hand-over stage: it gives the committer a message once the
// messages in hand leave room for it (fewer than maxInHand, and within
// inHandBytes unless it is the only one), keeping the batches the
// committer hands back meanwhile to move after the fetch (the connection
// is mid-fetch). So the memory held is bounded however long the backlog.
func (r *syncRun) hand(j *inHand) {
	size := int64(len(j.raw))
	for r.nInHand > 0 && (r.held+size > inHandBytes || r.nInHand >= r.maxInHand) {
		select {
		case n := <-r.released:
			r.held -= n
			r.nInHand--
		case b := <-r.fetcherMoves:
			r.movesDue = append(r.movesDue, b)
		}
	}
	r.held += size
	r.nInHand++
	if r.d.onInHand != nil {
		r.d.onInHand(r.nInHand)
	}
	r.toCommit <- j // never waits: fewer than maxInHand are in it
}

// move is the move stage: it moves one committed batch (after
// Store.Barrier: see flushMoves). After a failed move it moves nothing
// more; the batches stay decided in the inbox and the next sync moves
// them.
func (r *syncRun) move(b *moveBatch) {
	if r.moveErr != nil {
		return // the connection failed: the next sync moves them
	}
	t := time.Now()
	r.moveErr = r.d.flushMoves(r.ctx, r.mover, b)
	r.st.move += time.Since(t)
	if r.moveErr != nil {
		r.moveFailed.Store(true)
	}
}

// moveAll is the mover goroutine's: it moves the batches the committer
// hands back until it closes toMove.
func (r *syncRun) moveAll() {
	defer close(r.moverDone)
	for b := range r.toMove {
		r.move(b)
	}
}

// finish moves what is still due, tells the committer there is no more,
// and moves the batches it hands back until it closes toMove (or waits
// for the mover to): whatever was committed is moved, even after a
// failure.
func (r *syncRun) finish() {
	for _, b := range r.movesDue {
		r.move(b)
	}
	r.movesDue = nil
	close(r.toCommit)
	if r.moverDone != nil {
		<-r.moverDone
		return
	}
	for b := range r.toMove {
		r.move(b)
	}
}

// syncStages is the time one sync spent in each stage: fetch is the
// fetcher's, move the mover's (or the fetcher's); waitParse (for the look-up and the parse), apply
// and handBack (waiting to hand a batch to be moved) the committer's.
type syncStages struct {
	messages                   int
	fetch, move                time.Duration
	waitParse, apply, handBack time.Duration
}

// inHand is a fetched message being parsed.
type inHand struct {
	info   mailbox.MessageInfo
	loc    Location
	raw    []byte
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the fields below are set
	// Set before done is closed: the raw email's hash, the message's
	// state in the store, and unless it was decided before, its parse.
	hash     string
	state    store.MessageStatus
	stateErr error
	sub      *parser.Submission
	err      error
	parse    time.Duration
}

// Fetches are batched: one UID FETCH for up to maxFetchBatch messages
// (and about maxFetchBatchBytes), streamed back to back by the server.
// Batching holds no more in memory: each message is handed to the
// committer as it arrives, and the stream waits while the committer is
// busy. Each command costs a round trip and, after the stream has waited,
// TCP's restart from a small window: on make bench's 2,000 emails the
// fetcher spent 3.3-3.7 s fetching 16 at a time and 1.9-2.1 s 64 at a
// time on loopback, 8.3-9.0 s and 3.0-3.1 s with 20 ms added to every
// round trip (dsrbench -rtt 20ms), the same peak memory.
const (
	maxFetchBatch      = 64
	maxFetchBatchBytes = 16 << 20
)

// fetchSilence is how long a fetch waits for the server to send the next
// message before it gives the connection up.
const fetchSilence = 5 * time.Minute

// inHandBytes bounds the raw bytes of the messages in hand: room for a
// hundred typical referrals queued for the parsers and the committer,
// while one email at the size limit is still taken, alone. 16 MB: scanned
// emails (~1 MB each, read for seconds) fill it, and at 32 MB sixteen a
// worker in hand held 16 MB more while 27 of them were read than four
// did.
const inHandBytes = 16 << 20

// inHandPerWorker bounds the number of messages in hand, per parsing
// worker, and parsingPerWorker how many of them are parsed at once. With
// four in hand a worker, all parsed at once, the stages took turns
// waiting on each other; sixteen in hand made the intake faster (make
// bench, 2,000 emails, alternated: PostgreSQL -12 to -17%) but held 15 MB
// more, the memory of sixteen parses at once (the decoded attachments,
// Word's XML). Sixteen in hand with four parsed at once keeps most of the
// gain (SQLite -11%, PostgreSQL -13%) for 6-8 MB: the others hold only
// their raw bytes (within inHandBytes) and their look-up.
const (
	inHandPerWorker  = 16
	parsingPerWorker = 4
)

// errStopFetch ends a batch's fetch early when the sync is stopping.
var errStopFetch = errors.New("sync stopping")

func (d *Daemon) location(mb *mailbox.Mailbox, uid uint32) Location {
	return Location{Mailbox: d.IMAP.MailboxName(), UIDValidity: mb.UIDValidity(), UID: uid}
}

// startParse looks a fetched message up and, unless it was decided
// before, starts parsing it, beside the committer: on PostgreSQL the look-up
// is a round trip the committer need not wait for.
func (d *Daemon) startParse(ctx context.Context, mb *mailbox.Mailbox, f mailbox.Fetched, parsing chan struct{}) *inHand {
	j := &inHand{info: mailbox.MessageInfo{UID: f.UID, Size: int64(len(f.Raw))}, loc: d.location(mb, f.UID),
		raw: f.Raw, done: make(chan struct{})}
	go func() {
		defer close(j.done)
		start := time.Now()
		j.hash = parser.Hash(f.Raw)
		j.state, j.stateErr = d.Store.MessageState(ctx, j.hash)
		if j.stateErr != nil || j.state.State != "" && j.state.State != store.MessageFailed {
			return // the committer reports the error, or only moves it
		}
		lookup := time.Since(start)
		select {
		case parsing <- struct{}{}:
		case <-ctx.Done():
			j.err = fmt.Errorf("wait to parse: %w", ctx.Err())
			return
		}
		// The wait for a slot is the queue's, not this message's work:
		// the processing-time metric leaves it out.
		start = time.Now()
		j.sub, j.err = d.Pipeline.Parse(ctx, f.Raw)
		<-parsing
		j.parse = lookup + time.Since(start)
	}()
	return j
}

// commitAll is the commit stage, on the committer goroutine: it commits
// the messages it is handed in UID order and hands back batches of them
// to move. A message is handed back only once its decision is committed.
// After an error, or once abandon is set, it only cancels what it is
// handed (those messages stay in the inbox for the next sync); it returns
// when toCommit is closed, after closing toMove.
func (r *syncRun) commitAll() error {
	defer close(r.toMove)
	moves := &moveBatch{}
	var err error
	for j := range r.toCommit {
		if err != nil || r.abandon.Load() {
			j.cancel()
			r.released <- int64(len(j.raw))
			continue
		}
		err = r.commit(j, moves)
		j.cancel()
		<-j.done // its parse has let go of the raw bytes too
		r.released <- int64(len(j.raw))
		if err != nil {
			r.abandon.Store(true)
			continue
		}
		if moves.n >= maxMoveBatch {
			t := time.Now()
			r.toMove <- moves
			r.st.handBack += time.Since(t)
			moves = &moveBatch{}
		}
	}
	// What is committed is moved even after a failure.
	if moves.n > 0 {
		r.toMove <- moves
	}
	return err
}

// commit looks j up in the store (a message decided before, or
// quarantined, is only moved), else waits for its parse, decides and
// commits it, and adds it to the moves. It returns an error only when the
// store failed; a failing message is recorded and, after MaxAttempts,
// quarantined.
func (r *syncRun) commit(j *inHand, moves *moveBatch) error {
	d, st := r.d, &r.st
	ctx := j.ctx
	t := time.Now()
	<-j.done
	st.waitParse += time.Since(t)
	if j.stateErr != nil {
		return fmt.Errorf("message state uid %d: %w", j.info.UID, j.stateErr)
	}
	switch j.state.State {
	case store.MessageDecided, store.MessageMoved:
		// Decided before a crash or a failed move: only move it.
		moves.add(j.info.UID, j.hash, d.folderFor(j.state.Outcome, false))
		return nil
	case store.MessageQuarantined:
		moves.add(j.info.UID, j.hash, r.quarantine)
		return nil
	}
	st.messages++
	start := time.Now()
	err := j.err
	var applied store.Applied
	if err == nil {
		applied, err = d.Pipeline.Apply(ctx, j.loc, j.raw, j.hash, j.sub)
	}
	st.apply += time.Since(start)
	d.Metrics.Observe(j.parse + time.Since(start))
	if err != nil {
		quarantined, ferr := d.failed(ctx, j.info, j.loc, j.raw, j.hash, err)
		if quarantined {
			moves.add(j.info.UID, j.hash, r.quarantine)
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
