package mailbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"dsr-intake/parser"
)

// List returns the UID, size and date of every message in the selected
// folder, by ascending UID. It reads no message bodies, so oversize mail
// can be quarantined before anything of it is downloaded.
func (m *Mailbox) List(ctx context.Context) ([]MessageInfo, error) {
	var out []MessageInfo
	err := m.do(ctx, "list", func() error {
		// Dovecot shows mail delivered since the last sync only after a
		// command that syncs; FETCH is not one. Whatever EXISTS came before
		// the FETCH is covered by this listing.
		if err := m.c.Noop().Wait(); err != nil {
			return err
		}
		m.drainNewMail()
		// UID FETCH 1:* rather than UID SEARCH: one round trip gives sizes
		// too, and servers answer it with nothing (not BAD) when the
		// folder is empty.
		fc := m.c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
			UID: true, RFC822Size: true, InternalDate: true, Flags: true,
		})
		for msg := fc.Next(); msg != nil; msg = fc.Next() {
			buf, err := msg.Collect()
			if err != nil {
				fc.Close()
				return err
			}
			if buf.UID == 0 {
				continue
			}
			out = append(out, MessageInfo{
				UID:          uint32(buf.UID),
				Size:         buf.RFC822Size,
				InternalDate: buf.InternalDate,
				Deleted:      slices.Contains(buf.Flags, imap.FlagDeleted),
			})
		}
		return fc.Close()
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b MessageInfo) int { return int64Cmp(int64(a.UID), int64(b.UID)) })
	return out, nil
}

func int64Cmp(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Fetch streams the whole raw message (BODY.PEEK[], so \Seen is left
// alone) to w and returns the bytes written. It asks the server for at most
// max+1 bytes; a longer message yields parser.ErrTooLarge after at most max bytes
// went to w (discard them), and the connection stays usable. w must not
// call back into the Mailbox: go-imap's reader is blocked until each body is
// read. A UID that is gone yields ErrNoMessage.
func (m *Mailbox) Fetch(ctx context.Context, uid uint32, w io.Writer, max int64) (int64, error) {
	if max <= 0 {
		return 0, fmt.Errorf("imap: fetch uid %d: limit %d must be positive", uid, max)
	}
	sec := &imap.FetchItemBodySection{Peek: true}
	if max < math.MaxInt64 {
		sec.Partial = &imap.SectionPartial{Offset: 0, Size: max + 1}
	}
	var (
		n        int64
		found    bool
		tooLarge bool
		writeErr error
	)
	err := m.do(ctx, fmt.Sprintf("fetch uid %d", uid), func() error {
		fc := m.c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{
			UID: true, BodySection: []*imap.FetchItemBodySection{sec},
		})
		for msg := fc.Next(); msg != nil; msg = fc.Next() {
			for it := msg.Next(); it != nil; it = msg.Next() {
				body, ok := it.(imapclient.FetchItemDataBodySection)
				if !ok || found {
					continue
				}
				found = true
				if body.Literal == nil {
					continue
				}
				n, writeErr = io.Copy(w, io.LimitReader(body.Literal, max))
				if writeErr == nil {
					var one [1]byte
					if k, _ := io.ReadFull(body.Literal, one[:]); k > 0 {
						tooLarge = true
					}
				}
				// Whatever is left of the literal is discarded by
				// msg.Next / fc.Close, which keeps the stream in step.
			}
		}
		return fc.Close()
	})
	switch {
	case err != nil:
		return n, err
	case writeErr != nil:
		return n, fmt.Errorf("imap: fetch uid %d: write: %w", uid, writeErr)
	case !found:
		return 0, fmt.Errorf("imap: fetch uid %d: %w", uid, ErrNoMessage)
	case tooLarge:
		return n, fmt.Errorf("imap: fetch uid %d: %w (over %d bytes)", uid, parser.ErrTooLarge, max)
	}
	return n, nil
}

// Fetched is one message of a FetchEach: its raw bytes, or TooLarge when
// the server had more than the limit (Raw then holds none of it).
type Fetched struct {
	UID      uint32
	Raw      []byte
	TooLarge bool
}

// FetchEach fetches several messages (BODY.PEEK[], \Seen left alone) with
// one UID FETCH, so the server streams them back to back instead of
// waiting a round trip for each, and calls each with every message as it
// arrives. Each body is read up to max+1 bytes into memory of its own. A
// UID that is gone is not reported. each must not use the Mailbox (the
// connection is mid-response); an error from it ends the fetch.
func (m *Mailbox) FetchEach(ctx context.Context, uids []uint32, max int64, each func(Fetched) error) error {
	if max <= 0 {
		return fmt.Errorf("imap: fetch %d messages: limit %d must be positive", len(uids), max)
	}
	if len(uids) == 0 {
		return nil
	}
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	sec := &imap.FetchItemBodySection{Peek: true}
	if max < math.MaxInt64 {
		sec.Partial = &imap.SectionPartial{Offset: 0, Size: max + 1}
	}
	var eachErr error
	err := m.do(ctx, fmt.Sprintf("fetch %d messages", len(uids)), func() error {
		fc := m.c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{sec}})
		for msg := fc.Next(); msg != nil; msg = fc.Next() {
			// The server may send UID before or after the body: read
			// the body, then report it with its UID.
			var f Fetched
			found := false
			for it := msg.Next(); it != nil; it = msg.Next() {
				switch it := it.(type) {
				case imapclient.FetchItemDataUID:
					f.UID = uint32(it.UID)
				case imapclient.FetchItemDataBodySection:
					if found || it.Literal == nil {
						continue
					}
					found = true
					if it.Literal.Size() > max {
						f.TooLarge = true
						continue // the rest is discarded by msg.Next
					}
					// Exactly the literal's size: a bytes.Buffer would
					// double a 40 MB email's memory on its last read.
					f.Raw = make([]byte, it.Literal.Size())
					if _, err := io.ReadFull(it.Literal, f.Raw); err != nil {
						fc.Close()
						return err
					}
				}
			}
			if !found || f.UID == 0 || eachErr != nil {
				continue
			}
			eachErr = each(f)
		}
		return fc.Close()
	})
	if err != nil {
		return err
	}
	return eachErr
}

