package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
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
func (d *Daemon) reconcile(ctx context.Context, mb *Mailbox) (moved int, err error) {
	rows, err := d.Store.UnmovedIn(ctx, d.IMAP.mailbox(), maxReconcile)
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
			if rerr := mb.reselect(ctx); rerr != nil {
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
			if err := mb.examine(ctx, folder); err != nil {
				return moved, fmt.Errorf("reconcile: %w", err)
			}
			selected = folder
		}
		found, err := mb.holds(ctx, r.MessageID, r.Hash)
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

// examine selects folder read-only, for looking only.
func (m *Mailbox) examine(ctx context.Context, folder string) error {
	return m.do(ctx, "examine "+folder, func() error {
		_, err := m.c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
		return err
	})
}

// reselect selects the watched mailbox again after examine. A changed
// UIDVALIDITY makes every UID known so far wrong: that is an error, and
// the daemon reconnects.
func (m *Mailbox) reselect(ctx context.Context) error {
	return m.do(ctx, "select "+m.cfg.Mailbox, func() error {
		sel, err := m.c.Select(m.cfg.Mailbox, nil).Wait()
		if err != nil {
			return err
		}
		if sel.UIDValidity != m.uidValidity {
			return fmt.Errorf("uidvalidity changed from %d to %d", m.uidValidity, sel.UIDValidity)
		}
		return nil
	})
}

// holds reports whether the selected folder has the message with this
// Message-ID and content hash.
func (m *Mailbox) holds(ctx context.Context, messageID, hash string) (bool, error) {
	uids, err := m.searchMessageID(ctx, messageID)
	if err != nil {
		return false, err
	}
	for _, uid := range uids {
		h := sha256.New()
		fctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		_, err := m.Fetch(fctx, uid, h, 1<<40)
		cancel()
		if errors.Is(err, ErrNoMessage) {
			continue
		}
		if err != nil {
			return false, err
		}
		if hex.EncodeToString(h.Sum(nil)) == hash {
			return true, nil
		}
	}
	return false, nil
}
