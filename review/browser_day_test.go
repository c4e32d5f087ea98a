package review

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dsr-intake/internal/harness"
	"dsr-intake/register/store"
)

// TestBrowserCoordinatorDay walks a coordinator's working day in a real
// headless Chromium, with the keyboard where a person would: triage the
// queue by reason, open a case, correct it through a query, confirm a best
// interest decision, record a C(E)TR and a key worker on a Red child and
// see what is due change, change a RAG rating with a reason and be asked
// for the next action; then, as an admin, read the audit. axe-core checks
// every page on the way, error pages included.
func TestBrowserCoordinatorDay(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := newBrowser(t)
	dir := artifactsDir(t)
	base := f.http.URL
	db := f.store
	bg := context.Background()
	// run bounds each step, so a step that never returns names itself
	// rather than spending the browser's whole deadline.
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	page := func(name string) {
		t.Helper()
		screenshot(t, ctx, dir, "day-"+name)
		axeCheck(t, ctx, name)
	}
	// waitText waits for the page to say s: after a form on a page that
	// already shows a notice, the old notice would satisfy a wait for one.
	waitText := func(what, s string) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		js := fmt.Sprintf("document.body !== null && document.body.innerText.includes(%q)", s)
		if err := harness.WaitFor(wctx, js); err != nil {
			t.Fatalf("%s: the page never said %q: %v", what, s, err)
		}
	}
	// submit clicks a form's button and waits for the page the form
	// leads to, not the old one (on a loaded machine the C(E)TR's check
	// read the record page as it was before).
	submit := func(what, sel string) {
		t.Helper()
		if err := harness.MarkOld(ctx); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		run(what, chromedp.Click(sel))
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := harness.WaitFor(wctx, harness.NewPage("body")); err != nil {
			t.Fatalf("%s: no new page: %v", what, err)
		}
	}
	signin := func(name, pass string) {
		t.Helper()
		ctx = visit(t, ctx, base+"/signin", "#name")
		run("sign in as "+name, chromedp.SendKeys("#name", name), chromedp.SendKeys("#password", pass+"\n"), chromedp.WaitVisible("svg.dsr-chart"))
	}

	signin(coordinatorName, coordinatorPass)
	page("dashboard")

	// Triage: filter the queue by a reason, with the keyboard.
	adult, bid := f.cases["06-age-18"], f.cases["07-best-interest-decision"]
	adultRef, bidRef := f.caseRef(t, "06-age-18"), f.caseRef(t, "07-best-interest-decision")
	ctx = visit(t, ctx, base+"/queue", "#triage-sort")
	page("queue")
	run("filter by reason", chromedp.Focus(`a[href="/queue?reason=age_18_or_over"]`), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(`strong[aria-current="true"]`))
	q := text(t, ctx)
	if !strings.Contains(q, adultRef) || strings.Contains(q, bidRef) || !strings.Contains(q, "1 waiting: The young person is 18 or over") {
		t.Errorf("the queue filtered by reason:\n%s", q)
	}
	page("queue-by-reason")
	ctx = visit(t, ctx, base+"/queue", "#triage-sort")
	run("sort by RAG", chromedp.SetValue("#triage-sort", "rag"), chromedp.Submit("#triage-sort"), chromedp.WaitVisible("table.nhsuk-table"))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "sort=rag") {
		t.Errorf("sorting did not reach the server: %s", loc)
	}

	// Open the 18-year-old's case from the queue.
	run("open a case", chromedp.Click(fmt.Sprintf(`a[href="/cases/%d"]`, adult)), chromedp.WaitVisible("#close-why"))
	c := text(t, ctx)
	for _, want := range []string{"Sent for review: the young person is 18 or over", "RAG rating asked for", "What arrived", "Email assessed."} {
		if !strings.Contains(c, want) {
			t.Errorf("the case page does not say %q", want)
		}
	}
	page("case")
	// Closing without a reason: the error on the same page, typing kept.
	run("close without a reason", chromedp.SetValue("#close-reply", "Kept words"))
	submit("close without a reason", fmt.Sprintf("form[action='/cases/%d/close'] button", adult))
	run("close without a reason", chromedp.WaitVisible(".nhsuk-error-summary"))
	if s := text(t, ctx); !strings.Contains(s, "Enter why you are closing this case") {
		t.Error("no error summary for a close without a reason")
	}
	if kept, err := chromedp.Run(ctx, chromedp.Value("#close-reply")); err != nil || kept != "Kept words" {
		t.Errorf("the typed notice was not kept: %q %v", kept, err)
	}
	page("case-error")

	// Correct it through a query: the coordinator asks for the date of
	// birth to be checked.
	const edit = "Please check the date of birth on both forms."
	ctx = visit(t, ctx, fmt.Sprintf("%s/cases/%d/query", base, adult), "#body")
	page("query")
	run("send the query", chromedp.SetValue("#body", "Hello,\n\n"+edit+"\n\nBromley DSR"))
	submit("send the query", fmt.Sprintf("form[action='/cases/%d/query'] button", adult))
	run("send the query", chromedp.WaitVisible("div.nhsuk-inset-text"))
	if sent, err := db.CaseOutbox(bg, adult); err != nil || len(sent) != 1 || !strings.Contains(sent[0].Body, edit) {
		t.Errorf("the query: %+v %v", sent, err)
	}

	// Confirm a best interest decision; the referrer's notice goes with it.
	ctx = visit(t, ctx, fmt.Sprintf("%s/cases/%d", base, bid), "#register-why")
	run("confirm the BID", chromedp.SendKeys("#register-why", "Best interest decision seen and signed"))
	submit("confirm the BID", fmt.Sprintf("form[action='/cases/%d/register'] button", bid))
	run("confirm the BID", chromedp.WaitVisible("div.nhsuk-inset-text"))
	if cs, _ := db.Case(bg, bid, "test"); cs.State != store.CaseRegistered {
		t.Errorf("the BID case is %s", cs.State)
	}
	if sent, _ := db.CaseOutbox(bg, bid); len(sent) != 1 || !strings.Contains(sent[0].Body, bidRef) || !strings.Contains(sent[0].Body, "added to the register") {
		t.Errorf("the registration notice: %+v", sent)
	}

	// A Red child: what is due, then a C(E)TR and a key worker recorded.
	rec := f.records["9993149586"]
	ctx = visit(t, ctx, fmt.Sprintf("%s/records/%d", base, rec), "#cetr-on-day")
	r := text(t, ctx)
	if !strings.Contains(r, "C(E)TR (rated Red)") || !strings.Contains(r, "Key worker referral (rated Red)") {
		t.Fatalf("the Red child's due list:\n%s", r)
	}
	page("record")
	today := time.Now().In(london)
	d, m, y := strconv.Itoa(today.Day()), strconv.Itoa(int(today.Month())), strconv.Itoa(today.Year())
	run("a C(E)TR with a wrong date", chromedp.SendKeys("#cetr-on-day", "31"), chromedp.SendKeys("#cetr-on-month", "2"), chromedp.SendKeys("#cetr-on-year", y),
		chromedp.SendKeys("#cetr-outcome", "Crisis plan agreed"))
	submit("a C(E)TR with a wrong date", fmt.Sprintf("form[action='/records/%d/actions'] input[value=cetr] ~ button", rec))
	run("a C(E)TR with a wrong date", chromedp.WaitVisible(".nhsuk-error-summary"))
	page("record-error")
	run("the C(E)TR", chromedp.SetValue("#cetr-on-day", d), chromedp.SetValue("#cetr-on-month", m))
	submit("the C(E)TR", fmt.Sprintf("form[action='/records/%d/actions'] input[value=cetr] ~ button", rec))
	run("the C(E)TR", chromedp.WaitVisible("div.nhsuk-inset-text"))
	r = text(t, ctx)
	if strings.Contains(r, "C(E)TR (rated Red)") || !strings.Contains(r, "Key worker referral (rated Red)") || !strings.Contains(r, "Crisis plan agreed") {
		t.Errorf("after the C(E)TR:\n%s", r)
	}
	run("the key worker", chromedp.SendKeys("#key_worker-name", "Imogen Threadgold"), chromedp.SendKeys("#key_worker-on-day", d),
		chromedp.SendKeys("#key_worker-on-month", m), chromedp.SendKeys("#key_worker-on-year", y))
	submit("the key worker", fmt.Sprintf("form[action='/records/%d/actions'] input[value=key_worker] ~ button", rec))
	waitText("the key worker", "Imogen Threadgold, allocated")
	if r = text(t, ctx); !strings.Contains(r, "Nothing is due") || !strings.Contains(r, "Imogen Threadgold, allocated") {
		t.Errorf("after the key worker:\n%s", r)
	}
	acts, _ := db.RecordActions(bg, rec)
	if len(acts) != 2 || acts[0].Actor != coordinatorName {
		t.Errorf("actions stored: %+v", acts)
	}

	// Change the rating with a reason: the page asks for the next action.
	run("change the RAG rating", chromedp.SetValue("#rag", "Blue"), chromedp.SendKeys("#rag-why", "Admitted to hospital last night"))
	submit("change the RAG rating", "form[action$='/rag'] button")
	waitText("change the RAG rating", "The rating is now Blue")
	if r = text(t, ctx); !strings.Contains(r, "The rating is now Blue. Next: Inpatient C(E)TR (in hospital)") ||
		!strings.Contains(r, "Red to Blue") || !strings.Contains(r, "Admitted to hospital last night") {
		t.Errorf("after the RAG change:\n%s", r)
	}
	page("record-after-rag")
	if got, _ := db.Record(bg, rec, "test"); got.RAG != "Blue" {
		t.Errorf("the rating is %q", got.RAG)
	}

	// Other pages a coordinator sees.
	for _, p := range []struct{ path, name string }{{"/records", "records"}, {"/find", "find"}, {"/no/such/page", "not-found"}, {"/users", "forbidden"}} {
		ctx = visit(t, ctx, base+p.path, "h1")
		page(p.name)
	}

	// The admin reads the audit.
	ctx = visit(t, ctx, base+"/", "form[action='/signout'] button")
	run("sign out", chromedp.Click("form[action='/signout'] button"),
		chromedp.WaitVisible("#name"))
	signin(adminName, adminPass)
	ctx = visit(t, ctx, base+"/audit", "#person")
	run("the audit", chromedp.SendKeys("#person", coordinatorName), chromedp.Submit("#person"),
		// The filtered page, not the unfiltered one still on screen while
		// the form is sent: the server writes the filter back as the
		// field's value attribute, which typing does not set.
		chromedp.WaitVisible(`#person[value="`+coordinatorName+`"]`), chromedp.WaitVisible("table.nhsuk-table"))
	a := text(t, ctx)
	for _, want := range []string{"RAG rating changed from Red to Blue.", "Recorded: C(E)TR (community).", "Recorded: Key worker.",
		"Review finished: confirmed the best interest decision and added the child to the register."} {
		if !strings.Contains(a, want) {
			t.Errorf("the audit does not say %q", want)
		}
	}
	if strings.Contains(a, "Imogen Threadgold") || strings.Contains(a, "Crisis plan agreed") {
		t.Error("the audit shows an action's free text")
	}
	page("audit")
	ctx = visit(t, ctx, base+"/users", "h1")
	page("users")
}
