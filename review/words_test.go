package review

import (
	"strings"
	"testing"

	"dsr-intake/register/store"
)

// TestCasePageInPlainWords: the case page says its decision and history
// in sentences, never in codes, and marks every field a reason names
// (the date of birth of a young person of 18).
func TestCasePageInPlainWords(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.signedIn(t, coordinatorName, coordinatorPass)
	_, body := c.get(pathf("/cases/%d", f.cases["06-age-18"]))
	for _, want := range []string{
		"Sent for review: the young person is 18 or over",
		"Email assessed. Sent for review: the young person is 18 or over.",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the case page does not say %q", want)
		}
	}
	for _, code := range []string{"outcome=", "reasons=", "age_18_or_over", "message.decide"} {
		if strings.Contains(body, code) {
			t.Errorf("the case page shows the code %q", code)
		}
	}
	row := regexpFind(body, `(?s)<tr class="nhsuk-table__row dsr-failed">\s*<th scope="row" class="nhsuk-table__header">Date of birth<br>.*?</tr>`)
	if !strings.Contains(row, "The young person is 18 or over") {
		t.Errorf("the date of birth is not marked for an 18-year-old: %q", row)
	}
}

func TestHistoryText(t *testing.T) {
	tests := []struct {
		e    store.AuditEntry
		want string
	}{
		{store.AuditEntry{Action: "message.decide", Detail: "outcome=review reasons=age_18_or_over,best_interest_decision"},
			"Email assessed. Sent for review: the young person is 18 or over and consent is a best interest decision: confirm it."},
		{store.AuditEntry{Action: "message.decide", Detail: "outcome=register reasons="}, "Email assessed. Added to the register."},
		{store.AuditEntry{Action: "review.resolve", Detail: "action=register_confirm_bid"},
			"Review finished: confirmed the best interest decision and added the child to the register."},
		{store.AuditEntry{Action: "record.rag", Detail: "from=Amber to=Red"}, "RAG rating changed from Amber to Red."},
		{store.AuditEntry{Action: "case.state", Detail: "from=in_review to=closed"}, "Case moved from “In review” to “Closed”."},
		{store.AuditEntry{Action: "something.new_thing"}, "Something: new thing."},
	}
	for _, tt := range tests {
		if got := historyText(tt.e); got != tt.want {
			t.Errorf("historyText(%s %q) = %q; want %q", tt.e.Action, tt.e.Detail, got, tt.want)
		}
	}
}
