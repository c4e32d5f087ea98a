package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"dsr-intake/parser"
	"dsr-intake/register"
)

// recordData is the encrypted part of a record.
type recordData struct {
	Referral map[string]string `json:"referral"`
	Consent  map[string]string `json:"consent"`
}

type recordRow struct {
	ID             int64          `db:"id"`
	State          string         `db:"state"`
	Data           []byte         `db:"data"`
	RAG            string         `db:"rag"`
	ConsentBasis   string         `db:"consent_basis"`
	FactsheetGiven bool           `db:"factsheet_given"`
	ShareHealth    bool           `db:"share_health"`
	ShareEducation bool           `db:"share_education"`
	ShareSocial    bool           `db:"share_social_care"`
	ShareSelect    bool           `db:"share_select"`
	SharePSG       bool           `db:"share_psg"`
	CreatedAt      time.Time      `db:"created_at"`
	UpdatedAt      time.Time      `db:"updated_at"`
	WithdrawnAt    sql.NullTime   `db:"withdrawn_at"`
	WithdrawnBy    sql.NullString `db:"withdrawn_by"`
}

const recordCols = `id, state, data, rag, consent_basis, factsheet_given, share_health, share_education,
	share_social_care, share_select, share_psg, created_at, updated_at, withdrawn_at, withdrawn_by`

func formValues(f *parser.Form) map[string]string {
	if f == nil {
		return map[string]string{}
	}
	out := make(map[string]string, len(f.Values))
	for k, v := range f.Values {
		out[k] = v
	}
	return out
}

// upsertRecord creates the child's record, or updates the one found by the
// NHS number's blind index, from a registered case's forms; a changed RAG
// rating is added to the history. The insert goes first so that on
// PostgreSQL a concurrent registration of the same child waits on the
// unique index and then updates instead.
func (s *Store) upsertRecord(ctx context.Context, tx *sqlx.Tx, forms register.CaseForms, c caseRow, now time.Time) (int64, error) {
	rv, err := s.recordValuesFor(forms, now)
	if err != nil {
		return 0, err
	}
	id, err := s.insert(ctx, tx, recordInsert, rv.insertArgs()...)
	action, from := "record.create", ""
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var prev struct {
			ID  int64  `db:"id"`
			RAG string `db:"rag"`
		}
		if err := s.get(ctx, tx, &prev, `SELECT id, rag FROM records WHERE nhs_index = ?`+s.forUpdate(), rv.idx); err != nil {
			return 0, fmt.Errorf("read record: %w", err)
		}
		if _, err := s.exec(ctx, tx, recordUpdate, append(rv.args, prev.ID)...); err != nil {
			return 0, fmt.Errorf("update record: %w", err)
		}
		id, action, from = prev.ID, "record.update", prev.RAG
	case err != nil:
		return 0, fmt.Errorf("insert record: %w", err)
	}
	if from != rv.rag {
		if _, err := s.insert(ctx, tx, ragHistoryInsert, id, now, ActorIntake, from, rv.rag, rv.why); err != nil {
			return 0, fmt.Errorf("insert rag history: %w", err)
		}
	}
	if _, err := s.exec(ctx, tx, `UPDATE cases SET record_id = ? WHERE id = ?`, id, c.ID); err != nil {
		return 0, fmt.Errorf("link case to record: %w", err)
	}
	if err := s.audit(ctx, tx, rv.auditEntry(action, id, c.Ref, now)); err != nil {
		return 0, err
	}
	return id, nil
}

// The statements of upsertRecord, shared with Apply's pipelined form on
// PostgreSQL.
const (
	recordInsert = `INSERT INTO records (state, nhs_index, data, rag, consent_basis, factsheet_given,
		share_health, share_education, share_social_care, share_select, share_psg, updated_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (nhs_index) DO NOTHING`
	recordUpdate = `UPDATE records SET data = ?, rag = ?, consent_basis = ?, factsheet_given = ?,
		share_health = ?, share_education = ?, share_social_care = ?, share_select = ?, share_psg = ?, updated_at = ?
		WHERE id = ?`
	ragHistoryInsert = `INSERT INTO rag_history (record_id, at, actor, from_rag, to_rag, why) VALUES (?, ?, ?, ?, ?, ?)`
)

