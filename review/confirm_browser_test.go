package review

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// scannedNHS is a fictional child's NHS number (999 test range) used by no
// other fixture, so the record the confirmation makes is this test's own.
const scannedNHS = "9990000018"

// applyScanned puts a case in review whose forms were read by OCR: the
// typed sample 02 forms, marked as read from a scan, with the GP practice
// misread, and a crop image per field.
func applyScanned(t *testing.T, st *store.Store) int64 {
	t.Helper()
	ctx := context.Background()
	raw, err := os.ReadFile(filepath.Join(sampleDir, "02-flattened-pdf-happy", "message.eml"))
	if err != nil {
		t.Fatal(err)
	}
	raw = regexp.MustCompile(`(?im)^message-id:\s*<`).ReplaceAll(raw, []byte("Message-ID: <scanned-"))
	sub, err := parser.New(parser.Options{}).Parse(ctx, raw)
	if err != nil || sub.Referral == nil || sub.Consent == nil {
		t.Fatalf("parse sample 02: %v", err)
	}
	sub.Referral.Values["cyp_gp_practice"] = "Eden Park Surqery"
	for _, f := range []*parser.Form{sub.Referral, sub.Consent} {
		f.Values["cyp_nhs_number"] = scannedNHS
		f.Source = parser.SourceOCR
		f.OCR = &parser.OCRForm{Pages: []parser.OCRPageSize{{Width: 1654, Height: 2339}}, Fields: map[string]parser.OCRField{}}
		for name, v := range f.Values {
			f.OCR.Fields[name] = parser.OCRField{Text: v, Confidence: 0.95, Page: 1, Box: [4]int{500, 700, 300, 30}, Crop: cropPNG(t)}
		}
	}
	fl := sub.Referral.OCR.Fields["cyp_gp_practice"]
	fl.Confidence = 0.62
	sub.Referral.OCR.Fields["cyp_gp_practice"] = fl
	today := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	a, err := st.Apply(ctx, store.Incoming{Hash: parser.Hash(raw), MessageID: sub.MessageID, Mailbox: "INBOX", UIDValidity: 1, UID: 77,
		Raw: raw, Submission: sub, ReceivedAt: today},
		func(earlier register.CaseForms) register.Decision {
			return register.Assess(register.Input{Submission: sub, Earlier: earlier, Today: today})
		},
		func(store.CaseInfo, register.Decision) []store.OutboxMessage { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if a.Decision.Outcome != register.OutcomeReview || !a.Decision.Has(register.CodeConfirmScannedForm) {
		t.Fatalf("scanned case: %s %v, want review with confirm_scanned_form", a.Decision.Outcome, a.Decision.Codes())
	}
	return a.Case.ID
}

// cropPNG is a small grey image standing in for a piece of a scan.
func cropPNG(t *testing.T) []byte {
	img := image.NewGray(image.Rect(0, 0, 120, 24))
	for x := range 120 {
		for y := range 24 {
			img.SetGray(x, y, color.Gray{Y: uint8(200 + (x*y)%50)})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBrowserConfirmScan: a coordinator opens a case whose forms were read
// from a scan, sees each field beside the piece of the page it came from,
// corrects the misread one and confirms; the child is on the register and
// the audit says who confirmed and which field they changed.
func TestBrowserConfirmScan(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	f := newFixture(t, fixtureOptions{})
	id := applyScanned(t, f.store)
	ctx := newBrowser(t)
	dir := artifactsDir(t)
	base := f.http.URL
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"), chromedp.WaitVisible("#name"),
		chromedp.SendKeys("#name", coordinatorName),
		chromedp.SendKeys("#password", coordinatorPass),
		chromedp.Click("form[action='/signin'] button"),
		chromedp.WaitVisible("svg.dsr-chart"),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	ctx = visit(t, ctx, fmt.Sprintf("%s/cases/%d", base, id), "#confirm-scan")
	// Every crop is shown, loaded from the server (a broken image has no
	// natural width).
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`new Promise(ok => setTimeout(() => ok(
		Array.from(document.querySelectorAll('img.dsr-crop')).map(i => i.complete ? i.naturalWidth : -1)), 500))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) < 10 {
		t.Errorf("%d crops on the page, want one per field read", len(loaded))
	}
	for i, w := range loaded {
		if w != 120 {
			t.Errorf("crop %d has width %d: not loaded", i, w)
		}
	}
	page := text(t, ctx)
	for _, want := range []string{"A form was read from a scan: confirm what was read", "Check what was read from the scan", "62% sure", "Eden Park Surqery"} {
		if !strings.Contains(page, want) && !strings.Contains(mustValue(t, ctx), want) {
			t.Errorf("the case page does not show %q", want)
		}
	}
	screenshot(t, ctx, dir, "confirm-scan")
	axeCheck(t, ctx, "confirm-scan")
	if err := chromedp.Do(ctx,
		chromedp.SetValue("#scan-referral-cyp_gp_practice", "Eden Park Surgery"),
		chromedp.Click("#confirm-scan"),
		chromedp.WaitVisible("div.nhsuk-inset-text"),
	); err != nil {
		t.Fatalf("correct and confirm: %v", err)
	}
	if s := text(t, ctx); !strings.Contains(s, "The child has been added to the register.") || !strings.Contains(s, "Registered") {
		t.Error("the case page does not say the child was added")
	}
	bg := context.Background()
	if _, err := f.store.RecordByNHS(bg, scannedNHS, "test"); err != nil {
		t.Errorf("the confirmed child is not on the register: %v", err)
	}
	c, err := f.store.Case(bg, id, "test")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Forms.Referral.Get("cyp_gp_practice"); got != "Eden Park Surgery" {
		t.Errorf("GP practice %q, want the correction", got)
	}
	entries, err := f.store.Audit(bg, store.AuditFilter{Action: "case.confirm_scan", Actor: coordinatorName})
	if err != nil || len(entries) != 1 || !strings.Contains(entries[0].Detail, "changed=referral.cyp_gp_practice") {
		t.Errorf("confirmation audit: %+v, %v", entries, err)
	}
	views, err := f.store.Audit(bg, store.AuditFilter{Action: "scan.crop.view", Actor: coordinatorName})
	if err != nil || len(views) < 10 {
		t.Errorf("crop views audited: %d, %v", len(views), err)
	}
}

// mustValue is the page's input values, which body text leaves out.
func mustValue(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('input')).map(i => i.value).join('\n')`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