// Move moves one message to folder, creating the folder when the server
// says it is missing. With MOVE it is one command. Without MOVE it copies,
// and only once the copy succeeded flags the original \Deleted and removes
// it with UID EXPUNGE (which touches no other message). A failed copy
// returns an error and leaves the message where it was. A server with
// neither MOVE nor UIDPLUS cannot expunge one message alone: the original
// is left flagged \Deleted (List reports it) rather than risk expunging
// other clients' mail.
func (m *Mailbox) Move(ctx context.Context, uid uint32, folder string) error {
	err := m.moveOnce(ctx, uid, folder)
	if err != nil && needsCreate(err) {
		m.log.Info("imap creating missing folder", "folder", folder)
		if cerr := m.create(ctx, folder); cerr != nil {
			return fmt.Errorf("%w; then %w", err, cerr)
		}
		err = m.moveOnce(ctx, uid, folder)
	}
	return err
}

// CanMove reports whether the server has MOVE, which MoveAll needs.
func (m *Mailbox) CanMove() bool { return m.caps.Has(imap.CapMove) }

// MoveAll moves the messages uids to folder with one UID MOVE, creating
// the folder when the server says it is missing. Only for a server with
// MOVE (CanMove): without it, Move each message.
func (m *Mailbox) MoveAll(ctx context.Context, uids []uint32, folder string) error {
	var set imap.UIDSet
	for _, uid := range uids {
		set.AddNum(imap.UID(uid))
	}
	moveAll := func() error {
		return m.do(ctx, fmt.Sprintf("move %d messages to %q", len(uids), folder), func() error {
			_, err := m.c.Move(set, folder).Wait()
			return err
		})
	}
	err := moveAll()
	if err != nil && needsCreate(err) {
		if cerr := m.create(ctx, folder); cerr != nil {
			err = fmt.Errorf("%w; then %w", err, cerr)
		} else {
			err = moveAll()
		}
	}
	return err
}

