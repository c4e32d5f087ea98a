package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The sign-in load: bursts of parallel sign-in attempts against `dsr run`'s
// pages, with the limits raised so that only the pool of password checks
// stands between the burst and Argon2id's 19 MiB a check. dsr's memory
// must stay under signinMemTarget and the pages keep answering.
const (
	signinMemTarget = 150 << 10 // KB
	signinBursts    = 5
	signinBurst     = 200
)

var csrfFieldRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *bench) signin(ctx context.Context) error {
	dir, err := os.MkdirTemp(b.work, "signin-")
	if err != nil {
		return err
	}
	cfg, err := b.dsrConfig(dir, "sqlite", filepath.Join(dir, "dsr.db"), 40)
	if err != nil {
		return err
	}
	addr, err := freeLoopback()
	if err != nil {
		return err
	}
	metrics, err := freeLoopback()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "\n[web]\naddr = %q\nsecure_cookie = false\nmetrics_addr = %q\nrequire_totp = []\n"+
		"signin_client_failures = 1000000\nsignin_account_failures = 1000000\n", addr, metrics)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	const user, pass = "bench", "a bench password long enough"
	add := exec.CommandContext(ctx, b.dsr, "user", "add", user, "--role", "coordinator", "--config", cfg)
	add.Stdin = strings.NewReader(pass + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return fmt.Errorf("dsr user add: %w\n%s", err, out)
	}

	cmd := exec.CommandContext(ctx, b.dsr, "run", "--config", cfg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	base := "http://" + addr
	if err := waitHTTP(ctx, base+"/signin", 30*time.Second); err != nil {
		return err
	}
	_, idleRSS := procStatus(cmd.Process.Pid)

	// dsr's memory, sampled through the bursts.
	var peakRSS int64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			_, rss := procStatus(cmd.Process.Pid)
			peakRSS = max(peakRSS, rss)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()

	transport := &http.Transport{MaxIdleConnsPerHost: signinBurst}
	defer transport.CloseIdleConnections()
	statuses := map[int]int{}
	var pageTimes []time.Duration
	var burstTimes []time.Duration
	for burst := range signinBursts {
		clients := make([]*signinClient, signinBurst)
		for i := range clients {
			if clients[i], err = newSigninClient(ctx, transport, base); err != nil {
				close(stop)
				<-sampled
				return err
			}
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				s, err := c.attempt(ctx, fmt.Sprintf("nobody%d-%d", burst, i), "wrong password for the bench")
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					statuses[-1]++
					return
				}
				statuses[s]++
			}()
		}
		// The pages, asked while the burst runs.
		probeDone := make(chan struct{})
		go func() {
			defer close(probeDone)
			for range 10 {
				t0 := time.Now()
				if err := waitHTTP(ctx, base+"/signin", 10*time.Second); err == nil {
					mu.Lock()
					pageTimes = append(pageTimes, time.Since(t0))
					mu.Unlock()
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		t0 := time.Now()
		close(start)
		wg.Wait()
		burstTimes = append(burstTimes, time.Since(t0))
		<-probeDone
	}
	// After the bursts, the user signs in.
	c, err := newSigninClient(ctx, transport, base)
	if err != nil {
		close(stop)
		<-sampled
		return err
	}
	var userStatus int
	for range 20 { // the pool may still be busy for a moment
		if userStatus, err = c.attempt(ctx, user, pass); err != nil || userStatus != http.StatusTooManyRequests {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	<-sampled
	hwm, _ := procStatus(cmd.Process.Pid) // dsr's high-water mark since it started

	slices.Sort(pageTimes)
	pageMax := time.Duration(0)
	if len(pageTimes) > 0 {
		pageMax = pageTimes[len(pageTimes)-1]
	}
	b.printf("### Sign-in under load (dsr run, SQLite, %d CPUs: %d password checks at once)\n\n", numCPU(), 2*numCPU())
	b.printf("%d bursts of %d parallel wrong sign-ins (limits raised so only the pool of password checks bounds them): "+
		"%d checked and refused (401), %d answered \"try again shortly\" (429), %d failed; bursts took %s.\n\n",
		signinBursts, signinBurst, statuses[http.StatusUnauthorized], statuses[http.StatusTooManyRequests], statuses[-1]+others(statuses),
		durations(burstTimes))
	b.printf("dsr's RSS: %s idle, peak **%s** sampled during the bursts, VmHWM %s (target < %s: %s). "+
		"The sign-in page answered %d of %d times during the bursts, slowest %s; the user signed in afterwards: %s.\n\n",
		mib(idleRSS), mib(peakRSS), mib(hwm), mib(signinMemTarget), verdict(hwm < signinMemTarget), len(pageTimes), 10*signinBursts,
		pageMax.Round(time.Millisecond), verdict(err == nil && userStatus == http.StatusSeeOther))
	logf("signin: peak RSS %s, VmHWM %s, statuses %v, user %d", mib(peakRSS), mib(hwm), statuses, userStatus)
	return nil
}

func others(m map[int]int) int {
	n := 0
	for s, c := range m {
		if s != http.StatusUnauthorized && s != http.StatusTooManyRequests && s != -1 {
			n += c
		}
	}
	return n
}

func durations(ds []time.Duration) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Round(time.Millisecond).String())
	}
	return strings.Join(s, ", ")
}

func freeLoopback() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHTTP waits for url to answer 200.
func waitHTTP(ctx context.Context, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s: %w", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signinClient is a browser at the sign-in form: its cookie and token.
type signinClient struct {
	http *http.Client
	base string
	csrf string
}

func newSigninClient(ctx context.Context, t http.RoundTripper, base string) (*signinClient, error) {
	jar, _ := cookiejar.New(nil)
	c := &signinClient{base: base, http: &http.Client{Transport: t, Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/signin", nil)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := csrfFieldRe.FindSubmatch(body)
	if m == nil {
		return nil, errors.New("the sign-in page has no form token")
	}
	c.csrf = string(m[1])
	return c, nil
}

func (c *signinClient) attempt(ctx context.Context, name, pass string) (int, error) {
	form := url.Values{"name": {name}, "password": {pass}, "csrf": {c.csrf}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