// recordValues is what a registered case's forms write to its record.
type recordValues struct {
	idx  string // the NHS number's blind index
	rag  string
	why  []byte // the RAG reason, encrypted
	args []any  // recordUpdate's values, without the id
	now  time.Time
}

func (s *Store) recordValuesFor(forms register.CaseForms, now time.Time) (recordValues, error) {
	nhs := forms.Referral.Get("cyp_nhs_number")
	if nhs == "" {
		return recordValues{}, errors.New("register decision on a case without an NHS number")
	}
	data, err := s.encJSON("records.data", recordData{Referral: formValues(forms.Referral), Consent: formValues(forms.Consent)})
	if err != nil {
		return recordValues{}, err
	}
	rv := recordValues{idx: s.keys.nhsIndex(nhs), rag: forms.Referral.Get("rag_rating"), now: now}
	if rv.why, err = s.encString("rag_history.why", forms.Referral.Get("rag_reason")); err != nil {
		return recordValues{}, err
	}
	cf := forms.Consent
	yes := func(name string) bool { v, _ := cf.Bool(name); return v }
	rv.args = []any{data, rv.rag, cf.Get("consent_basis"), yes("factsheet_given"), yes("share_health"), yes("share_education"),
		yes("share_social_care"), yes("share_select"), yes("share_psg"), now}
	return rv, nil
}

// insertArgs are recordInsert's values.
func (rv recordValues) insertArgs() []any {
	return append(append([]any{register.RecordActive, rv.idx}, rv.args...), rv.now)
}

func (rv recordValues) auditEntry(action string, id int64, caseRef string, now time.Time) AuditEntry {
	return AuditEntry{At: now, Actor: ActorIntake, Action: action, Entity: "record", EntityID: id, CaseRef: caseRef, Detail: "rag=" + rv.rag}
}

// Record returns a record with its history; the view is audited under actor.
func (s *Store) Record(ctx context.Context, id int64, actor string) (register.Record, error) {
	return s.viewRecord(ctx, actor, "id = ?", id)
}

// RecordByNHS finds a live record by NHS number (any spacing) through the
// blind index; the view is audited under actor.
func (s *Store) RecordByNHS(ctx context.Context, nhs, actor string) (register.Record, error) {
	return s.viewRecord(ctx, actor, "nhs_index = ?", s.keys.nhsIndex(nhs))
}

func (s *Store) viewRecord(ctx context.Context, actor, where string, arg any) (register.Record, error) {
	if actor == "" {
		return register.Record{}, errors.New("view record: no actor")
	}
	var rec register.Record
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var r recordRow
		err := s.get(ctx, tx, &r, `SELECT `+recordCols+` FROM records WHERE `+where, arg)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read record: %w", err)
		}
		if rec, err = s.recordFromRow(r); err != nil {
			return err
		}
		if err := s.recordHistory(ctx, tx, &rec); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditEntry{At: s.stamp(), Actor: actor, Action: "record.view", Entity: "record", EntityID: rec.ID})
	})
	if err != nil {
		return register.Record{}, fmt.Errorf("view record: %w", err)
	}
	return rec, nil
}

func (s *Store) recordFromRow(r recordRow) (register.Record, error) {
	var d recordData
	if err := s.decJSON("records.data", r.Data, &d); err != nil {
		return register.Record{}, err
	}
	ref, con := d.Referral, d.Consent
	if ref == nil {
		ref = map[string]string{}
	}
	if con == nil {
		con = map[string]string{}
	}
	rec := register.Record{ID: r.ID, State: r.State, RAG: r.RAG, Referral: ref, ConsentForm: con,
		NHSNumber: ref["cyp_nhs_number"], FirstNames: ref["cyp_first_names"], Surname: ref["cyp_surname"],
		KnownAs: ref["cyp_known_as"], DateOfBirth: ref["cyp_dob"],
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), WithdrawnAt: nullTime(r.WithdrawnAt), WithdrawnBy: r.WithdrawnBy.String,
		Consent: register.Consent{Basis: r.ConsentBasis, FactsheetGiven: r.FactsheetGiven, SignedDate: con["signed_date"],
			GivenBy: con["signatory_name"], Relationship: con["signatory_relationship"],
			Sharing: map[string]bool{"health": r.ShareHealth, "education": r.ShareEducation, "social_care": r.ShareSocial,
				"select": r.ShareSelect, "psg": r.SharePSG}},
	}
	if rec.Consent.Basis == parser.BasisBestInterest {
		rec.Consent.GivenBy, rec.Consent.Relationship, rec.Consent.SignedDate = con["bid_decision_maker"], con["bid_role"], con["bid_date"]
	}
	return rec, nil
}