func (m *Mailbox) moveOnce(ctx context.Context, uid uint32, folder string) error {
	set := imap.UIDSetNum(imap.UID(uid))
	if m.caps.Has(imap.CapMove) {
		var data *imapclient.MoveData
		err := m.do(ctx, fmt.Sprintf("move uid %d to %q", uid, folder), func() error {
			var err error
			data, err = m.c.Move(set, folder).Wait()
			return err
		})
		if err != nil {
			return err
		}
		if m.caps.Has(imap.CapUIDPlus) && (data.UIDValidity == 0 || emptyNumSet(data.SourceUIDs)) {
			// With UIDPLUS a successful MOVE carries COPYUID; an OK
			// without it means the UID matched nothing.
			return fmt.Errorf("imap: move uid %d to %q: %w", uid, folder, ErrNoMessage)
		}
		return nil
	}

	var copied *imap.CopyData
	err := m.do(ctx, fmt.Sprintf("copy uid %d to %q", uid, folder), func() error {
		var err error
		copied, err = m.c.Copy(set, folder).Wait()
		return err
	})
	if err != nil {
		return fmt.Errorf("%w (message left in place)", err)
	}
	if m.caps.Has(imap.CapUIDPlus) && (copied.UIDValidity == 0 || len(copied.SourceUIDs) == 0) {
		return fmt.Errorf("imap: copy uid %d to %q: %w", uid, folder, ErrNoMessage)
	}
	err = m.do(ctx, fmt.Sprintf("flag uid %d deleted after copy to %q", uid, folder), func() error {
		return m.c.Store(set, &imap.StoreFlags{
			Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted},
		}, nil).Close()
	})
	if err != nil {
		return fmt.Errorf("%w (message is now in both folders)", err)
	}
	if !m.caps.Has(imap.CapUIDPlus) {
		m.log.Warn("imap server has neither MOVE nor UIDPLUS: original left flagged \\Deleted",
			"uid", uid, "folder", folder)
		return nil
	}
	return m.do(ctx, fmt.Sprintf("expunge uid %d after copy to %q", uid, folder), func() error {
		return m.c.UIDExpunge(set).Close()
	})
}

func emptyNumSet(ns imap.NumSet) bool {
	switch s := ns.(type) {
	case nil:
		return true
	case imap.UIDSet:
		return len(s) == 0
	case imap.SeqSet:
		return len(s) == 0
	}
	return false
}

// needsCreate reports a NO [TRYCREATE] or [NONEXISTENT] answer.
func needsCreate(err error) bool {
	var ie *imap.Error
	if !errors.As(err, &ie) {
		return false
	}
	return ie.Code == imap.ResponseCodeTryCreate || ie.Code == imap.ResponseCodeNonExistent
}

func (m *Mailbox) create(ctx context.Context, folder string) error {
	return m.do(ctx, fmt.Sprintf("create %q", folder), func() error {
		err := m.c.Create(folder, nil).Wait()
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
			return nil
		}
		return err
	})
}

// EnsureFolders creates any outcome folder the account lacks.
func (m *Mailbox) EnsureFolders(ctx context.Context) error {
	have := map[string]bool{}
	err := m.do(ctx, "list folders", func() error {
		list, err := m.c.List("", "*", nil).Collect()
		for _, l := range list {
			have[l.Mailbox] = true
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, f := range m.folders.All() {
		if have[f] {
			continue
		}
		m.log.Info("imap creating folder", "folder", f)
		if err := m.create(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// Append stores raw in folder and returns its UID (0 when the server has no
// UIDPLUS). It is for tests and the demo, which seed mailboxes.
func (m *Mailbox) Append(ctx context.Context, folder string, raw []byte) (uint32, error) {
	var uid uint32
	err := m.do(ctx, fmt.Sprintf("append to %q", folder), func() error {
		cmd := m.c.Append(folder, int64(len(raw)), nil)
		if _, err := io.Copy(cmd, bytes.NewReader(raw)); err != nil {
			cmd.Close()
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		data, err := cmd.Wait()
		if err != nil {
			return err
		}
		uid = uint32(data.UID)
		return nil
	})
	return uid, err
}
