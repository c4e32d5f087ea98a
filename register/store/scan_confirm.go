package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"dsr-intake/parser"
	"dsr-intake/register"
)

// ScanConfirmation is a coordinator's check of a case's forms read by
// OCR: the values as they now stand, corrected where OCR misread them.
type ScanConfirmation struct {
	CaseAction
	// Values are the coordinator's values by form and canonical field
	// name, as typed (normalised here); a field left out keeps what was
	// read, an empty value clears it.
	Values map[parser.FormKind]map[string]string
	// Today is the day the rules judge dates against (zero: now).
	Today time.Time
}

// ScanConfirmed is what a confirmation did.
type ScanConfirmed struct {
	Decision register.Decision
	RecordID int64    // the record added or updated when the rules passed
	Changed  []string // "referral.cyp_surname": the fields the coordinator corrected
}

// ConfirmScannedForms records a coordinator's check of the case's forms
// read by OCR: corrected values replace what was read, the forms are
// marked confirmed (who and when), and the rules run again on them. When
// they pass, the child is added to the register; otherwise the case stays
// in review with the new reasons. The audit names the fields that were
// changed, never their values. One transaction.
func (s *Store) ConfirmScannedForms(ctx context.Context, c ScanConfirmation) (ScanConfirmed, error) {
	var out ScanConfirmed
	if err := c.check(); err != nil {
		return out, fmt.Errorf("confirm scanned forms: %w", err)
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		cs, err := s.openCase(ctx, tx, c.CaseID)
		if err != nil {
			return err
		}
		var forms register.CaseForms
		if err := s.decJSON("cases.forms", cs.forms, &forms); err != nil {
			return err
		}
		if !forms.Referral.Unconfirmed() && !forms.Consent.Unconfirmed() {
			return fmt.Errorf("case %s has no form read from a scan to confirm: %w", cs.Ref, ErrCaseState)
		}
		now := s.stamp()
		for _, f := range []*parser.Form{forms.Referral, forms.Consent} {
			if !f.Unconfirmed() {
				continue
			}
			out.Changed = append(out.Changed, correctForm(f, c.Values[f.Kind])...)
			f.OCR.ConfirmedBy, f.OCR.ConfirmedAt = c.Actor, now
		}
		out.Decision = register.Assess(register.Input{Submission: &parser.Submission{}, Earlier: forms, Today: c.Today})
		d := out.Decision
		if d.Outcome == register.OutcomeIgnore {
			return errors.New("the confirmed forms were judged ignorable")
		}
		enc, err := s.encJSON("cases.forms", forms)
		if err != nil {
			return err
		}
		reasons, err := s.encJSON("cases.reasons", d.Reasons)
		if err != nil {
			return err
		}
		state := caseStateFor(d.Outcome)
		if d.Outcome == register.OutcomeQuery {
			// A coordinator has the case in hand: it stays with them
			// rather than waiting on a referrer nobody has written to.
			state = CaseInReview
		}
		if _, err := s.exec(ctx, tx, `UPDATE cases SET state = ?, forms = ?, outcome = ?, reason_codes = ?, reasons = ?, updated_at = ? WHERE id = ?`,
			state, enc, string(d.Outcome), reasonCodes(d), reasons, now, cs.ID); err != nil {
			return fmt.Errorf("update case: %w", err)
		}
		if d.Outcome == register.OutcomeRegister {
			if out.RecordID, err = s.upsertRecord(ctx, tx, forms, cs, now); err != nil {
				return err
			}
			if err := s.resolveInTx(ctx, tx, c.CaseAction, cs.Ref, now); err != nil {
				return err
			}
		}
		changed := strings.Join(out.Changed, ",")
		if changed == "" {
			changed = "none"
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: c.Actor, Action: "case.confirm_scan", Entity: "case", EntityID: cs.ID,
			CaseRef: cs.Ref, Detail: fmt.Sprintf("changed=%s outcome=%s reasons=%s record=%d", changed, d.Outcome, reasonCodes(d), out.RecordID)})
	})
	if err != nil {
		return ScanConfirmed{}, fmt.Errorf("confirm scanned forms: %w", err)
	}
	return out, nil
}

// correctForm applies a coordinator's values to a form read by OCR and
// returns the fields whose value changed, as "kind.field".
func correctForm(f *parser.Form, values map[string]string) []string {
	var changed []string
	if f.Values == nil {
		f.Values = map[string]string{}
	}
	if f.Invalid == nil {
		f.Invalid = map[string]string{}
	}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		spec, ok := parser.Spec(f.Kind, name)
		if !ok {
			continue
		}
		raw := strings.TrimSpace(values[name])
		before, beforeBad := f.Values[name], f.Invalid[name]
		if spec.Type == parser.Text && before != "" && strings.Join(strings.Fields(raw), " ") == strings.Join(strings.Fields(before), " ") {
			continue // the same words: a form field that folded the lines
		}
		delete(f.Values, name)
		delete(f.Invalid, name)
		v, err := parser.Normalise(spec, raw)
		switch {
		case err != nil:
			f.Invalid[name] = raw
		case v != "":
			f.Values[name] = v
		}
		if f.Values[name] != before || f.Invalid[name] != beforeBad {
			changed = append(changed, string(f.Kind)+"."+name)
		}
	}
	return changed
}
