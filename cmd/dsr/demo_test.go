package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dsr-intake/internal/harness"
	"dsr-intake/register/store"
)

// TestDemoInChromium starts the demo as `make demo` does, waits for the
// inbox to be processed, signs in to the pages in a real headless Chromium,
// checks the queue and the register are filled, and keeps screenshots of the
// dashboard and the queue. Closing the demo leaves nothing behind.
func TestDemoInChromium(t *testing.T) {
	// Before the demo starts: skip (or, in CI, fail) without Chromium.
	harness.ChromiumPath(t)
	ctx := context.Background()
	d, err := startDemo(ctx, filepath.Join("..", "..", "testdata", "samples"), "127.0.0.1:0", io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	dir := d.dir
	closed := false
	defer func() {
		if !closed {
			d.Close()
		}
	}()

	// The samples: three to add, two to query, two to review, one to ignore.
	deadline := time.Now().Add(60 * time.Second)
	for {
		h := d.daemon.Health.Snapshot()
		n := 0
		for _, c := range h.Processed {
			n += c
		}
		if n >= 8 && d.sink.count() >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo processed %d of 8 samples and sent %d queries in 60s", n, d.sink.count())
		}
		time.Sleep(200 * time.Millisecond)
	}

	bctx := harness.NewBrowser(t, 2*time.Minute)

	base := "http://" + d.webAddr
	// Each page is waited for by asking it (harness.Open, harness.WaitFor),
	// not through chromedp's load events, which have missed a page that
	// loaded on a busy machine.
	signin := func() error {
		ctx, cancel := context.WithTimeout(bctx, time.Minute)
		defer cancel()
		if err := harness.Open(ctx, base+"/signin", "#password"); err != nil {
			return err
		}
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS("#name"), d.user),
			chromedp.SendKeys(chromedp.CSS("#password"), d.password)); err != nil {
			return err
		}
		if err := harness.MarkOld(ctx); err != nil {
			return err
		}
		if err := chromedp.Do(ctx, chromedp.Submit(chromedp.CSS("#password"))); err != nil {
			return err
		}
		// The sign-in page has a <main> too: wait for a page only a
		// signed-in coordinator sees.
		return harness.WaitFor(ctx, harness.NewPage(`form[action="/signout"]`))
	}
	if err := signin(); err != nil {
		t.Fatalf("sign in to the demo: %v", err)
	}
	page := func(path string) (string, []byte) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, time.Minute)
		defer cancel()
		if err := harness.Open(ctx, base+path, "main"); err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		text, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", path, err)
		}
		return text, png
	}
	dashboard, dashPNG := page("/")
	queue, queuePNG := page("/queue")
	records, _ := page("/records")

	// The queue names the two cases a person must decide, in plain words.
	reviews, err := d.store.ReviewQueue(ctx, store.ReviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(reviews) != 2 {
		t.Fatalf("%d review items, want 2", len(reviews))
	}
	for _, it := range reviews {
		if !strings.Contains(queue, it.CaseRef) {
			t.Errorf("the queue page does not show %s:\n%s", it.CaseRef, queue)
		}
	}
	if !strings.Contains(strings.ToLower(queue), "best interest") || !strings.Contains(queue, "18") {
		t.Errorf("the queue page does not give the reasons in words:\n%s", queue)
	}
	// The register holds the three complete referrals; their case
	// references are on the register page.
	recs, err := d.store.ListRecords(ctx, store.RecordFilter{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// ...beside the demo's seeded register (demoChildren).
	if len(recs) != 3+len(demoChildren) {
		t.Fatalf("%d records, want 3 from the samples and %d seeded", len(recs), len(demoChildren))
	}
	if strings.Contains(strings.ToLower(records), "no children") || strings.TrimSpace(records) == "" {
		t.Errorf("the register page shows no records:\n%s", records)
	}
	if strings.TrimSpace(dashboard) == "" || !strings.Contains(dashboard, "Red") {
		t.Errorf("the dashboard shows no figures by RAG:\n%s", dashboard)
	}

	art := os.Getenv("DSR_ARTIFACTS")
	if art == "" {
		art = filepath.Join("testdata", "artifacts")
	}
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, png := range map[string][]byte{"demo-dashboard.png": dashPNG, "demo-queue.png": queuePNG} {
		if len(png) < 10000 {
			t.Errorf("%s is only %d bytes: the page looks empty", name, len(png))
		}
		if err := os.WriteFile(filepath.Join(art, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	abs, _ := filepath.Abs(art)
	t.Logf("screenshots in %s", abs)

	d.Close()
	closed = true
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the demo left %s behind", dir)
	}
}
