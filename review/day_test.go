package review

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"dsr-intake/register"
	"dsr-intake/register/store"
)

// TestQueueTriage: the queue says who each case is about and lets a
// coordinator filter by reason and RAG rating and sort.
func TestQueueTriage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.signedIn(t, coordinatorName, coordinatorPass)
	_, body := c.get("/queue")
	for _, want := range []string{"Child", "Referrer", "What arrived", "referral form (", "consent form ("} {
		if !strings.Contains(body, want) {
			t.Errorf("the queue does not show %q", want)
		}
	}
	_, adult := c.get("/queue?reason=" + register.CodeAge18OrOver)
	_, bid := c.get("/queue?reason=" + register.CodeBestInterestDecision)
	adultRef := f.caseRef(t, "06-age-18")
	bidRef := f.caseRef(t, "07-best-interest-decision")
	if !strings.Contains(adult, adultRef) || strings.Contains(adult, bidRef) || !strings.Contains(bid, bidRef) || strings.Contains(bid, adultRef) {
		t.Errorf("filtering by reason: %s in 18+ list %v, %s in BID list %v", adultRef, strings.Contains(adult, adultRef), bidRef, strings.Contains(bid, bidRef))
	}
	// No case asks for Blue; every case here waited less than a week.
	for _, q := range []string{"rag=Blue", "waited=7"} {
		_, body := c.get("/queue?" + q)
		if strings.Contains(body, adultRef) || !strings.Contains(body, "Nothing is waiting") {
			t.Errorf("/queue?%s still lists %s", q, adultRef)
		}
	}
	if resp, _ := c.get("/queue?sort=rag&rag=nonsense&waited=-1"); resp.StatusCode != http.StatusOK {
		t.Errorf("unknown filter values: %d", resp.StatusCode)
	}
	if n, _ := f.store.Audit(context.Background(), store.AuditFilter{Action: "case.list", Actor: coordinatorName}); len(n) == 0 {
		t.Error("reading the queue's names is not audited")
	}
}

func (f *fixture) caseRef(t *testing.T, sample string) string {
	t.Helper()
	c, err := f.store.Case(context.Background(), f.cases[sample], "test")
	if err != nil {
		t.Fatal(err)
	}
	return c.Ref
}

