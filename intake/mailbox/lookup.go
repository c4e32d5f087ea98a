package mailbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// SearchMessageID returns the UIDs, in the selected folder, of the
// messages whose Message-ID header contains id (IMAP's HEADER search is a
// substring match: callers confirm what they need to).
func (m *Mailbox) SearchMessageID(ctx context.Context, id string) ([]uint32, error) {
	id = strings.Trim(strings.TrimSpace(id), "<>")
	var uids []uint32
	err := m.do(ctx, "search message-id", func() error {
		data, err := m.c.UIDSearch(&imap.SearchCriteria{
			Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: id}},
		}, nil).Wait()
		if err != nil {
			return err
		}
		for _, u := range data.AllUIDs() {
			uids = append(uids, uint32(u))
		}
		return nil
	})
	return uids, err
}

// Examine selects folder read-only, for looking only; Reselect goes back
// to the watched mailbox.
func (m *Mailbox) Examine(ctx context.Context, folder string) error {
	return m.do(ctx, "examine "+folder, func() error {
		_, err := m.c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
		return err
	})
}

// Reselect selects the watched mailbox again after Examine. A changed
// UIDVALIDITY makes every UID known so far wrong: that is an error, and
// the daemon reconnects.
func (m *Mailbox) Reselect(ctx context.Context) error {
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

// Holds reports whether the selected folder has the message with this
// Message-ID and content hash (parser.Hash: hex SHA-256 of the raw bytes).
func (m *Mailbox) Holds(ctx context.Context, messageID, hash string) (bool, error) {
	uids, err := m.SearchMessageID(ctx, messageID)
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
