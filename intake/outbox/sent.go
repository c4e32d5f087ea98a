package outbox

import (
	"context"
	"fmt"
	"strings"

	"dsr-intake/intake/mailbox"
)

// SentLookup finds an email among those the mail service says were sent.
type SentLookup interface {
	HasMessageID(ctx context.Context, messageID string) (bool, error)
}

// SentFolder looks emails up by Message-ID in the sender's Sent folder, on
// a mail service that files mail submitted over SMTP there (the README's
// "Exactly once" says which do). Before re-sending an email whose sender
// died holding it, the outbox asks: a copy there means the server took it,
// so sending again would only make a duplicate.
type SentFolder struct {
	IMAP   mailbox.IMAPConfig // the mailbox; Mailbox is ignored
	Folder string             // e.g. "Sent Items"
}

// HasMessageID reports whether the folder holds a message with the
// Message-ID (with or without its angle brackets), by IMAP SEARCH HEADER
// on a connection of its own (the daemon's is not to be shared).
func (f SentFolder) HasMessageID(ctx context.Context, messageID string) (bool, error) {
	id := strings.Trim(strings.TrimSpace(messageID), "<>")
	if id == "" {
		return false, nil
	}
	cfg := f.IMAP
	cfg.Mailbox = f.Folder
	mb, err := mailbox.DialIMAP(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("sent folder %q: %w", f.Folder, err)
	}
	defer mb.Close()
	n, err := mb.SearchMessageID(ctx, id)
	if err != nil {
		return false, fmt.Errorf("sent folder %q: %w", f.Folder, err)
	}
	return len(n) > 0, nil
}
