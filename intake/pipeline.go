package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"dsr-intake/intake/outbox"
	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// DecisionStore is what the pipeline needs of the store: one transaction
// that decides and records a message, and the record of a query that
// came back undelivered. *store.Store is one.
type DecisionStore interface {
	Apply(ctx context.Context, in store.Incoming, decide func(register.CaseForms) register.Decision,
		compose func(store.CaseInfo, register.Decision) []store.OutboxMessage) (store.Applied, error)
	QueriesBounced(ctx context.Context, messageIDs []string, at time.Time) ([]string, error)
}

// Pipeline turns one raw email into a committed decision: parse, check
// the sender, assess against the case's earlier forms, and apply, all in
// the store's one transaction.
type Pipeline struct {
	Parser   *parser.Parser
	Store    DecisionStore
	Composer *outbox.Composer
	Trust    Trust
	// The loop limits on queries are the Sender's: it holds a query over
	// one back to the next day rather than drop it.
	Now func() time.Time
	Log *slog.Logger
}

// Location is where a message was found.
type Location struct {
	Mailbox     string
	UIDValidity uint32
	UID         uint32
}

// ErrUnparseable marks a message that no retry can read; it goes straight
// to quarantine.
var ErrUnparseable = errors.New("message cannot be parsed")

// Process applies one message. It returns what was applied, or an error;
// errors.Is(err, ErrUnparseable) means retrying will not help.
func (p *Pipeline) Process(ctx context.Context, loc Location, raw []byte) (store.Applied, error) {
	sub, err := p.Parse(ctx, raw)
	if err != nil {
		return store.Applied{}, err
	}
	return p.Apply(ctx, loc, raw, parser.Hash(raw), sub)
}

// Parse is Process's first half, which touches no shared state: the
// daemon parses the next messages with it while it commits earlier ones
// in order. errors.Is(err, ErrUnparseable) means retrying will not help.
func (p *Pipeline) Parse(ctx context.Context, raw []byte) (*parser.Submission, error) {
	sub, err := p.Parser.Parse(ctx, raw)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("parse: %w", ctx.Err())
		}
		return nil, fmt.Errorf("%w: %v", ErrUnparseable, err)
	}
	// The decoded attachments are not needed past this point (the raw
	// email is stored whole, and the review pages parse it again): let a
	// 30 MB PDF go while its decision is committed.
	for i := range sub.Attachments {
		sub.Attachments[i].Data = nil
	}
	return sub, nil
}

// Apply is Process's second half: it decides on sub, parsed from raw
// (whose parser.Hash is hash: the daemon has it from the look-up, and a
// second SHA-256 pass over every email was 2-3% of its CPU), and commits
// the decision in one transaction.
func (p *Pipeline) Apply(ctx context.Context, loc Location, raw []byte, hash string, sub *parser.Submission) (store.Applied, error) {
	now := p.now()
	untrusted := p.Trust.Check(sub)
	in := store.Incoming{
		Hash: hash, MessageID: sub.MessageID, Mailbox: loc.Mailbox, UIDValidity: loc.UIDValidity, UID: loc.UID,
		Raw: raw, Submission: sub, ReceivedAt: now,
	}
	decide := func(earlier register.CaseForms) register.Decision {
		return register.Assess(register.Input{Submission: sub, Earlier: earlier, Today: now, Untrusted: untrusted})
	}
	compose := func(c store.CaseInfo, d register.Decision) []store.OutboxMessage {
		return p.Composer.Replies(sub, c, d)
	}
	if len(sub.Undelivered) > 0 {
		// A delivery report is ignored like any automatic email, but a
		// query of ours it returns was never received: its case goes to
		// a coordinator. Recorded first, and again harmlessly if the
		// report is read again after a crash before its decision.
		refs, err := p.Store.QueriesBounced(ctx, sub.Undelivered, now)
		if err != nil {
			return store.Applied{}, fmt.Errorf("apply: %w", err)
		}
		for _, ref := range refs {
			p.log().Error("query not delivered", "case", ref, "by", "delivery report")
		}
	}
	applied, err := p.Store.Apply(ctx, in, decide, compose)
	if err != nil {
		return store.Applied{}, fmt.Errorf("apply: %w", err)
	}
	p.log().Info("message decided", "case", applied.Case.Ref, "outcome", applied.Decision.Outcome,
		"reasons", applied.Decision.Codes(), "duplicate", applied.Duplicate, "outbox", len(applied.Outbox))
	return applied, nil
}

func replyAddress(sub *parser.Submission) string {
	if sub.ReplyTo != "" {
		return sub.ReplyTo
	}
	return sub.From
}

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pipeline) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.New(slog.DiscardHandler)
}
