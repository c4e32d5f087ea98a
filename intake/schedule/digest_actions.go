package schedule

import (
	"context"
	"fmt"
	"strings"
	"time"

	"dsr-intake/register"
)

// overdue lists the register's overdue actions on the digest's day.
func (s *Scheduler) overdue(ctx context.Context, now time.Time) ([]register.DueAction, error) {
	due, err := s.opt.Store.DueActions(ctx, s.opt.Actions, now.In(s.loc))
	if err != nil {
		return nil, fmt.Errorf("overdue actions: %w", err)
	}
	var out []register.DueAction
	for _, a := range due {
		if a.Overdue {
			out = append(out, a)
		}
	}
	return out, nil
}

// actionsSection lists the overdue actions by case reference only: no
// name, initials, date of birth or NHS number (the digest goes by email).
func (r digestRenderer) actionsSection() digestSection {
	items := make([]string, 0, len(r.mail.Overdue))
	for _, a := range r.mail.Overdue {
		ref := a.CaseRef
		if ref == "" {
			ref = fmt.Sprintf("record %d", a.RecordID)
		}
		items = append(items, fmt.Sprintf("%s: %s, due %s (%s overdue)", ref, a.What, a.Due.Format("2 January 2006"),
			plural(int(r.now.In(r.loc).Sub(a.Due).Hours()/24), "day", "days")))
	}
	return digestSection{Title: "Actions overdue", Lines: []digestLine{
		{Text: fmt.Sprintf("The register's actions past their due date: %d", len(items)), Items: items}}}
}

// reasonWords are review reasons as a coordinator reads them, from the
// register's one table of reason codes.
func reasonWords(codes []string) string {
	words := make([]string, len(codes))
	for i, c := range codes {
		r, _ := register.ReasonFor(c)
		words[i] = r.Label
	}
	return strings.Join(words, "; ")
}
