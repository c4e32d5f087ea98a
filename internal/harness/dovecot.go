package harness

// A private Dovecot: started as a child process on free loopback ports
// with a generated CA, one user, and maildir storage in a folder of its
// own. Tests call NewDovecot(t), and Cleanup stops it; the bench calls
// StartDovecot(dir) and Stop.

import (
	"bytes"
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

// PKI is a throwaway CA and a server certificate for 127.0.0.1 and
// localhost, written as PEM files.
type PKI struct {
	CAFile, CertFile, KeyFile string
	ServerCert                tls.Certificate
	Pool                      *x509.CertPool
}

// NewPKI makes a CA and a server certificate valid for a week and writes
// them under dir.
func NewPKI(dir string) (*PKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "dsr-intake test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		return nil, err
	}
	p := &PKI{
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
			return nil, err
		}
	}
	p.ServerCert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// TestPKI is NewPKI for a test, in a temporary folder of the test's.
func TestPKI(t testing.TB) *PKI {
	t.Helper()
	p, err := NewPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ServerTLS is a server-side config presenting the test certificate.
func (p *PKI) ServerTLS() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.ServerCert}, MinVersion: tls.VersionTLS12}
}

// ClientTLS trusts only the test CA.
func (p *PKI) ClientTLS() *tls.Config {
	return &tls.Config{RootCAs: p.Pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Dovecot is a running private Dovecot with one user, dsr.
type Dovecot struct {
	Addr         string // imaps, implicit TLS
	StartTLSAddr string // imap, STARTTLS
	CAFile       string
	User         string
	Password     string
	PKI          *PKI
	// MailUID and MailGID own the Maildir (Dovecot's mail user).
	MailUID, MailGID int

	dir, conf, logFile string
	extraConf          string // appended to the configuration (LimitConnections)
	bin                string
	cmd                *exec.Cmd
	exited             chan struct{}
}

// findDovecot returns the dovecot binary, or why this machine cannot run
// the harness.
func findDovecot() (string, error) {
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/dovecot"); serr == nil {
			bin, err = "/usr/sbin/dovecot", nil
		}
	}
	switch {
	case err != nil:
		return "", errors.New("dovecot is not installed (run scripts/install-test-deps.sh)")
	case os.Geteuid() != 0:
		// As root Dovecot can switch to its own unprivileged users; the
		// harness is not written for a non-root Dovecot.
		return "", errors.New("the Dovecot harness must run as root")
	}
	return bin, nil
}