func (s *Store) recordHistory(ctx context.Context, q queryer, rec *register.Record) error {
	var hist []struct {
		At    time.Time `db:"at"`
		Actor string    `db:"actor"`
		From  string    `db:"from_rag"`
		To    string    `db:"to_rag"`
		Why   []byte    `db:"why"`
	}
	if err := s.sel(ctx, q, &hist, `SELECT at, actor, from_rag, to_rag, why FROM rag_history WHERE record_id = ? ORDER BY id`, rec.ID); err != nil {
		return fmt.Errorf("read rag history: %w", err)
	}
	for _, h := range hist {
		why, err := s.decString("rag_history.why", h.Why)
		if err != nil {
			return err
		}
		rec.RAGHistory = append(rec.RAGHistory, register.RAGChange{At: h.At.UTC(), Actor: h.Actor, From: h.From, To: h.To, Why: why})
	}
	var refs []struct {
		ID        int64     `db:"id"`
		Ref       string    `db:"ref"`
		State     string    `db:"state"`
		CreatedAt time.Time `db:"created_at"`
	}
	if err := s.sel(ctx, q, &refs, `SELECT id, ref, state, created_at FROM cases WHERE record_id = ? ORDER BY id`, rec.ID); err != nil {
		return fmt.Errorf("read referrals: %w", err)
	}
	for _, r := range refs {
		rec.Referrals = append(rec.Referrals, register.Referral{CaseID: r.ID, Ref: r.Ref, State: r.State, CreatedAt: r.CreatedAt.UTC()})
	}
	return nil
}

// RecordFilter selects records to list.
type RecordFilter struct {
	Actor  string // who is looking; the listing is audited
	State  string // "" means active
	RAG    string // "" means any
	Limit  int    // 0 means 100
	Offset int
}

// RecordSummary is one line of the register's listing.
type RecordSummary struct {
	ID             int64
	State          string
	RAG            string
	Name           string // first names and surname; "" once withdrawn
	Initials       string
	DateOfBirth    string
	LocalAuthority string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ListRecords lists records, newest change first; the listing is audited.
func (s *Store) ListRecords(ctx context.Context, f RecordFilter) ([]RecordSummary, error) {
	if f.Actor == "" {
		return nil, errors.New("list records: no actor")
	}
	if f.State == "" {
		f.State = register.RecordActive
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var out []RecordSummary
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var rows []recordRow
		if err := s.sel(ctx, tx, &rows, `SELECT `+recordCols+` FROM records WHERE state = ? AND (CAST(? AS TEXT) = '' OR rag = ?)
			ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?`, f.State, f.RAG, f.RAG, f.Limit, f.Offset); err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		for _, r := range rows {
			rec, err := s.recordFromRow(r)
			if err != nil {
				return err
			}
			out = append(out, RecordSummary{ID: rec.ID, State: rec.State, RAG: rec.RAG,
				Name:     strings.TrimSpace(rec.FirstNames + " " + rec.Surname),
				Initials: rec.Initials(), DateOfBirth: rec.DateOfBirth, LocalAuthority: rec.Referral["cyp_local_authority"],
				CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt})
		}
		return s.audit(ctx, tx, AuditEntry{At: s.stamp(), Actor: f.Actor, Action: "record.list", Entity: "record",
			Detail: fmt.Sprintf("state=%s rag=%s shown=%d", f.State, f.RAG, len(out))})
	})
	if err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	return out, nil
}

