package intake

// A private Dovecot for the tests: started as a child process on free
// loopback ports with a generated CA, one user, and maildir storage in a
// temporary folder. Tests call startDovecot(t); Cleanup stops it.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// testPKI is a throwaway CA and a server certificate for 127.0.0.1 and
// localhost, written as PEM files.
type testPKI struct {
	CAFile, CertFile, KeyFile string
	ServerCert                tls.Certificate
	Pool                      *x509.CertPool
}

func newTestPKI(t testing.TB, dir string) *testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "dsr-intake test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{
		CAFile:   filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "server.pem"),
		KeyFile:  filepath.Join(dir, "server.key"),
		Pool:     x509.NewCertPool(),
	}
	p.Pool.AddCert(caCert)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	for name, data := range map[string][]byte{p.CAFile: caPEM, p.CertFile: certPEM, p.KeyFile: keyPEM} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.ServerCert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// serverTLS is a server-side config presenting the test certificate.
func (p *testPKI) serverTLS() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.ServerCert}, MinVersion: tls.VersionTLS12}
}

// clientTLS trusts only the test CA.
func (p *testPKI) clientTLS() *tls.Config {
	return &tls.Config{RootCAs: p.Pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

type dovecotServer struct {
	Addr         string // imaps, implicit TLS
	StartTLSAddr string // imap, STARTTLS
	CAFile       string
	User         string
	Password     string
	PKI          *testPKI

	dir, conf, logFile string
	bin                string
	cmd                *exec.Cmd
	exited             chan struct{}
}

// findDovecot returns the dovecot binary, skipping the test when it is
// missing outside CI (CI installs it with scripts/install-test-deps.sh).
func findDovecot(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/dovecot"); serr == nil {
			bin, err = "/usr/sbin/dovecot", nil
		}
	}
	msg := ""
	switch {
	case err != nil:
		msg = "dovecot is not installed (run scripts/install-test-deps.sh)"
	case os.Geteuid() != 0:
		// As root Dovecot can switch to its own unprivileged users; the
		// harness is not written for a non-root Dovecot.
		msg = "the Dovecot harness must run as root"
	}
	if msg == "" {
		return bin
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s; CI must run the Dovecot tests", msg)
	}
	t.Skip(msg)
	return ""
}

func startDovecot(t testing.TB) *dovecotServer {
	t.Helper()
	bin := findDovecot(t)

	// A short path of our own rather than t.TempDir(): Dovecot's unix
	// sockets live under base_dir and socket paths are limited to 107 bytes,
	// and the mail user must be able to traverse the path.
	dir, err := os.MkdirTemp("", "dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mailUser, err := user.Lookup("dovecot")
	if err != nil {
		t.Fatalf("dovecot system user: %v", err)
	}
	uid, _ := strconv.Atoi(mailUser.Uid)
	gid, _ := strconv.Atoi(mailUser.Gid)
	for _, sub := range []string{"run", "state", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "mail"), uid, gid); err != nil {
		t.Fatal(err)
	}

	pw := make([]byte, 12)
	rand.Read(pw)
	d := &dovecotServer{
		CAFile:   "",
		User:     "dsr",
		Password: hex.EncodeToString(pw),
		PKI:      newTestPKI(t, dir),
		dir:      dir,
		conf:     filepath.Join(dir, "dovecot.conf"),
		logFile:  filepath.Join(dir, "dovecot.log"),
		bin:      bin,
	}
	d.CAFile = d.PKI.CAFile
	if err := os.WriteFile(filepath.Join(dir, "passwd"),
		[]byte(d.User+":{PLAIN}"+d.Password+"::::::\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	imapPort, imapsPort := freePort(t), freePort(t)
	d.StartTLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(imapPort))
	d.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(imapsPort))

	conf := fmt.Sprintf(`# generated by intake/dovecot_test.go
base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = dsr-test-%[2]d
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <%[3]s
ssl_key = <%[4]s
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = %[5]d
last_valid_uid = 0
auth_mechanisms = plain login
# A wrong-password test should not take seconds. (Dovecot still slows the
# next logins from the same address: run such tests last.)
auth_failure_delay = 0
mail_location = maildir:%[1]s/mail/%%u
passdb {
  driver = passwd-file
  args = %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[5]d gid=%[6]d home=%[1]s/mail/%%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[7]d
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[8]d
    ssl = yes
  }
}
`, dir, imapsPort, d.PKI.CertFile, d.PKI.KeyFile, uid, gid, imapPort, imapsPort)
	if err := os.WriteFile(d.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			if b, err := os.ReadFile(d.logFile); err == nil {
				t.Logf("dovecot log:\n%s", tail(b, 4000))
			}
		}
		os.RemoveAll(dir)
	})
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *dovecotServer) start() error {
	cmd := exec.Command(d.bin, "-F", "-c", d.conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so that a test binary killed mid-run does not
	// leave our Dovecot holding the terminal's signals.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dovecot: %w", err)
	}
	d.cmd = cmd
	d.exited = make(chan struct{})
	go func() { cmd.Wait(); close(d.exited) }()

	deadline := time.Now().Add(15 * time.Second)
	for _, addr := range []string{d.Addr, d.StartTLSAddr} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-d.exited:
				log, _ := os.ReadFile(d.logFile)
				return fmt.Errorf("dovecot exited: %s\n%s", out.String(), tail(log, 2000))
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				d.stop()
				return fmt.Errorf("dovecot did not listen on %s in time", addr)
			}
		}
	}
	return nil
}

