package intake

import (
	"context"
	"errors"
	"fmt"

	"dsr-intake/intake/mailbox"
)

// maxReconcile bounds the rows one reconciliation looks at; the rest wait
// for the next sync.
const maxReconcile = 200

// reconcile brings the store's rows in line with the mailbox: a message
// recorded as decided in the watched mailbox that is no longer there, but
// in its outcome's folder, was moved by a daemon that stopped before it
// recorded the move. It is found there by its Message-ID and confirmed by
// its content hash, then recorded as moved. Runs after each sync; while
// every decided message is recorded as moved it costs one query. A row
// whose message is nowhere to be found is logged once, and left as it is.
func (d *Daemon) reconcile(ctx context.Context, mb *mailbox.Mailbox) (moved int, err error) {
	rows, err := d.Store.UnmovedIn(ctx, d.IMAP.MailboxName(), maxReconcile)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	infos, err := mb.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("reconcile: %w", err)
	}
	inbox := make(map[uint32]bool, len(infos))
	for _, i := range infos {
		inbox[i.UID] = true
	}
	selected := ""
	defer func() {
		if selected != "" {
			if rerr := mb.Reselect(ctx); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
	}()
	notFound := 0
	if d.unfound == nil {
		d.unfound = map[string]bool{}
	}
	for _, r := range rows {
		if r.UIDValidity == mb.UIDValidity() && inbox[r.UID] {
			continue // still in the inbox: the next sync moves it
		}
		if d.unfound[r.Hash] {
			continue
		}
		folder := d.folderFor(r.Outcome, false)
		if r.MessageID == "" {
			d.unfound[r.Hash] = true
			notFound++
			continue
		}
		if folder != selected {
			if err := mb.Examine(ctx, folder); err != nil {
				return moved, fmt.Errorf("reconcile: %w", err)
			}
			selected = folder
		}
		found, err := mb.Holds(ctx, r.MessageID, r.Hash)
		if err != nil {
			return moved, fmt.Errorf("reconcile: %w", err)
		}
		if !found {
			d.unfound[r.Hash] = true
			notFound++
			continue
		}
		if err := d.Store.MarkMoved(ctx, r.Hash, folder, 0, 0); err != nil {
			return moved, fmt.Errorf("reconcile: %w", err)
		}
		moved++
	}
	if moved > 0 || notFound > 0 {
		d.Log.Info("reconciled the store with the mailbox", "marked_moved", moved, "not_found", notFound)
	}
	return moved, nil
}
