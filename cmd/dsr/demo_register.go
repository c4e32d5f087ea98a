package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// demoClock is the register's clock in the demo: the real time, except
// while the demo's history is written, when it is set back to each event.
type demoClock struct {
	mu sync.Mutex
	at time.Time // zero: the real time
}

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		return time.Now()
	}
	return c.at
}

func (c *demoClock) set(t time.Time) { c.mu.Lock(); c.at = t; c.mu.Unlock() }

// demoChild is a fictional child on the demo register, with what happened
// to them; days are counted back from today.
type demoChild struct {
	first, surname, dob, rag string
	referred                 int // days ago
	// ragChange, when set, moves the child from rag to this rating this
	// many days ago.
	ragTo  string
	ragAgo int
	acts   []demoAct
}

type demoAct struct {
	kind, variant string
	ago           int // days ago
	until         int // hospital: discharged this many days ago (0: still in)
	name, outcome string
}

// demoChildren are all fictional; their NHS numbers are made from the 999
// test range (demoNHS).
var demoChildren = []demoChild{
	{"Alfie", "Brennan-Osei", "2011-05-09", "Red", 77, "", 0, []demoAct{
		{kind: register.ActionKeyWorker, ago: 70, name: "Hollis Varga"},
		{kind: register.ActionCETR, variant: register.CETRCommunity, ago: 63, outcome: "Crisis plan and short breaks agreed"}}},
	{"Maisie", "Tremlett", "2012-09-21", "Red", 49, "", 0, nil}, // C(E)TR and key worker overdue
	{"Idris", "Fairweather", "2013-02-14", "Red", 16, "", 0, []demoAct{
		{kind: register.ActionKeyWorker, ago: 10, name: "Priya Castellano"}}}, // C(E)TR due soon
	{"Niamh", "Okoro-Lindqvist", "2010-11-30", "Amber", 70, "", 0, []demoAct{
		{kind: register.ActionKeyWorker, ago: 60, name: "Hollis Varga"},
		{kind: register.ActionLAEP, ago: 40, outcome: "Respite placement found"}}},
	{"Toby", "Ashworth-Mensah", "2014-07-03", "Amber", 42, "", 0, nil},  // key worker overdue
	{"Rosa", "Delacroix-Hughes", "2012-01-17", "Amber", 17, "", 0, nil}, // key worker due soon
	{"Ezra", "Pennington", "2015-03-26", "Amber", 56, "Green", 28, []demoAct{
		{kind: register.ActionKeyWorker, ago: 50, name: "Priya Castellano"}}},
	{"Lottie", "Marchetti", "2011-08-08", "Green", 35, "", 0, []demoAct{
		{kind: register.ActionSetting, variant: register.SettingResidentialSchool, ago: 30}}},
	{"Kian", "Abernethy-Cole", "2013-12-12", "Green", 3, "", 0, nil},
	{"Freya", "Oyelowo-Grant", "2009-06-19", "Blue", 84, "", 0, []demoAct{
		{kind: register.ActionSetting, variant: register.SettingHospital, ago: 100}}}, // inpatient C(E)TR overdue
	{"Jude", "Carraway", "2010-04-02", "Blue", 56, "", 0, []demoAct{
		{kind: register.ActionSetting, variant: register.SettingHospital, ago: 56},
		{kind: register.ActionCETR, variant: register.CETRInpatient, ago: 21, outcome: "Discharge planning started"}}},
	{"Ayla", "Whitcombe", "2011-10-27", "Red", 28, "Blue", 18, []demoAct{
		{kind: register.ActionKeyWorker, ago: 26, name: "Hollis Varga"},
		{kind: register.ActionSetting, variant: register.SettingHospital, ago: 18}}},
}

// demoNHS is the i-th valid NHS number of the 999 test range from
// 999 400 000 on, away from the samples' numbers.
func demoNHS(i int) string {
	n := 0
	for p := 999400000; ; p++ {
		for d := 0; d <= 9; d++ {
			s := strconv.Itoa(p) + strconv.Itoa(d)
			if register.ValidNHSNumber(s) {
				if n == i {
					return s
				}
				n++
				break
			}
		}
	}
}

