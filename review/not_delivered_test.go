package review

import (
	"context"
	"strings"
	"testing"
	"time"

	"dsr-intake/register/store"
)

// TestDashboardShowsQueriesNotDelivered: a query the outbox gave up puts
// its case in the queue with its plain label, and the dashboard says so.
func TestDashboardShowsQueriesNotDelivered(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.signedIn(t, viewerName, viewerPass)
	if _, body := c.get("/"); strings.Contains(body, "Queries not delivered") {
		t.Fatal("the dashboard shows queries not delivered before any was given up")
	}
	ctx := context.Background()
	now := time.Now().Add(time.Minute)
	items, err := f.store.ClaimOutbox(ctx, now, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ref := ""
	for _, it := range items {
		if it.Kind != "query" || ref != "" {
			continue
		}
		gave, err := f.store.RecordSendFailure(ctx, it.ID, store.SendFailure{Error: "451 4.3.0 Try again later", Answered: true, At: now})
		if err != nil {
			t.Fatal(err)
		}
		ref = gave.CaseRef
	}
	if ref == "" {
		t.Fatal("no query was given up to review")
	}
	_, body := c.get("/")
	if !strings.Contains(body, "Queries not delivered") || !strings.Contains(body, `nhsuk-tag--red">1</strong>`) {
		t.Errorf("the dashboard does not show the query not delivered:\n%s", body)
	}
	_, queue := c.get("/queue")
	if !strings.Contains(queue, ref) || !strings.Contains(queue, "Our query did not reach the referrer") {
		t.Errorf("the queue does not show %s with its reason", ref)
	}
}
