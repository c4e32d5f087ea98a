package review

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/xuri/excelize/v2"

	"dsr-intake/register"
	"dsr-intake/register/store"
)

func TestCaseActions(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.signedIn(t, coordinatorName, coordinatorPass)
	ctx := context.Background()

	t.Run("register needs a reason", func(t *testing.T) {
		id := f.cases["07-best-interest-decision"]
		resp, _ := c.post(pathf("/cases/%d/register", id), url.Values{"mode": {"confirm_bid"}, "why": {"  "}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("no reason: %d", resp.StatusCode)
		}
		if cs, _ := f.store.Case(ctx, id, "test"); cs.State != store.CaseInReview {
			t.Errorf("state %s", cs.State)
		}
	})

	t.Run("close with a reply", func(t *testing.T) {
		id := f.cases["06-age-18"]
		_, body := c.get(pathf("/cases/%d", id))
		review := regexpFind(body, `name="review" value="\d+"`)
		review = strings.TrimSuffix(strings.TrimPrefix(review, `name="review" value="`), `"`)
		resp, _ := c.post(pathf("/cases/%d/close", id), url.Values{"why": {"Over 18: adult services"}, "review": {review},
			"reply": {"Thank you. The young person is over 18, so adult services will pick this up."}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("close: %d", resp.StatusCode)
		}
		cs, _ := f.store.Case(ctx, id, "test")
		sent, _ := f.store.CaseOutbox(ctx, id)
		if cs.State != store.CaseClosed || len(sent) != 1 || !strings.Contains(sent[0].Subject, cs.Ref) || sent[0].InReplyTo == "" {
			t.Errorf("after close: state %s, sent %+v", cs.State, sent)
		}
		if items, _ := f.store.ReviewQueue(ctx, store.ReviewFilter{CaseID: id}); len(items) != 0 {
			t.Errorf("review item still open: %+v", items)
		}
		// Acting again on a closed case is refused.
		if resp, _ := c.post(pathf("/cases/%d/close", id), url.Values{"why": {"again"}}); resp.StatusCode != http.StatusConflict {
			t.Errorf("second close: %d", resp.StatusCode)
		}
	})

	t.Run("reprocess a quarantined email", func(t *testing.T) {
		c.get("/queue")
		resp, _ := c.post(pathf("/review/%d/reprocess", f.quarItem), nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("reprocess: %d", resp.StatusCode)
		}
		it, err := f.store.Review(ctx, f.quarItem)
		if err != nil || it.State != store.ReviewResolved || it.ResolvedBy != coordinatorName || it.Action != "reprocess" {
			t.Errorf("review item %+v %v", it, err)
		}
		st, _ := f.store.MessageState(ctx, it.MessageHash)
		if st.State != store.MessageDecided {
			t.Errorf("message state after reprocess: %s", st.State)
		}
	})

	t.Run("record dates", func(t *testing.T) {
		rec := f.records["9993149586"]
		c.get(pathf("/records/%d", rec))
		for _, tc := range []struct {
			kind, date string
			status     int
		}{{"cetr", "2026-10-30", 303}, {"key_worker", "2/11/2026", 303}, {"cetr", "10/30/2026", 400}, {"cetr", "soon", 400}, {"birthday", "2026-01-01", 400}} {
			if resp, _ := c.post(pathf("/records/%d/dates", rec), url.Values{"kind": {tc.kind}, "date": {tc.date}}); resp.StatusCode != tc.status {
				t.Errorf("%s %s: %d, want %d", tc.kind, tc.date, resp.StatusCode, tc.status)
			}
		}
		_, body := c.get(pathf("/records/%d", rec))
		if !strings.Contains(body, "30 October 2026") || !strings.Contains(body, "2 November 2026") {
			t.Error("the record page does not show the dates")
		}
	})

	t.Run("withdrawal", func(t *testing.T) {
		// The hostile-named child's own case stands in for a withdrawal
		// request; the action finds the record through the case.
		c.get(pathf("/cases/%d", f.xssCase))
		resp, _ := c.post(pathf("/cases/%d/withdrawal", f.xssCase), url.Values{"why": {"Parent phoned"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("withdrawal: %d", resp.StatusCode)
		}
		rec, err := f.store.Record(ctx, f.xssRec, "test")
		if err != nil || rec.State != register.RecordWithdrawn || rec.NHSNumber != "" {
			t.Errorf("record after withdrawal: %+v %v", rec, err)
		}
	})
}

func TestExport(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	// Coordinators and admins export; viewers do not by default
	// (TestExportRoles).
	c := f.signedIn(t, coordinatorName, coordinatorPass)
	resp, body := c.get("/export/register.csv")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv: %d %v", resp.StatusCode, resp.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(f.records)+1 || rows[0][1] != "NHS number" {
		t.Errorf("csv has %d rows for %d records", len(rows), len(f.records))
	}
	found := false
	for _, r := range rows {
		if r[1] == "9993149586" && r[3] == "Chambers" && r[7] == "Red" {
			found = true
		}
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("cell %q could be read as a formula", cell)
			}
		}
	}
	if !found {
		t.Error("the csv lacks the sample child")
	}
	resp, body = c.get("/export/register.xlsx")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("xlsx: %d", resp.StatusCode)
	}
	x, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	xrows, err := x.GetRows("Register")
	if err != nil || len(xrows) != len(rows) {
		t.Errorf("xlsx rows %d, csv rows %d, %v", len(xrows), len(rows), err)
	}
	entries, _ := f.store.Audit(context.Background(), store.AuditFilter{Action: "record.export", Actor: coordinatorName})
	if len(entries) != 2 {
		t.Errorf("exports audited: %d, want 2", len(entries))
	}
}

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+44 20": "'+44 20", "-x": "'-x", "@SUM(A1)": "'@SUM(A1)", "Chambers": "Chambers", "": ""} {
		if got := safeCell(in); got != want {
			t.Errorf("safeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAccountsAndTOTP(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	admin := f.signedIn(t, adminName, adminPass)
	admin.get("/users")
	if resp, _ := admin.post("/users", url.Values{"name": {"nina"}, "role": {"viewer"}, "password": {"short"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("short password: %d", resp.StatusCode)
	}
	if resp, _ := admin.post("/users", url.Values{"name": {"nina"}, "role": {"coordinator"}, "password": {"a long first password"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d", resp.StatusCode)
	}
	f.client(t).signin("nina", "a long first password")
	if resp, _ := admin.post("/users/ada", url.Values{"action": {"disable"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an admin disabled themself: %d", resp.StatusCode)
	}
	if resp, _ := admin.post("/users/nina", url.Values{"action": {"disable"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", resp.StatusCode)
	}
	c := f.client(t)
	c.get("/signin")
	if resp, _ := c.post("/signin", url.Values{"name": {"nina"}, "password": {"a long first password"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("disabled account signed in: %d", resp.StatusCode)
	}

	// With a second factor, the password alone is not enough.
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Bromley DSR", AccountName: viewerName})
	if err != nil {
		t.Fatal(err)
	}
	secret := key.Secret()
	if err := f.store.UpdateUser(context.Background(), viewerName, store.UserChange{TOTPSecret: &secret}, "test"); err != nil {
		t.Fatal(err)
	}
	c = f.client(t)
	c.get("/signin")
	if resp, _ := c.post("/signin", url.Values{"name": {viewerName}, "password": {viewerPass}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no code: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/signin", url.Values{"name": {viewerName}, "password": {viewerPass}, "code": {"000000"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong code: %d", resp.StatusCode)
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.post("/signin", url.Values{"name": {viewerName}, "password": {viewerPass}, "code": {code}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("right code: %d", resp.StatusCode)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q", h)
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		hash, pw string
		ok       bool
		err      bool
	}{
		{h, "correct horse battery", true, false},
		{h, "correct horse batterY", false, false},
		{h, "", false, false},
		{"$2a$10$abcdefghijklmnopqrstuv", "x", false, true},
		{strings.Replace(h, "m=19456", "m=0", 1), "correct horse battery", false, true},
		{"", "x", false, true},
	} {
		ok, err := CheckPassword(tc.hash, tc.pw)
		if ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("CheckPassword(%q, %q) = %t, %v", tc.hash, tc.pw, ok, err)
		}
	}
}

func TestDashboardChart(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.signedIn(t, viewerName, viewerPass)
	_, body := c.get("/")
	for _, want := range []string{"<svg", "Referrals per week", "Connected", "3 waiting", "2 to send"} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard lacks %q", want)
		}
	}
	ch := weekChart([]store.WeekCount{{Count: 0}, {Count: 4}, {Count: 2}})
	if ch.Max != 4 || ch.Bars[1].H != 170 || ch.Bars[2].H != 85 || ch.Bars[0].H != 0 {
		t.Errorf("chart %+v", ch)
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second: "less than a minute", time.Minute: "1 minute", 59 * time.Minute: "59 minutes",
		time.Hour: "1 hour", 47 * time.Hour: "47 hours", 48 * time.Hour: "2 days", 24 * 30 * time.Hour: "30 days",
	} {
		if got := age(now, now.Add(-d)); got != want {
			t.Errorf("age(%v) = %q, want %q", d, got, want)
		}
	}
}
