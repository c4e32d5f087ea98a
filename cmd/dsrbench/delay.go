package main

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// delayProxy stands between the IMAP clients (mbsync and dsr) and the
// bench Dovecot and holds every chunk of bytes for half the round trip in
// each direction, as the network to a distant server does (Microsoft
// 365's IMAP is tens of milliseconds away from most NHS servers; the
// bench's loopback is microseconds). Bandwidth is not limited: only
// latency, which is what an exchange of commands pays for. TLS passes
// through it untouched.
type delayProxy struct {
	ln     net.Listener
	target string
	oneWay time.Duration
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
}

// startDelayProxy listens on a loopback port and forwards each connection
// to target with rtt added to every round trip.
func startDelayProxy(target string, rtt time.Duration) (*delayProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &delayProxy{ln: ln, target: target, oneWay: rtt / 2, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the address clients connect to instead of target.
func (p *delayProxy) Addr() string { return p.ln.Addr().String() }

// Close stops listening, cuts the connections still open and waits for
// their goroutines.
func (p *delayProxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *delayProxy) track(c net.Conn, open bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if open {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
}

func (p *delayProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			logf("delay proxy: %v", err)
			c.Close()
			continue
		}
		p.track(c, true)
		p.track(s, true)
		p.wg.Add(1)
		go p.handle(c, s)
	}
}

// handle forwards both ways until both have ended, then closes both.
func (p *delayProxy) handle(c, s net.Conn) {
	defer p.wg.Done()
	up := make(chan struct{})
	go func() { defer close(up); p.pipe(s, c) }()
	p.pipe(c, s)
	<-up
	for _, conn := range []net.Conn{c, s} {
		p.track(conn, false)
		conn.Close()
	}
}

// pipe copies src to dst, each chunk read written oneWay after it was
// read, in order; when src ends, dst's write side is closed after the
// last chunk.
func (p *delayProxy) pipe(dst, src net.Conn) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	q := make(chan chunk, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ch := range q {
			time.Sleep(time.Until(ch.at))
			if _, err := dst.Write(ch.b); err != nil {
				for range q {
				}
				return
			}
		}
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			q <- chunk{append([]byte(nil), buf[:n]...), time.Now().Add(p.oneWay)}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				logf("delay proxy: %v", err)
			}
			break
		}
	}
	close(q)
	<-done
}