// seedDemoRegister writes the demo's history through the store's own
// API, as if it had happened over the last 12 weeks, and says what it
// holds in one line. No email is sent and nothing goes to review.
func seedDemoRegister(ctx context.Context, st *store.Store, clock *demoClock) (string, error) {
	now := time.Now()
	defer clock.set(time.Time{})
	day := func(ago int) time.Time { return now.AddDate(0, 0, -ago) }
	byRAG := map[string]int{}
	for i, c := range demoChildren {
		clock.set(day(c.referred))
		nhs := demoNHS(i)
		ref := &parser.Form{Kind: parser.Referral, Source: "docx", Values: map[string]string{
			"referral_date": day(c.referred).Format("2006-01-02"), "cyp_first_names": c.first, "cyp_surname": c.surname,
			"cyp_dob": c.dob, "cyp_nhs_number": nhs, "cyp_gender": "Prefer not to say", "cyp_ethnicity": "Not stated",
			"cyp_address": "1 Demo Street\nBromley", "cyp_postcode": "BR1 1AA", "cyp_living_situation": "With family",
			"cyp_local_authority": "Bromley", "dx_learning_disability": "true", "dx_autism": "true", "dx_details": "Demo diagnosis",
			"mh_concern": "Demo concern", "mh_high_risk_admission": "true", "rag_rating": c.rag, "rag_reason": "Demo reason",
			"svc_health": "CAMHS", "needs_health": "Demo needs", "needs_education": "Demo needs", "needs_social_care": "Demo needs",
			"parent_name": "Demo Parent", "parent_relationship": "Parent", "parent_has_pr": "true",
			"referrer_name": "Demo Referrer", "referrer_role": "Social worker", "referrer_organisation": "Bromley Council",
			"referrer_email": "referrer@demo.nhs.net", "referrer_phone": "020 7946 0000"}}
		con := &parser.Form{Kind: parser.Consent, Source: "docx", Values: map[string]string{
			"cyp_full_name": c.first + " " + c.surname, "cyp_dob": c.dob, "cyp_nhs_number": nhs,
			"consent_basis": parser.BasisParental, "consent_given": "true", "factsheet_given": "true",
			"share_health": "true", "share_education": "true", "share_social_care": "true",
			"signatory_name": "Demo Parent", "signatory_relationship": "Parent", "signatory_has_pr": "true",
			"signed_date": day(c.referred + 1).Format("2006-01-02")}}
		id := fmt.Sprintf("<demo-seed-%d@demo.nhs.net>", i)
		raw := []byte("Message-ID: " + id + "\r\nSubject: DSR referral (demo)\r\n\r\nA demo referral.\r\n")
		sum := sha256.Sum256(raw)
		sub := &parser.Submission{From: "referrer@demo.nhs.net", MessageID: id, Referral: ref, Consent: con}
		applied, err := st.Apply(ctx, store.Incoming{Hash: hex.EncodeToString(sum[:]), MessageID: id, Mailbox: "demo", UIDValidity: 1,
			UID: uint32(i + 1), Raw: raw, Submission: sub, ReceivedAt: day(c.referred)},
			func(register.CaseForms) register.Decision {
				return register.Decision{Outcome: register.OutcomeRegister}
			},
			func(store.CaseInfo, register.Decision) []store.OutboxMessage { return nil })
		if err != nil {
			return "", fmt.Errorf("demo register: %w", err)
		}
		if applied.RecordID == 0 {
			return "", fmt.Errorf("demo register: child %d was not added", i)
		}
		rag := c.rag
		if c.ragTo != "" {
			clock.set(day(c.ragAgo))
			if err := st.ChangeRAG(ctx, applied.RecordID, c.ragTo, "demo", "Demo: the rating changed at a review"); err != nil {
				return "", fmt.Errorf("demo register: %w", err)
			}
			rag = c.ragTo
		}
		byRAG[rag]++
		for _, a := range c.acts {
			clock.set(day(a.ago))
			ra := store.RecordAction{RecordID: applied.RecordID, Kind: a.kind, Variant: a.variant, On: day(a.ago).Format("2006-01-02"),
				Name: a.name, Outcome: a.outcome, Actor: "demo"}
			if a.until > 0 {
				ra.Until = day(a.until).Format("2006-01-02")
			}
			if _, err := st.AddRecordAction(ctx, ra); err != nil {
				return "", fmt.Errorf("demo register: %w", err)
			}
		}
	}
	clock.set(time.Time{})
	due, err := st.DueActions(ctx, register.DefaultDuePolicy(), now)
	if err != nil {
		return "", err
	}
	overdue, soon := 0, 0
	for _, a := range due {
		if a.Overdue {
			overdue++
		} else if a.Soon {
			soon++
		}
	}
	return fmt.Sprintf("demo register: %d children referred over the last 12 weeks (Red %d, Amber %d, Green %d, Blue %d); %d actions overdue, %d due soon",
		len(demoChildren), byRAG["Red"], byRAG["Amber"], byRAG["Green"], byRAG["Blue"], overdue, soon), nil
}
