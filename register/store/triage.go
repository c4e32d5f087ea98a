package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"dsr-intake/parser"
	"dsr-intake/register"
)

// CaseHeading is who a case is about and what arrived, as the review
// queue and the case page head it. It holds personal data, so reading it
// is audited.
type CaseHeading struct {
	CaseID       int64
	Name         string // "Known as", else first names and surname
	DOB          string // YYYY-MM-DD, "" when no form gives it
	RAG          string // the rating the referral asks for
	Referrer     string
	Organisation string
	Forms        []string // what the forms were read from: "referral form (Word)"
	Emails       int
}

// CaseHeadings reads the headings of the given cases; the read is audited
// once, as a listing, under the actor's name.
func (s *Store) CaseHeadings(ctx context.Context, ids []int64, actor string) (map[int64]CaseHeading, error) {
	out := map[int64]CaseHeading{}
	if len(ids) == 0 {
		return out, nil
	}
	if actor == "" {
		return nil, fmt.Errorf("case headings: no actor")
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		q, args, err := sqlx.In(`SELECT c.id, c.forms, (SELECT COUNT(*) FROM messages m WHERE m.case_id = c.id) AS emails
			FROM cases c WHERE c.id IN (?)`, ids)
		if err != nil {
			return err
		}
		var rows []struct {
			ID     int64  `db:"id"`
			Forms  []byte `db:"forms"`
			Emails int    `db:"emails"`
		}
		if err := s.sel(ctx, tx, &rows, q, args...); err != nil {
			return fmt.Errorf("read cases: %w", err)
		}
		for _, r := range rows {
			var forms register.CaseForms
			if err := s.decJSON("cases.forms", r.Forms, &forms); err != nil {
				return err
			}
			out[r.ID] = headingOf(r.ID, forms, r.Emails)
		}
		return s.audit(ctx, tx, AuditEntry{At: s.stamp(), Actor: actor, Action: "case.list", Entity: "case",
			Detail: fmt.Sprintf("shown=%d", len(rows))})
	})
	if err != nil {
		return nil, fmt.Errorf("case headings: %w", err)
	}
	return out, nil
}

// CaseHeadingOf is a case's heading from forms already read (the case
// page, whose view is audited on its own).
func CaseHeadingOf(c Case) CaseHeading { return headingOf(c.ID, c.Forms, 0) }

func headingOf(id int64, forms register.CaseForms, emails int) CaseHeading {
	h := CaseHeading{CaseID: id, Emails: emails}
	ref, con := forms.Referral, forms.Consent
	h.Name = strings.TrimSpace(ref.Get("cyp_known_as"))
	if full := strings.TrimSpace(ref.Get("cyp_first_names") + " " + ref.Get("cyp_surname")); full != "" {
		if h.Name != "" && h.Name != full {
			h.Name = full + " (" + h.Name + ")"
		} else {
			h.Name = full
		}
	}
	if h.Name == "" {
		h.Name = strings.TrimSpace(con.Get("cyp_full_name"))
	}
	if h.DOB = ref.Get("cyp_dob"); h.DOB == "" {
		h.DOB = con.Get("cyp_dob")
	}
	h.RAG = ref.Get("rag_rating")
	h.Referrer = ref.Get("referrer_name")
	h.Organisation = ref.Get("referrer_organisation")
	for _, f := range []*parser.Form{ref, con} {
		if f == nil {
			continue
		}
		name := "referral form"
		if f.Kind == parser.Consent {
			name = "consent form"
		}
		h.Forms = append(h.Forms, name+" ("+sourceWords(f.Source)+")")
	}
	return h
}

// sourceWords says what a form was read from in a coordinator's words.
func sourceWords(src string) string {
	switch src {
	case "acroform":
		return "fillable PDF"
	case "pdf-text":
		return "PDF"
	case "docx":
		return "Word"
	case "doc":
		return "Word 97-2003"
	case "rtf":
		return "Rich Text"
	case "odt":
		return "LibreOffice"
	case "":
		return "unknown"
	}
	if strings.Contains(src, "ocr") || strings.Contains(src, "scan") {
		return "scan"
	}
	return src
}
