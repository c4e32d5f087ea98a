package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// encryptedColumns lists every column holding a ciphertext; RotateKeys
// walks them all, and a test checks the list against the schema.
var encryptedColumns = []struct{ table, column string }{
	{"records", "data"},
	{"records", "withdrawn_why"},
	{"rag_history", "why"},
	{"record_actions", "detail"},
	{"cases", "forms"},
	{"cases", "reasons"},
	{"messages", "sender"},
	{"message_raw", "raw"},
	{"messages", "reasons"},
	{"messages", "last_error"},
	{"review_items", "reasons"},
	{"review_items", "why"},
	{"outbox", "rcpt"},
	{"outbox", "subject"},
	{"outbox", "body"},
	{"outbox", "html"},
	{"outbox", "last_error"},
	{"users", "totp_secret"},
}

// columnAD is the associated data a column's values are sealed with: its
// name, except for the raw emails, sealed as messages.raw where they lived
// before migration 0004 moved them, unchanged, to message_raw.
func columnAD(table, column string) string {
	if table == "message_raw" {
		return "messages.raw"
	}
	return table + "." + column
}

// rotateBatch bounds how many values (raw emails among them) are held in
// memory and in one transaction while rotating.
const rotateBatch = 100

// RotateKeys re-encrypts every value not under the keyring's current key,
// and returns how many it re-encrypted. It works in small transactions, so
// it can be stopped and run again; values already under the current key
// are skipped. Once it returns, older keys can leave the keyring.
func (s *Store) RotateKeys(ctx context.Context) (n int, err error) {
	cur := s.keys.Current()
	for _, c := range encryptedColumns {
		ad := columnAD(c.table, c.column)
		lastID := int64(0)
		for {
			var rows []struct {
				ID int64  `db:"id"`
				CT []byte `db:"ct"`
			}
			if err := s.sel(ctx, s.db, &rows, `SELECT id, `+c.column+` AS ct FROM `+c.table+
				` WHERE id > ? AND `+c.column+` IS NOT NULL ORDER BY id LIMIT ?`, lastID, rotateBatch); err != nil {
				return n, fmt.Errorf("rotate keys: read %s: %w", ad, err)
			}
			if len(rows) == 0 {
				break
			}
			lastID = rows[len(rows)-1].ID
			err := s.inTx(ctx, func(tx *sqlx.Tx) error {
				for _, r := range rows {
					id, err := keyIDOf(r.CT)
					if err != nil {
						return fmt.Errorf("%s row %d: %w", ad, r.ID, err)
					}
					if id == cur {
						continue
					}
					pt, err := s.keys.open(r.CT, ad)
					if err != nil {
						return fmt.Errorf("%s row %d: %w", ad, r.ID, err)
					}
					ct, err := s.keys.seal(pt, ad)
					if err != nil {
						return err
					}
					// Compare-and-set: a value changed since it was read is
					// already under the current key.
					res, err := s.exec(ctx, tx, `UPDATE `+c.table+` SET `+c.column+` = ? WHERE id = ? AND `+c.column+` = ?`, ct, r.ID, r.CT)
					if err != nil {
						return fmt.Errorf("%s row %d: %w", ad, r.ID, err)
					}
					if k, _ := res.RowsAffected(); k > 0 {
						n++
					}
				}
				return nil
			})
			if err != nil {
				return n, fmt.Errorf("rotate keys: %w", err)
			}
		}
	}
	s.log.Info("keys rotated", "key", cur, "values", n)
	return n, nil
}
