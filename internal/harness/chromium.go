package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ChromiumPath finds the system Chromium (Debian's chromium package,
// installed by scripts/install-test-deps.sh), or $DSR_CHROMIUM. Without
// it the browser tests skip on a developer's machine and fail under CI, so
// CI can never pass by not running them.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("DSR_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; scripts/install-test-deps.sh installs it")
	}
	t.Skip("chromium is not installed (apt-get install chromium); the browser tests need it")
	return ""
}

// NewBrowser starts a headless Chromium with a profile of the test's own
// and a 1280x900 window, and returns its context, which ends after
// timeout. Cleanup stops the browser.
func NewBrowser(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	exe := ChromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(chromeLog(t)),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// chromeLog is where Chromium's own output goes: a file in
// $DSR_ARTIFACTS, kept and named in the test's log when the test fails,
// or in the test's temporary directory, removed with it, so that a
// failed test logs the output's end itself (CI sets no DSR_ARTIFACTS),
// and a browser that stalled says why.
func chromeLog(t testing.TB) *os.File {
	t.Helper()
	dir := os.Getenv("DSR_ARTIFACTS")
	kept := dir != ""
	if !kept {
		dir = t.TempDir()
	}
	f, err := os.CreateTemp(dir, "chromium-*.log")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		if !t.Failed() {
			return
		}
		if kept {
			t.Logf("chromium's output is in %s", f.Name())
			return
		}
		out, err := os.ReadFile(f.Name())
		if err != nil {
			t.Logf("chromium's output: %v", err)
			return
		}
		// Every start complains of the D-Bus a container does not run:
		// those lines say nothing.
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if !strings.Contains(l, ":ERROR:dbus/") {
				lines = append(lines, l)
			}
		}
		lines = lines[max(0, len(lines)-40):]
		t.Logf("the end of chromium's output, D-Bus's complaints left out:\n%s", strings.Join(lines, "\n"))
	})
	return f
}

// Open loads url in the tab and waits until the new page has loaded with
// sel visible. It sends Page.navigate itself and asks the page whether
// it has loaded (WaitFor) rather than waiting for chromedp's load events,
// which have missed a page that loaded.
func Open(ctx context.Context, url, sel string) error {
	if err := MarkOld(ctx); err != nil {
		return err
	}
	nav := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, cdppage.Navigate, cdppage.NavigateParams{URL: url})
		if err == nil && res.ErrorText != "" {
			err = errors.New(res.ErrorText)
		}
		return err
	})
	if err := chromedp.Do(ctx, nav); err != nil {
		return fmt.Errorf("navigate: %w", err)
	}
	return WaitFor(ctx, NewPage(sel))
}

// MarkOld marks the tab's document, so that NewPage never takes it for
// the one a navigation or a form leads to (the same URL opened again
// included): a wait made while the old page still shows would be
// satisfied by it.
func MarkOld(ctx context.Context) error {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("window.dsrOldPage = true")); err != nil {
		return fmt.Errorf("mark the old page: %w", err)
	}
	return nil
}

// NewPage is the check that the tab holds a document MarkOld did not
// mark, loaded, with sel visible.
func NewPage(sel string) string {
	return fmt.Sprintf(`window.dsrOldPage === undefined && document.readyState === "complete" &&
		((e) => e !== null && e.getClientRects().length > 0)(document.querySelector(%q))`, sel)
}

// WaitFor evaluates js in the tab until it is true or ctx ends. It asks
// the page itself rather than waiting for chromedp's load and DOM
// events, which have missed a page that loaded; each look is bounded,
// because an evaluation caught by a navigation on a loaded machine has
// been seen never to return.
func WaitFor(ctx context.Context, js string) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ok, err := chromedp.Run(pctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last look: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
