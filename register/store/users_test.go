package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
)

// The users, sessions, review actions and dashboard run on both databases,
// like the rest of the store's suite.
func TestUsersAndActionsSQLite(t *testing.T) { testUsersAndActions(t, stSQLiteDB) }

func TestUsersAndActionsPostgres(t *testing.T) {
	p := stNewPostgres(t)
	testUsersAndActions(t, p.newDB)
}

func testUsersAndActions(t *testing.T, db stDB) {
	t.Run("users", func(t *testing.T) { testUsers(t, db(t)) })
	t.Run("sessions", func(t *testing.T) { testSessions(t, db(t)) })
	t.Run("login attempts", func(t *testing.T) { testLoginAttempts(t, db(t)) })
	t.Run("register case", func(t *testing.T) { testRegisterCase(t, db(t)) })
	t.Run("send and close", func(t *testing.T) { testSendAndClose(t, db(t)) })
	t.Run("withdrawal", func(t *testing.T) { testConfirmWithdrawal(t, db(t)) })
	t.Run("dates, dashboard, export", func(t *testing.T) { testDatesDashboardExport(t, db(t)) })
}

func testUsers(t *testing.T, o Options) {
	ctx := context.Background()
	s := stOpen(t, o, stKeys(t))
	u, err := s.AddUser(ctx, " Alice ", RoleCoordinator, "hash1", "cli")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "alice" {
		t.Errorf("name = %q, want it normalised to alice", u.Name)
	}
	if _, err := s.AddUser(ctx, "ALICE", RoleViewer, "h", "cli"); !errors.Is(err, ErrUserExists) {
		t.Errorf("second alice: err = %v, want ErrUserExists", err)
	}
	for _, bad := range []struct{ name, role string }{{"bob", "root"}, {"", RoleViewer}, {"two words", RoleViewer}} {
		if _, err := s.AddUser(ctx, bad.name, bad.role, "h", "cli"); err == nil {
			t.Errorf("AddUser(%q, %q) succeeded", bad.name, bad.role)
		}
	}
	secret := "JBSWY3DPEHPK3PXP"
	role := RoleAdmin
	if err := s.UpdateUser(ctx, "alice", UserChange{Role: &role, TOTPSecret: &secret}, "cli"); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByName(ctx, "Alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.Role != RoleAdmin || got.TOTPSecret != secret {
		t.Errorf("after update: role %q totp %q", got.Role, got.TOTPSecret)
	}
	// The TOTP secret is encrypted at rest.
	var raw []byte
	if err := s.db.Get(&raw, s.db.Rebind(`SELECT totp_secret FROM users WHERE id = ?`), got.ID); err != nil {
		t.Fatal(err)
	}
	if string(raw) == secret || len(raw) == 0 {
		t.Errorf("totp secret stored as %q", raw)
	}
	entries, err := s.Audit(ctx, AuditFilter{Entity: "user", EntityID: got.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Action != "user.update" || entries[1].Action != "user.add" {
		t.Errorf("audit = %+v", entries)
	}
}

func testSessions(t *testing.T, o Options) {
	ctx := context.Background()
	s := stOpen(t, o, stKeys(t))
	u, err := s.AddUser(ctx, "carol", RoleViewer, "h", "cli")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, Session{ID: "sess1", UserID: u.ID, CSRF: "tok"}); err != nil {
		t.Fatal(err)
	}
	sess, got, err := s.SessionUser(ctx, "sess1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "carol" || sess.CSRF != "tok" || sess.CreatedAt.IsZero() {
		t.Errorf("session = %+v user %+v", sess, got)
	}
	if _, _, err := s.SessionUser(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}
	// Disabling the account ends its sessions.
	yes := true
	if err := s.UpdateUser(ctx, "carol", UserChange{Disabled: &yes}, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, "sess1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("session of a disabled account: %v", err)
	}
	no := false
	if err := s.UpdateUser(ctx, "carol", UserChange{Disabled: &no}, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, Session{ID: "sess2", UserID: u.ID, CSRF: "tok2"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ExpireSessions(ctx, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("expire nothing: n=%d err=%v", n, err)
	}
	if n, err := s.ExpireSessions(ctx, time.Now().Add(time.Hour), time.Time{}); err != nil || n != 1 {
		t.Errorf("expire idle: n=%d err=%v", n, err)
	}
	if err := s.CreateSession(ctx, Session{ID: "sess3", UserID: u.ID, CSRF: "tok3"}); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, "sess3", "carol", "signout"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, "sess3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ended session still there: %v", err)
	}
}

func testLoginAttempts(t *testing.T, o Options) {
	ctx := context.Background()
	s := stOpen(t, o, stKeys(t))
	if _, err := s.AddUser(ctx, "dave", RoleCoordinator, "h", "cli"); err != nil {
		t.Fatal(err)
	}
	attempt := func(name, remote string, ok bool, why string) {
		t.Helper()
		c, err := s.ClaimSignin(ctx, name, remote, stLimits)
		if err != nil || c.ID == 0 {
			t.Fatalf("claim for %q: %+v, %v", name, c, err)
		}
		if err := s.SettleSignin(ctx, c.ID, ok, why); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		attempt("Dave", "127.0.0.1", false, "bad_password")
	}
	attempt("hunter2-typed-as-name", "127.0.0.2", false, "unknown_user")
	attempt("dave", "127.0.0.1", true, "")
	entries, err := s.Audit(ctx, AuditFilter{Action: "user.signin_failed"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Fatalf("%d failures audited, want 4", len(entries))
	}
	// What was typed as an unknown name never reaches the audit log.
	if entries[0].Actor != "unknown" || entries[1].Actor != "dave" {
		t.Errorf("actors %q, %q", entries[0].Actor, entries[1].Actor)
	}
	for _, e := range entries {
		if strings.Contains(e.Actor+e.Detail, "hunter2") {
			t.Errorf("the audit holds what was typed as a name: %+v", e)
		}
	}
}

// stReviewCase applies a best interest decision referral, which the stand-in
// rules send to review, and returns its case and review item.
func stReviewCase(t *testing.T, s *Store, c stChild, id string) (Applied, ReviewItem) {
	t.Helper()
	sub := &parser.Submission{Referral: stReferral(c), Consent: stConsent(c, parser.BasisBestInterest)}
	a := stApply(t, s, stMessage(id, sub))
	if a.Decision.Outcome != register.OutcomeReview {
		t.Fatalf("outcome %s, want review", a.Decision.Outcome)
	}
	items, err := s.ReviewQueue(context.Background(), ReviewFilter{CaseID: a.Case.ID})
	if err != nil || len(items) != 1 {
		t.Fatalf("review items %v, %v", items, err)
	}
	return a, items[0]
}

func testRegisterCase(t *testing.T, o Options) {
	ctx := context.Background()
	s := stOpen(t, o, stKeys(t))
	a, item := stReviewCase(t, s, stQuillon, "bid-1@example.org")
	act := CaseAction{CaseID: a.Case.ID, ReviewID: item.ID, Actor: "alice", Action: "register"}
	if _, err := s.RegisterCase(ctx, act); err == nil {
		t.Error("registering without a reason succeeded")
	}
	act.Why = "Best interest decision checked with the social worker"
	recID, err := s.RegisterCase(ctx, act)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Record(ctx, recID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if rec.NHSNumber != stQuillon.NHS || rec.State != register.RecordActive {
		t.Errorf("record %+v", rec)
	}
	c, err := s.Case(ctx, a.Case.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if c.State != CaseRegistered || c.RecordID != recID {
		t.Errorf("case state %s record %d", c.State, c.RecordID)
	}
	it, err := s.Review(ctx, item.ID)
	if err != nil {
		t.Fatal(err)
	}
	if it.State != ReviewResolved || it.ResolvedBy != "alice" || it.Why != act.Why {
		t.Errorf("review item %+v", it)
	}
	// A second decision on the same case is refused: it is registered.
	if _, err := s.RegisterCase(ctx, act); !errors.Is(err, ErrCaseState) {
		t.Errorf("second registration: %v", err)
	}
	entries, err := s.Audit(ctx, AuditFilter{Action: "case.register", Actor: "alice"})
	if err != nil || len(entries) != 1 {
		t.Errorf("case.register audit: %v %v", entries, err)
	}
}

func testSendAndClose(t *testing.T, o Options) {
	ctx := context.Background()
	s := stOpen(t, o, stKeys(t))
	a, item := stReviewCase(t, s, stQuillon, "bid-2@example.org")
	m := OutboxMessage{Kind: "query", To: "sam.referrer@example.org", Subject: "[" + a.Case.Ref + "] A question",
		Body: "Edited by a coordinator", MessageID: "edited-1@dsr.test"}
	id, err := s.SendCaseEmail(ctx, CaseAction{CaseID: a.Case.ID, ReviewID: item.ID, Actor: "alice", Action: "query"}, m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Outbox(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Body != m.Body || got.State != OutboxPending || got.CaseID != a.Case.ID {
		t.Errorf("outbox %+v", got)
	}
	list, err := s.CaseOutbox(ctx, a.Case.ID)
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Errorf("case outbox %v %v", list, err)
	}
	c, _ := s.Case(ctx, a.Case.ID, "alice")
	if c.State != CaseAwaitingInformation {
		t.Errorf("case state after query %s", c.State)
	}
	// Closing: the reason is required; the optional reply goes out with it.
	if err := s.CloseCase(ctx, CaseAction{CaseID: a.Case.ID, Actor: "alice", Action: "close"}, nil); err == nil {
		t.Error("close without a reason succeeded")
	}
	reply := &OutboxMessage{Kind: "notice", To: "sam.referrer@example.org", Subject: "Closed", Body: "Not for the DSR", MessageID: "close-1@dsr.test"}
	if err := s.CloseCase(ctx, CaseAction{CaseID: a.Case.ID, Actor: "alice", Action: "close", Why: "Not eligible"}, reply); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Case(ctx, a.Case.ID, "alice")
	if c.State != CaseClosed {
		t.Errorf("case state after close %s", c.State)
	}
	if list, _ := s.CaseOutbox(ctx, a.Case.ID); len(list) != 2 {
		t.Errorf("%d emails on the case, want 2", len(list))
	}
	// A review item of another case cannot be resolved through this one.
	b, other := stReviewCase(t, s, stPerpetua, "bid-3@example.org")
	_ = b
	if _, err := s.SendCaseEmail(ctx, CaseAction{CaseID: a.Case.ID, ReviewID: other.ID, Actor: "alice", Action: "query"}, m); err == nil {
		t.Error("email on a closed case, resolving another case's item, succeeded")
	}
}

func testConfirmWithdrawal(t *testing.T, o Options) {
	ctx := context.Background()
	s := stOpen(t, o, stKeys(t))
	sub := &parser.Submission{Referral: stReferral(stPerpetua), Consent: stConsent(stPerpetua, parser.BasisParental)}
	reg := stApply(t, s, stMessage("reg-1@example.org", sub))
	if reg.RecordID == 0 {
		t.Fatal("not registered")
	}
	// A withdrawal request: a consent form alone, which the stand-in rules
	// query; a coordinator confirms it from the case.
	wd := stApply(t, s, stMessage("wd-1@example.org", &parser.Submission{Consent: stConsent(stPerpetua, parser.BasisParental)}))
	recID, err := s.ConfirmWithdrawal(ctx, CaseAction{CaseID: wd.Case.ID, Actor: "alice", Action: "confirm_withdrawal", Why: "Parent phoned"})
	if err != nil {
		t.Fatal(err)
	}
	if recID != reg.RecordID {
		t.Errorf("withdrew record %d, want %d", recID, reg.RecordID)
	}
	rec, err := s.Record(ctx, recID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != register.RecordWithdrawn || rec.NHSNumber != "" {
		t.Errorf("record after withdrawal %+v", rec)
	}
	c, err := s.Case(ctx, wd.Case.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if c.Forms.Consent != nil || c.State != CaseWithdrawn {
		t.Errorf("withdrawal case keeps forms or state %s", c.State)
	}
	// Confirming again changes nothing and does not fail.
	if _, err := s.ConfirmWithdrawal(ctx, CaseAction{CaseID: wd.Case.ID, Actor: "alice", Action: "confirm_withdrawal"}); err != nil {
		t.Errorf("second confirmation: %v", err)
	}
}

func testDatesDashboardExport(t *testing.T, o Options) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) // a Wednesday
	o.Now = func() time.Time { return now }
	s := stOpen(t, o, stKeys(t))
	sub := &parser.Submission{Referral: stReferral(stQuillon), Consent: stConsent(stQuillon, parser.BasisParental)}
	reg := stApply(t, s, stMessage("reg-2@example.org", sub))
	stReviewCase(t, s, stPerpetua, "bid-4@example.org")

	if err := s.SetRecordDate(ctx, reg.RecordID, DateCETR, "2026-10-01", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRecordDate(ctx, reg.RecordID, DateCETR, "2026-11-02", "bob"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2]string{{"holiday", "2026-10-01"}, {DateKeyWorker, "1 Oct"}} {
		if err := s.SetRecordDate(ctx, reg.RecordID, bad[0], bad[1], "alice"); err == nil {
			t.Errorf("SetRecordDate(%q, %q) succeeded", bad[0], bad[1])
		}
	}
	dates, err := s.RecordDates(ctx, reg.RecordID)
	if err != nil {
		t.Fatal(err)
	}
	if len(dates) != 2 || dates[1].Date != "2026-11-02" || dates[1].Actor != "bob" {
		t.Errorf("dates %+v", dates)
	}

	d, err := s.Dashboard(ctx, now, 4)
	if err != nil {
		t.Fatal(err)
	}
	if d.ByRAG["Amber"] != 1 || d.Queue != 1 || d.OldestQueued == nil || len(d.Weeks) != 4 {
		t.Errorf("dashboard %+v", d)
	}
	if last := d.Weeks[3]; !last.Start.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)) || last.Count != 2 {
		t.Errorf("this week %+v, want Monday 23 November with 2 referrals", last)
	}

	recs, err := s.ExportRecords(ctx, "alice", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Surname != stQuillon.Surname {
		t.Errorf("export %+v", recs)
	}
	entries, err := s.Audit(ctx, AuditFilter{Action: "record.export"})
	if err != nil || len(entries) != 1 || entries[0].Detail != "format=csv records=1" {
		t.Errorf("export audit %+v %v", entries, err)
	}
}