// NewDovecot starts a Dovecot for the test and stops it at Cleanup. It
// skips the test when Dovecot is missing or the test is not root, except
// in CI (CI installs it with scripts/install-test-deps.sh), where that
// fails the test.
func NewDovecot(t testing.TB) *Dovecot {
	t.Helper()
	if _, err := findDovecot(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v; CI must run the Dovecot tests", err)
		}
		t.Skip(err.Error())
	}
	// A short path of our own rather than t.TempDir(): Dovecot's unix
	// sockets live under base_dir and socket paths are limited to 107 bytes,
	// and the mail user must be able to traverse the path.
	dir, err := os.MkdirTemp("", "dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	d, err := StartDovecot(dir)
	t.Cleanup(func() {
		if d != nil {
			d.Stop()
			if t.Failed() {
				if b, err := os.ReadFile(d.logFile); err == nil {
					t.Logf("dovecot log:\n%s", Tail(b, 4000))
				}
			}
		}
		os.RemoveAll(dir)
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// StartDovecot starts a Dovecot whose configuration, certificates and mail
// live in dir (which must be short: socket paths are limited to 107
// bytes). The caller stops it with Stop.
func StartDovecot(dir string) (*Dovecot, error) {
	bin, err := findDovecot()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// The mail user must be able to traverse the path.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	mailUser, err := user.Lookup("dovecot")
	if err != nil {
		return nil, fmt.Errorf("dovecot system user: %w", err)
	}
	uid, _ := strconv.Atoi(mailUser.Uid)
	gid, _ := strconv.Atoi(mailUser.Gid)
	for _, sub := range []string{"run", "state", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Chown(filepath.Join(dir, "mail"), uid, gid); err != nil {
		return nil, err
	}

	pw := make([]byte, 12)
	rand.Read(pw)
	pki, err := NewPKI(dir)
	if err != nil {
		return nil, err
	}
	d := &Dovecot{
		CAFile:   pki.CAFile,
		User:     "dsr",
		Password: hex.EncodeToString(pw),
		PKI:      pki,
		dir:      dir,
		conf:     filepath.Join(dir, "dovecot.conf"),
		logFile:  filepath.Join(dir, "dovecot.log"),
		bin:      bin,
		MailUID:  uid,
		MailGID:  gid,
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"),
		[]byte(d.User+":{PLAIN}"+d.Password+"::::::\n"), 0o644); err != nil {
		return nil, err
	}
	// A port taken between our choosing it and Dovecot binding it (another
	// test's server, in a parallel package) makes Dovecot exit: choose again.
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return nil, err
		}
		if err := d.configure(ports[0], ports[1]); err != nil {
			return nil, err
		}
		err = d.Start()
		if err == nil {
			return d, nil
		}
		if attempt == 3 {
			return nil, err
		}
	}
}

// configure writes Dovecot's configuration for the given STARTTLS and
// implicit-TLS ports.
func (d *Dovecot) configure(imapPort, imapsPort int) error {
	d.StartTLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(imapPort))
	d.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(imapsPort))
	dir, uid, gid := d.dir, d.MailUID, d.MailGID
	conf := fmt.Sprintf(`# generated by internal/harness
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
	return os.WriteFile(d.conf, []byte(conf+d.extraConf), 0o644)
}

// LimitConnections restarts Dovecot allowing the user at most n IMAP
// connections at once from one address (mail_max_userip_connections, 10
// by default): one more is refused at login, as a provider's limit on
// connections per mailbox refuses it.
func (d *Dovecot) LimitConnections(t testing.TB, n int) {
	t.Helper()
	d.extraConf = fmt.Sprintf("protocol imap {\n  mail_max_userip_connections = %d\n}\n", n)
	_, imapPort, _ := net.SplitHostPort(d.StartTLSAddr)
	_, imapsPort, _ := net.SplitHostPort(d.Addr)
	p1, _ := strconv.Atoi(imapPort)
	p2, _ := strconv.Atoi(imapsPort)
	if err := d.configure(p1, p2); err != nil {
		t.Fatal(err)
	}
	d.Restart(t)
}

// Logins is how many IMAP logins Dovecot has logged: the number of
// connections a client made, read from the server's side.
func (d *Dovecot) Logins(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(d.logFile)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("imap-login: Info: Login: "))
}

// MailDir is the user's Maildir; INBOX is its root.
func (d *Dovecot) MailDir() string { return filepath.Join(d.dir, "mail", d.User) }

// Start runs Dovecot in the foreground in its own process group and waits
// until it listens.
func (d *Dovecot) Start() error {
	cmd := exec.Command(d.bin, "-F", "-c", d.conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so that a test binary killed mid-run does not
	// leave our Dovecot holding the terminal's signals; killed with us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
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
				return fmt.Errorf("dovecot exited: %s\n%s", out.String(), Tail(log, 2000))
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				d.Stop()
				return fmt.Errorf("dovecot did not listen on %s in time", addr)
			}
		}
	}
	return nil
}

// Stop kills Dovecot's process group at once, like a crash: clients see
// their connections drop, and nothing waits for a graceful shutdown, which
// takes Dovecot several seconds.
func (d *Dovecot) Stop() {
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
func (d *Dovecot) Restart(t testing.TB) {
	t.Helper()
	d.Stop()
	var err error
	for i := 0; i < 3; i++ {
		// The ports are ours but the kernel may hold them a moment.
		if err = d.Start(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("restart dovecot: %v", err)
}

// Dial is a plain go-imap connection, independent of the code under
// test, logged in.
func (d *Dovecot) Dial() (*imapclient.Client, error) {
	c, err := imapclient.DialTLS(d.Addr, &imapclient.Options{TLSConfig: d.PKI.ClientTLS()})
	if err != nil {
		return nil, fmt.Errorf("dial dovecot: %w", err)
	}
	if err := c.Login(d.User, d.Password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login to dovecot: %w", err)
	}
	return c, nil
}

// Client is Dial for a test, failing it on error.
func (d *Dovecot) Client(t testing.TB) *imapclient.Client {
	t.Helper()
	c, err := d.Dial()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Append stores raw in folder, creating the folder if needed, and returns its UID.
func (d *Dovecot) Append(t testing.TB, folder string, raw []byte) uint32 {
	t.Helper()
	c := d.Client(t)
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

// AppendMessage stores one message in folder with the APPEND command.
func AppendMessage(c *imapclient.Client, folder string, raw []byte) error {
	cmd := c.Append(folder, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		cmd.Close()
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err := cmd.Wait()
	return err
}

// Restore replaces the mail with a snapshot (a Maildir tree) while
// Dovecot is stopped, then starts it again and reads the INBOX's sizes
// once, so that every timed run finds the same warm index.
func (d *Dovecot) Restore(snapshot string) error {
	d.Stop()
	if err := os.RemoveAll(d.MailDir()); err != nil {
		return err
	}
	if out, err := exec.Command("cp", "-a", snapshot, d.MailDir()).CombinedOutput(); err != nil {
		return fmt.Errorf("restore mail: %v: %s", err, out)
	}
	var err error
	for i := 0; i < 5; i++ {
		if err = d.Start(); err == nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	_, err = d.Count("INBOX")
	return err
}

// Count selects folder, reads every message's size (which builds
// Dovecot's index) and returns how many there are.
func (d *Dovecot) Count(folder string) (int, error) {
	c, err := d.Dial()
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return 0, fmt.Errorf("select %s: %w", folder, err)
	}
	msgs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return 0, fmt.Errorf("fetch sizes: %w", err)
	}
	return len(msgs), nil
}

// StoredMessage is a message as the server holds it.
type StoredMessage struct {
	UID   uint32
	Flags []imap.Flag
	Raw   []byte
}

// Has reports whether the message has flag f.
func (m StoredMessage) Has(f imap.Flag) bool { return slices.Contains(m.Flags, f) }

// Messages lists folder's messages with their flags and bodies (peeked), or
// nil when the folder does not exist.
func (d *Dovecot) Messages(t testing.TB, folder string) []StoredMessage {
	t.Helper()
	c := d.Client(t)
	defer c.Close()
	return ListMessages(t, c, folder)
}

// ListMessages is Messages over an open connection.
func ListMessages(t testing.TB, c *imapclient.Client, folder string) []StoredMessage {
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
	var out []StoredMessage
	for _, m := range msgs {
		out = append(out, StoredMessage{UID: uint32(m.UID), Flags: m.Flags, Raw: m.FindBodySection(sec)})
	}
	slices.SortFunc(out, func(a, b StoredMessage) int { return int(a.UID) - int(b.UID) })
	return out
}

// freePorts is n distinct free loopback ports. The listeners are held
// until all are chosen: closed one by one, the kernel may hand the same
// port out twice.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Tail is the last n bytes of b, for logs in failure messages.
func Tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Message is a small CRLF message whose RFC822.SIZE is its length.
func Message(subject string, bodyLines int) []byte {
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

// Slog sends a package's logs to the test's log.
func Slog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(TestWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestWriter writes to the test's log, a line per write.
type TestWriter struct{ T testing.TB }

func (w TestWriter) Write(p []byte) (int, error) {
	w.T.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// AppendTo appends raw to folder (made if missing), returning an error
// rather than failing the test: for goroutines other than the test's (the
// SMTP sink filing its sent copies).
func (d *Dovecot) AppendTo(folder string, raw []byte) error {
	c, err := d.Dial()
	if err != nil {
		return err
	}
	defer c.Close()
	var ie *imap.Error
	if err := c.Create(folder, nil).Wait(); err != nil && !(errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists) {
		return fmt.Errorf("create %s: %w", folder, err)
	}
	return AppendMessage(c, folder, raw)
}