// ChangeRAG sets a live record's RAG rating, keeping the change (who, when,
// why) in its history.
func (s *Store) ChangeRAG(ctx context.Context, id int64, rag, actor, why string) error {
	valid := false
	for _, r := range parser.RAGRatings() {
		if strings.EqualFold(r, rag) {
			rag, valid = r, true
		}
	}
	if !valid {
		return fmt.Errorf("change rag: %q is not a RAG rating", rag)
	}
	if actor == "" {
		return errors.New("change rag: no actor")
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var prev struct {
			RAG   string `db:"rag"`
			State string `db:"state"`
		}
		err := s.get(ctx, tx, &prev, `SELECT rag, state FROM records WHERE id = ?`+s.forUpdate(), id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read record: %w", err)
		}
		if prev.State != register.RecordActive {
			return fmt.Errorf("record %d is %s", id, prev.State)
		}
		if prev.RAG == rag {
			return nil
		}
		now := s.stamp()
		ctWhy, err := s.encString("rag_history.why", why)
		if err != nil {
			return err
		}
		if _, err := s.insert(ctx, tx, `INSERT INTO rag_history (record_id, at, actor, from_rag, to_rag, why) VALUES (?, ?, ?, ?, ?, ?)`,
			id, now, actor, prev.RAG, rag, ctWhy); err != nil {
			return fmt.Errorf("insert rag history: %w", err)
		}
		if _, err := s.exec(ctx, tx, `UPDATE records SET rag = ?, updated_at = ? WHERE id = ?`, rag, now, id); err != nil {
			return fmt.Errorf("update record: %w", err)
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "record.rag", Entity: "record", EntityID: id,
			Detail: "from=" + prev.RAG + " to=" + rag})
	})
	if err != nil {
		return fmt.Errorf("change rag: %w", err)
	}
	return nil
}

// WithdrawConsent acts on a coordinator-confirmed withdrawal: the child
// leaves the live register and the personal data no longer needed is
// erased: the record's fields and blind index, the forms and raw emails of
// its cases, the free text of its reviews and RAG history, and its unsent
// emails. What stays is the minimal trail: case references, states,
// outcomes, reason codes, dates and the audit log, none of which identify
// the child.
func (s *Store) WithdrawConsent(ctx context.Context, recordID int64, actor, why string) error {
	if actor == "" {
		return errors.New("withdraw consent: no actor")
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var state string
		err := s.get(ctx, tx, &state, `SELECT state FROM records WHERE id = ?`+s.forUpdate(), recordID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read record: %w", err)
		}
		if state == register.RecordWithdrawn {
			return nil
		}
		now := s.stamp()
		ctWhy, err := s.encString("records.withdrawn_why", why)
		if err != nil {
			return err
		}
		steps := []struct {
			what  string
			query string
			args  []any
		}{
			{"record", `UPDATE records SET state = ?, nhs_index = NULL, data = NULL, consent_basis = '', factsheet_given = ?,
				share_health = ?, share_education = ?, share_social_care = ?, share_select = ?, share_psg = ?,
				withdrawn_at = ?, withdrawn_by = ?, withdrawn_why = ?, updated_at = ? WHERE id = ?`,
				[]any{register.RecordWithdrawn, false, false, false, false, false, false, now, actor, ctWhy, now, recordID}},
			{"rag history", `UPDATE rag_history SET why = NULL WHERE record_id = ?`, []any{recordID}},
			{"actions", `UPDATE record_actions SET detail = NULL WHERE record_id = ?`, []any{recordID}},
			{"raw emails", `DELETE FROM message_raw WHERE message_id IN (SELECT m.id FROM messages m JOIN cases c ON c.id = m.case_id WHERE c.record_id = ?)`, []any{recordID}},
			{"messages", `UPDATE messages SET sender = NULL, reasons = NULL, last_error = NULL, sender_index = ''
				WHERE case_id IN (SELECT id FROM cases WHERE record_id = ?)`, []any{recordID}},
			{"reviews", `UPDATE review_items SET reasons = NULL, why = NULL WHERE case_id IN (SELECT id FROM cases WHERE record_id = ?)`, []any{recordID}},
			{"outbox", `UPDATE outbox SET rcpt = NULL, subject = NULL, body = NULL, html = NULL, last_error = NULL,
				state = CASE WHEN state = ? THEN ? ELSE state END
				WHERE case_id IN (SELECT id FROM cases WHERE record_id = ?)`, []any{OutboxPending, OutboxCancelled, recordID}},
			{"cases", `UPDATE cases SET forms = NULL, reasons = NULL, state = ?, updated_at = ? WHERE record_id = ?`,
				[]any{CaseWithdrawn, now, recordID}},
		}
		for _, st := range steps {
			if _, err := s.exec(ctx, tx, st.query, st.args...); err != nil {
				return fmt.Errorf("erase %s: %w", st.what, err)
			}
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "record.withdraw", Entity: "record", EntityID: recordID,
			Detail: "consent withdrawn; personal data erased"})
	})
	if err != nil {
		return fmt.Errorf("withdraw consent: %w", err)
	}
	return nil
}