// stop kills Dovecot's process group at once, like a crash: clients see
// their connections drop, and nothing waits for a graceful shutdown, which
// takes Dovecot several seconds.
func (d *dovecotServer) stop() {
	if d.cmd == nil {
		return
	}
	// Only our own group, which Setpgid made.
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	<-d.exited
	d.cmd = nil
}

// Restart kills Dovecot, which drops every client, and starts it again on
// the same ports with the same mail.
func (d *dovecotServer) Restart(t testing.TB) {
	t.Helper()
	d.stop()
	var err error
	for i := 0; i < 3; i++ {
		// The ports are ours but the kernel may hold them a moment.
		if err = d.start(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("restart dovecot: %v", err)
}

// Config returns an IMAPConfig for this server over the given TLS mode.
func (d *dovecotServer) Config(mode TLSMode) IMAPConfig {
	addr := d.Addr
	if mode == TLSStartTLS {
		addr = d.StartTLSAddr
	}
	return IMAPConfig{
		Addr: addr, TLS: mode, CAFile: d.CAFile,
		Username: d.User, Auth: PasswordAuth(d.Password),
	}
}

// client is a plain go-imap connection, independent of the code under test.
func (d *dovecotServer) client(t testing.TB) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(d.Addr, &imapclient.Options{TLSConfig: d.PKI.clientTLS()})
	if err != nil {
		t.Fatalf("dial dovecot: %v", err)
	}
	if err := c.Login(d.User, d.Password).Wait(); err != nil {
		c.Close()
		t.Fatalf("login to dovecot: %v", err)
	}
	return c
}

// Append stores raw in folder, creating the folder if needed, and returns its UID.
func (d *dovecotServer) Append(t testing.TB, folder string, raw []byte) uint32 {
	t.Helper()
	c := d.client(t)
	defer c.Close()
	if folder != "INBOX" {
		err := c.Create(folder, nil).Wait()
		var ie *imap.Error
		if err != nil && !(errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists) {
			t.Fatalf("create %s: %v", folder, err)
		}
	}
	cmd := c.Append(folder, int64(len(raw)), nil)
	cmd.Write(raw)
	cmd.Close()
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("append to %s: %v", folder, err)
	}
	return uint32(data.UID)
}

type storedMessage struct {
	UID   uint32
	Flags []imap.Flag
	Raw   []byte
}

func (m storedMessage) has(f imap.Flag) bool { return slices.Contains(m.Flags, f) }

// Messages lists folder's messages with their flags and bodies (peeked), or
// nil when the folder does not exist.
func (d *dovecotServer) Messages(t testing.TB, folder string) []storedMessage {
	t.Helper()
	c := d.client(t)
	defer c.Close()
	return listMessages(t, c, folder)
}

func listMessages(t testing.TB, c *imapclient.Client, folder string) []storedMessage {
	t.Helper()
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return nil
		}
		t.Fatalf("select %s: %v", folder, err)
	}
	sec := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{sec},
	}).Collect()
	if err != nil {
		t.Fatalf("fetch %s: %v", folder, err)
	}
	var out []storedMessage
	for _, m := range msgs {
		out = append(out, storedMessage{UID: uint32(m.UID), Flags: m.Flags, Raw: m.FindBodySection(sec)})
	}
	slices.SortFunc(out, func(a, b storedMessage) int { return int(a.UID) - int(b.UID) })
	return out
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// testMessage is a small CRLF message whose RFC822.SIZE is its length.
func testMessage(subject string, bodyLines int) []byte {
	var b strings.Builder
	b.WriteString("From: Referrer <referrer@school.example>\r\n")
	b.WriteString("To: DSR <dsr@nhs.example>\r\n")
	b.WriteString("Subject: " + subject + "\r\n")
	b.WriteString("Message-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@school.example>\r\n")
	b.WriteString("Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	for i := 0; i < bodyLines; i++ {
		fmt.Fprintf(&b, "Line %d of a referral for a fictional child.\r\n", i)
	}
	return []byte(b.String())
}

// dial opens a Mailbox against d, failing the test on error.
func dialTest(t testing.TB, cfg IMAPConfig) *Mailbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if cfg.Logger == nil {
		cfg.Logger = testSlog(t)
	}
	m, err := DialIMAP(ctx, cfg)
	if err != nil {
		t.Fatalf("DialIMAP %s (%s): %v", cfg.Addr, cfg.TLS, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// testSlog sends the package's logs to the test's log.
func testSlog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// appendErr appends raw to folder (made if missing), returning an error
// rather than failing the test: for goroutines other than the test's.
func (d *dovecotServer) appendErr(folder string, raw []byte) error {
	c, err := imapclient.DialTLS(d.Addr, &imapclient.Options{TLSConfig: d.PKI.clientTLS()})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(d.User, d.Password).Wait(); err != nil {
		return err
	}
	var ie *imap.Error
	if err := c.Create(folder, nil).Wait(); err != nil && !(errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists) {
		return fmt.Errorf("create %s: %w", folder, err)
	}
	cmd := c.Append(folder, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err = cmd.Wait()
	return err
}
