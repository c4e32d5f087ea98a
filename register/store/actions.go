package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"dsr-intake/register"
)

// RecordAction is one dated event of a child's register actions
// (register.ActionKinds): the newest of a kind is the current one.
type RecordAction struct {
	ID       int64
	RecordID int64
	Kind     string // register.Action...
	Variant  string // C(E)TR: community or inpatient; setting: home, residential_school, hospital
	On       string // YYYY-MM-DD: held, allocated, confirmed, or in the setting from
	Until    string // hospital: discharged on ("" while in hospital)
	Next     string // C(E)TR: the next one planned for
	Name     string // key worker's name (sealed)
	Outcome  string // C(E)TR or LAEP outcome, a note (sealed)
	Actor    string
	At       time.Time
}

type actionDetail struct {
	Name    string `json:"name,omitempty"`
	Outcome string `json:"outcome,omitempty"`
}

// ErrInvalidAction is an action the register cannot take as given; its
// message says what is wrong in a coordinator's words.
var ErrInvalidAction = errors.New("invalid action")

func validDate(s string) bool {
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

// check says what is wrong with an action, or nil.
func (a RecordAction) check() error {
	bad := func(msg string) error { return fmt.Errorf("%w: %s", ErrInvalidAction, msg) }
	if !slices.Contains(register.ActionKinds(), a.Kind) {
		return bad("unknown kind " + a.Kind)
	}
	if !validDate(a.On) {
		return bad("the date is not a date")
	}
	for _, d := range []string{a.Until, a.Next} {
		if d != "" && !validDate(d) {
			return bad("a date is not a date")
		}
	}
	if a.Until != "" && a.Until < a.On {
		return bad("the discharge date is before the admission date")
	}
	if a.Next != "" && a.Next < a.On {
		return bad("the next date is before this one")
	}
	switch a.Kind {
	case register.ActionCETR:
		if a.Variant != register.CETRCommunity && a.Variant != register.CETRInpatient {
			return bad("say whether the C(E)TR was community or inpatient")
		}
	case register.ActionSetting:
		if !slices.Contains([]string{register.SettingHome, register.SettingResidentialSchool, register.SettingHospital}, a.Variant) {
			return bad("choose the setting")
		}
		if a.Until != "" && a.Variant != register.SettingHospital {
			return bad("only a hospital stay has a discharge date")
		}
	case register.ActionKeyWorker:
		if a.Name == "" {
			return bad("give the key worker's name")
		}
	}
	return nil
}

// AddRecordAction records an action on a live record; the earlier ones
// stay as its history. The change is audited by kind, never by content.
func (s *Store) AddRecordAction(ctx context.Context, a RecordAction) (int64, error) {
	if a.Actor == "" {
		return 0, errors.New("add record action: no actor")
	}
	if err := a.check(); err != nil {
		return 0, fmt.Errorf("add record action: %w", err)
	}
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var state string
		err := s.get(ctx, tx, &state, `SELECT state FROM records WHERE id = ?`+s.forUpdate(), a.RecordID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if state != register.RecordActive {
			return fmt.Errorf("record %d is %s", a.RecordID, state)
		}
		ct, err := s.encJSON("record_actions.detail", actionDetail{Name: a.Name, Outcome: a.Outcome})
		if err != nil {
			return err
		}
		now := s.stamp()
		if id, err = s.insert(ctx, tx, `INSERT INTO record_actions (record_id, kind, variant, on_date, until_date, next_date, detail, actor, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.RecordID, a.Kind, a.Variant, a.On, a.Until, a.Next, ct, a.Actor, now); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if _, err := s.exec(ctx, tx, `UPDATE records SET updated_at = ? WHERE id = ?`, now, a.RecordID); err != nil {
			return err
		}
		detail := "kind=" + a.Kind
		if a.Variant != "" {
			detail += " variant=" + a.Variant
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: a.Actor, Action: "record.action", Entity: "record", EntityID: a.RecordID,
			Detail: detail})
	})
	if err != nil {
		return 0, fmt.Errorf("add record action: %w", err)
	}
	return id, nil
}

type actionRow struct {
	ID       int64     `db:"id"`
	RecordID int64     `db:"record_id"`
	Kind     string    `db:"kind"`
	Variant  string    `db:"variant"`
	On       string    `db:"on_date"`
	Until    string    `db:"until_date"`
	Next     string    `db:"next_date"`
	Detail   []byte    `db:"detail"`
	Actor    string    `db:"actor"`
	At       time.Time `db:"at"`
}

const actionCols = `id, record_id, kind, variant, on_date, until_date, next_date, detail, actor, at`

// RecordActions lists a record's actions, oldest first (by date, then as
// recorded). It is read with the record's audited view.
func (s *Store) RecordActions(ctx context.Context, recordID int64) ([]RecordAction, error) {
	var rows []actionRow
	if err := s.sel(ctx, s.db, &rows, `SELECT `+actionCols+` FROM record_actions WHERE record_id = ? ORDER BY on_date, id`, recordID); err != nil {
		return nil, fmt.Errorf("record actions: %w", err)
	}
	out := make([]RecordAction, 0, len(rows))
	for _, r := range rows {
		a := RecordAction{ID: r.ID, RecordID: r.RecordID, Kind: r.Kind, Variant: r.Variant, On: r.On, Until: r.Until, Next: r.Next,
			Actor: r.Actor, At: r.At.UTC()}
		if r.Detail != nil {
			var d actionDetail
			if err := s.decJSON("record_actions.detail", r.Detail, &d); err != nil {
				return nil, err
			}
			a.Name, a.Outcome = d.Name, d.Outcome
		}
		out = append(out, a)
	}
	return out, nil
}

// ActionStates reads what the due dates of every live record depend on,
// from plain columns only: ratings and when they were set, the latest case
// reference, and the dates and kinds of the actions (the C(E)TR and key
// worker dates recorded before the actions existed count too).
func (s *Store) ActionStates(ctx context.Context) ([]register.ActionState, error) {
	var recs []struct {
		ID        int64     `db:"id"`
		RAG       string    `db:"rag"`
		CreatedAt time.Time `db:"created_at"`
	}
	if err := s.sel(ctx, s.db, &recs, `SELECT id, rag, created_at FROM records WHERE state = ? ORDER BY id`, register.RecordActive); err != nil {
		return nil, fmt.Errorf("action states: %w", err)
	}
	byID := map[int64]*register.ActionState{}
	out := make([]register.ActionState, len(recs))
	for i, r := range recs {
		out[i] = register.ActionState{RecordID: r.ID, RAG: r.RAG, RAGSince: r.CreatedAt.UTC()}
		byID[r.ID] = &out[i]
	}
	var rags []struct {
		RecordID int64     `db:"record_id"`
		At       time.Time `db:"at"`
		To       string    `db:"to_rag"`
	}
	if err := s.sel(ctx, s.db, &rags, `SELECT record_id, at, to_rag FROM rag_history ORDER BY id`); err != nil {
		return nil, fmt.Errorf("action states: rag history: %w", err)
	}
	for _, h := range rags {
		if st, ok := byID[h.RecordID]; ok && h.To == st.RAG {
			// The latest change to the current rating; a change to
			// another rating and back starts the clock again.
			st.RAGSince = h.At.UTC()
		}
	}
	var refs []struct {
		RecordID int64  `db:"record_id"`
		Ref      string `db:"ref"`
	}
	if err := s.sel(ctx, s.db, &refs, `SELECT record_id, ref FROM cases WHERE record_id IS NOT NULL ORDER BY id`); err != nil {
		return nil, fmt.Errorf("action states: cases: %w", err)
	}
	for _, c := range refs {
		if st, ok := byID[c.RecordID]; ok {
			st.CaseRef = c.Ref
		}
	}
	var acts []actionRow
	if err := s.sel(ctx, s.db, &acts, `SELECT id, record_id, kind, variant, on_date, until_date, next_date, NULL AS detail, actor, at
		FROM record_actions ORDER BY on_date, id`); err != nil {
		return nil, fmt.Errorf("action states: actions: %w", err)
	}
	var legacy []struct {
		RecordID int64  `db:"record_id"`
		Kind     string `db:"kind"`
		Date     string `db:"date"`
	}
	if err := s.sel(ctx, s.db, &legacy, `SELECT record_id, kind, date FROM record_dates ORDER BY date, id`); err != nil {
		return nil, fmt.Errorf("action states: dates: %w", err)
	}
	for _, l := range legacy {
		acts = append(acts, actionRow{RecordID: l.RecordID, Kind: l.Kind, Variant: register.CETRCommunity, On: l.Date})
	}
	slices.SortStableFunc(acts, func(a, b actionRow) int {
		if a.On < b.On {
			return -1
		}
		if a.On > b.On {
			return 1
		}
		return 0
	})
	for _, a := range acts {
		st, ok := byID[a.RecordID]
		if !ok {
			continue
		}
		on, err := time.Parse("2006-01-02", a.On)
		if err != nil {
			continue
		}
		switch a.Kind {
		case register.ActionCETR:
			st.LastCETR = on
			if a.Variant == register.CETRInpatient {
				st.LastInpatientCETR = on
			}
		case register.ActionKeyWorker:
			st.KeyWorker = on
		case register.ActionSetting:
			st.InHospital = a.Variant == register.SettingHospital && a.Until == ""
			st.AdmittedOn = time.Time{}
			if st.InHospital {
				st.AdmittedOn = on
			}
		}
	}
	return out, nil
}

// DueActions lists what the policy asks of every live record on the day
// today, overdue first, then soonest.
func (s *Store) DueActions(ctx context.Context, p register.DuePolicy, today time.Time) ([]register.DueAction, error) {
	states, err := s.ActionStates(ctx)
	if err != nil {
		return nil, err
	}
	var out []register.DueAction
	for _, st := range states {
		out = append(out, p.Due(st, today)...)
	}
	slices.SortStableFunc(out, func(a, b register.DueAction) int { return a.Due.Compare(b.Due) })
	return out, nil
}
