package schedule

import (
	"strings"
	"testing"
	"time"

	"dsr-intake/register"
	"dsr-intake/register/store"
)

// TestDigestCountsEmailsAndNamesUndelivered: the digest counts emails by
// outcome (ignored ones too) and names the cases whose query was given up.
func TestDigestCountsEmailsAndNamesUndelivered(t *testing.T) {
	now := time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)
	m := DigestMail{Name: "panel", Figures: store.DigestFigures{
		Since: now.AddDate(0, 0, -7), Until: now,
		Emails:       map[register.Outcome]int{register.OutcomeRegister: 2, register.OutcomeQuery: 3, register.OutcomeReview: 1, register.OutcomeIgnore: 4},
		NotDelivered: []string{"DSR-2026-000041", "DSR-2026-000043"}, OutboxFailed: 3, OutboxFailedInPeriod: 2,
	}}
	r := digestRenderer{spec: DigestSpec{Name: "panel"}.withDefaults(), loc: time.UTC, now: now, mail: &m}
	text, html, err := r.render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Emails received: 10 (added to the register 2, queried 3, to review 1, ignored 4)",
		"Could not be sent, so sent to review: 2\n  - DSR-2026-000041\n  - DSR-2026-000043\n",
		"Outgoing emails given up on: 3 (2 since the last digest)\n  - DSR-2026-000041: query not delivered, in the review queue\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the digest lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(html, "<li>DSR-2026-000043: query not delivered, in the review queue</li>") {
		t.Errorf("the HTML digest does not name the case:\n%s", html)
	}
}