// TestCaseFormErrorsKeepTyping: a form sent without its reason comes back
// on the case page with the NHS.UK error summary and what was typed.
func TestCaseFormErrorsKeepTyping(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.signedIn(t, coordinatorName, coordinatorPass)
	id := f.cases["06-age-18"]
	resp, body := c.post(pathf("/cases/%d/close", id), url.Values{"why": {" "}, "reply": {"My own words to the referrer"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "nhsuk-error-summary") ||
		!strings.Contains(body, `href="#close-why"`) || !strings.Contains(body, "My own words to the referrer") ||
		!strings.Contains(body, "<title>Error: Case") {
		t.Errorf("close without a reason: %d, summary %v, typed text kept %v", resp.StatusCode,
			strings.Contains(body, "nhsuk-error-summary"), strings.Contains(body, "My own words"))
	}
	// The safe actions come before the override, which names the rule.
	_, body = c.get(pathf("/cases/%d", id))
	ask, closeAt, override := strings.Index(body, "Ask the referrer"), strings.Index(body, "Close as not for the DSR"), strings.Index(body, "Override and add")
	if ask < 0 || closeAt < 0 || override < 0 || !(ask < override && closeAt < override) {
		t.Errorf("action order: ask %d, close %d, override %d", ask, closeAt, override)
	}
	if !strings.Contains(body, "Adding this child sets aside: The young person is 18 or over") {
		t.Error("the override does not say which rule it sets aside")
	}
	// Each way of adding a child asks for its own reason: an override why
	// it overrides, a best interest decision why it stands.
	if !strings.Contains(body, "Why you are overriding the rule (required)") || strings.Contains(body, "Why the decision stands") {
		t.Error("the override does not ask why the rule is overridden")
	}
	_, body = c.get(pathf("/cases/%d", f.cases["07-best-interest-decision"]))
	if !strings.Contains(body, "Why the decision stands (required)") || strings.Contains(body, "Why you are overriding the rule") {
		t.Error("the best interest confirmation does not ask why the decision stands")
	}
}

// TestNoticeToReferrer: closing an 18-year-old's referral sends the
// coordinator's (prefilled, editable) notice: the reason in plain words,
// the configured help, the case reference, and no name.
func TestNoticeToReferrer(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.server.actions.NotEligibleHelp = "Please contact the adult autism team on 020 7946 0999."
	c := f.signedIn(t, coordinatorName, coordinatorPass)
	id := f.cases["06-age-18"]
	cs, err := f.store.Case(context.Background(), id, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, body := c.get(pathf("/cases/%d", id))
	draft := regexpFind(body, `(?s)id="close-reply"[^>]*>[^<]*`)
	for _, want := range []string{cs.Ref, "18 or over", "Please contact the adult autism team"} {
		if !strings.Contains(draft, want) {
			t.Errorf("the notice draft does not say %q: %q", want, draft)
		}
	}
	for _, name := range []string{cs.Forms.Referral.Get("cyp_first_names"), cs.Forms.Referral.Get("cyp_surname")} {
		if name != "" && strings.Contains(draft, name) {
			t.Errorf("the notice draft names the child (%q)", name)
		}
	}
	review := strings.TrimSuffix(strings.TrimPrefix(regexpFind(body, `name="review" value="\d+"`), `name="review" value="`), `"`)
	edited := "Edited by the coordinator. Reference " + cs.Ref + "."
	if resp, _ := c.post(pathf("/cases/%d/close", id), url.Values{"why": {"Over 18"}, "review": {review}, "reply": {edited}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("close: %d", resp.StatusCode)
	}
	sent, _ := f.store.CaseOutbox(context.Background(), id)
	if len(sent) != 1 || sent[0].Body != edited || !strings.Contains(sent[0].Subject, cs.Ref) || sent[0].InReplyTo == "" {
		t.Errorf("notice sent: %+v", sent)
	}

	// Confirming a best interest decision sends the "registered" notice.
	bid := f.cases["07-best-interest-decision"]
	_, body = c.get(pathf("/cases/%d", bid))
	notice := regexpFind(body, `(?s)id="register-reply"[^>]*>[^<]*`)
	if !strings.Contains(notice, "has been added to the register") {
		t.Fatalf("no registration notice drafted: %q", notice)
	}
	if resp, _ := c.post(pathf("/cases/%d/register", bid), url.Values{"mode": {"confirm_bid"}, "why": {"BID seen"},
		"reply": {"Added. Reference on the subject line."}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("register: %d", resp.StatusCode)
	}
	sent, _ = f.store.CaseOutbox(context.Background(), bid)
	if len(sent) != 1 || sent[0].Body != "Added. Reference on the subject line." || sent[0].Kind != "notice" {
		t.Errorf("registration notice: %+v", sent)
	}
}

// TestRecordActionsPage: a coordinator records the register's actions
// with the NHS.UK date input; a bad date comes back with what was typed;
// the due list changes; the record shows its own history.
func TestRecordActionsPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.signedIn(t, coordinatorName, coordinatorPass)
	rec := f.records["9993149586"] // rated Red
	_, body := c.get(pathf("/records/%d", rec))
	if !strings.Contains(body, "C(E)TR (rated Red)") || !strings.Contains(body, "Key worker referral (rated Red)") {
		t.Fatalf("a Red child's due list lacks the C(E)TR and key worker")
	}
	if strings.Contains(body, `type="date"`) {
		t.Error("the record page uses the browser's date picker")
	}
	resp, body := c.post(pathf("/records/%d/actions", rec), url.Values{"kind": {"key_worker"}, "name": {"Imogen Threadgold"},
		"on-day": {"31"}, "on-month": {"2"}, "on-year": {"2026"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "The date must be a real date") ||
		!strings.Contains(body, `value="Imogen Threadgold"`) || !strings.Contains(body, `value="31"`) || !strings.Contains(body, `href="#key_worker-on-day"`) {
		t.Errorf("a bad date: %d, typed kept %v", resp.StatusCode, strings.Contains(body, `value="Imogen Threadgold"`))
	}
	// The child was rated Red when the fixture registered them (today):
	// actions dated today answer the rating.
	today := time.Now().In(london)
	next := today.AddDate(0, 3, 0)
	d, m, y := strconv.Itoa(today.Day()), strconv.Itoa(int(today.Month())), strconv.Itoa(today.Year())
	for _, form := range []url.Values{
		{"kind": {"key_worker"}, "name": {"Imogen Threadgold"}, "on-day": {d}, "on-month": {m}, "on-year": {y}},
		{"kind": {"cetr"}, "variant": {"community"}, "outcome": {"Crisis plan agreed"}, "on-day": {d}, "on-month": {m}, "on-year": {y},
			"next-day": {strconv.Itoa(next.Day())}, "next-month": {strconv.Itoa(int(next.Month()))}, "next-year": {strconv.Itoa(next.Year())}},
	} {
		if resp, _ := c.post(pathf("/records/%d/actions", rec), form); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("record %s: %d", form.Get("kind"), resp.StatusCode)
		}
	}
	_, body = c.get(pathf("/records/%d", rec))
	for _, want := range []string{"Imogen Threadgold, allocated " + today.Format("2 January 2006"),
		"Community, " + today.Format("2 January 2006") + ": Crisis plan agreed", next.Format("2 January 2006"), "Nothing is due", "Recorded: C(E)TR (community).", "Recorded: Key worker."} {
		if !strings.Contains(body, want) {
			t.Errorf("the record page does not say %q", want)
		}
	}
	// The panel's export carries the dates.
	_, csvBody := c.get("/export/register.csv")
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(csvBody, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	iso := today.Format("2006-01-02")
	found := false
	for _, r := range rows {
		if r[1] == "9993149586" {
			found = r[14] == iso && r[15] == iso
		}
	}
	if !found || rows[0][14] != "Latest C(E)TR" || rows[0][15] != "Key worker allocated" {
		t.Errorf("the export lacks the C(E)TR and key worker dates (%s)", iso)
	}
	// A viewer sees the actions but not the forms or the history.
	v := f.signedIn(t, viewerName, viewerPass)
	_, body = v.get(pathf("/records/%d", rec))
	if !strings.Contains(body, "Imogen Threadgold") || strings.Contains(body, "Record the key worker") || strings.Contains(body, "This record's history") {
		t.Error("the viewer's record page")
	}
	if resp, _ := v.post(pathf("/records/%d/actions", rec), url.Values{"kind": {"laep"}, "on-day": {"1"}, "on-month": {"12"}, "on-year": {"2026"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer records an action: %d", resp.StatusCode)
	}
}

// TestRolesAndStyledErrors: 404 and 403 in the layout, with the words
// for the user's own role.
func TestRolesAndStyledErrors(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	co := f.signedIn(t, coordinatorName, coordinatorPass)
	for _, p := range []string{"/no/such/page", "/cases/999999", "/records/999999"} {
		resp, body := co.get(p)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "Page not found") || !strings.Contains(body, "nhsuk-header") {
			t.Errorf("GET %s: %d, styled %v", p, resp.StatusCode, strings.Contains(body, "nhsuk-header"))
		}
	}
	resp, body := co.get("/users")
	if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "can view the register but not change it") || !strings.Contains(body, "Only a DSR administrator") {
		t.Errorf("coordinator on /users: %d", resp.StatusCode)
	}
	v := f.signedIn(t, viewerName, viewerPass)
	if resp, body := v.post(pathf("/records/%d/rag", f.records["9993149586"]), url.Values{"rag": {"Blue"}, "why": {"x"}}); resp.StatusCode != http.StatusForbidden ||
		!strings.Contains(body, "can view the register but not change it") {
		t.Errorf("viewer acting: %d", resp.StatusCode)
	}
}

// TestExportRoles: viewers may not export unless configured; the CSV
// starts with a byte-order mark so Excel reads UTF-8.
func TestExportRoles(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	v := f.signedIn(t, viewerName, viewerPass)
	for _, p := range []string{"/export/register.csv", "/export/register.xlsx"} {
		if resp, _ := v.get(p); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer GET %s: %d", p, resp.StatusCode)
		}
	}
	if _, body := v.get("/records"); strings.Contains(body, "/export/register.csv") {
		t.Error("the viewer is offered the export")
	}
	f.server.actions.ViewersExport = true
	resp, body := v.get("/export/register.csv")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "\ufeffRecord,NHS number") {
		t.Errorf("configured viewer export: %d %q", resp.StatusCode, body[:min(len(body), 30)])
	}
}

// TestAuditPage: admins read the audit, filtered by person, case and date,
// paged, and export it as CSV; coordinators do not.
func TestAuditPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	co := f.signedIn(t, coordinatorName, coordinatorPass)
	for range 30 {
		co.get(pathf("/records/%d", f.records["9993149586"]))
	}
	if resp, _ := co.get("/audit"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("coordinator GET /audit: %d", resp.StatusCode)
	}
	a := f.signedIn(t, adminName, adminPass)
	_, body := a.get("/audit?person=" + coordinatorName)
	if !strings.Contains(body, "Record viewed.") || !strings.Contains(body, "Signed in.") || strings.Contains(body, ">intake<") {
		t.Errorf("the audit filtered by person")
	}
	ref := f.caseRef(t, "06-age-18")
	_, body = a.get("/audit?ref=" + ref)
	if !strings.Contains(body, "Email assessed. Sent for review: the young person is 18 or over.") || strings.Contains(body, "Signed in.") {
		t.Errorf("the audit filtered by case")
	}
	_, body = a.get("/audit?from-day=1&from-month=1&from-year=2001&to-day=2&to-month=1&to-year=2001")
	if !strings.Contains(body, "No entries match") {
		t.Error("the audit filtered by dates long ago")
	}
	resp, body := a.get("/audit?from-day=31&from-month=2&from-year=2026")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "The date must be a real date") {
		t.Errorf("a bad date: %d", resp.StatusCode)
	}
	_, body = a.get("/audit")
	if !strings.Contains(body, "Older entries") {
		t.Error("the audit has one page only; the fixture writes more than 50 entries")
	}
	_, page2 := a.get("/audit?page=2")
	if !strings.Contains(page2, "Newer entries") {
		t.Error("page 2 has no way back")
	}
	resp, body = a.get("/audit.csv?person=" + coordinatorName)
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "\ufeffWhen,Who") || err != nil || len(rows) < 2 {
		t.Fatalf("audit csv: %d %v %d rows", resp.StatusCode, err, len(rows))
	}
	for _, r := range rows[1:] {
		if r[1] != coordinatorName {
			t.Errorf("audit csv row for %q", r[1])
		}
	}
}
