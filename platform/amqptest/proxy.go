package amqptest

import (
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy sits between a test's process and the broker, so a test can fake a
// broker fault seen from that process only: the shared RabbitMQ keeps
// running for everyone else. It relays any TCP server a URL names (a
// database too), which lets a process in a network namespace of a test's
// own reach the servers of the host's 127.0.0.1 (see NewProxyAt).
type Proxy struct {
	URL      string // the broker URL through the proxy (same user and vhost)
	ln       net.Listener
	accepted atomic.Int32
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
	held     bool
	release  chan struct{}
	cut      bool
}

// NewProxy forwards connections to the broker of brokerURL until the test
// ends.
//
// A test that cuts the broker off should Heal it before its process stops
// (t.Cleanup(proxy.Heal) after starting it): Watermill's reconnect loop logs
// one more failure after its connection is closed, and a test logger panics
// when a log comes after the test.
func NewProxy(tb testing.TB, brokerURL string) *Proxy {
	tb.Helper()
	return NewProxyAt(tb, "127.0.0.1:0", brokerURL)
}

// NewProxyAt is NewProxy listening at listen (host:port) and relaying to the
// host and port of targetURL, whatever its scheme; URL is targetURL with its
// host replaced by the proxy's.
func NewProxyAt(tb testing.TB, listen, targetURL string) *Proxy {
	tb.Helper()
	u, err := url.Parse(targetURL)
	if err != nil {
		tb.Fatalf("amqptest: target URL: %v", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		tb.Fatal(err)
	}
	target := u.Host
	u.Host = ln.Addr().String()
	p := &Proxy{URL: u.String(), ln: ln, release: make(chan struct{})}
	tb.Cleanup(func() {
		ln.Close()
		p.Cut()
		p.wg.Wait()
	})
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			broker, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			p.mu.Lock()
			if p.cut {
				p.mu.Unlock()
				client.Close()
				broker.Close()
				continue
			}
			p.accepted.Add(1)
			p.conns = append(p.conns, client, broker)
			p.mu.Unlock()
			p.wg.Go(func() { _, _ = io.Copy(broker, client); broker.Close() })
			p.wg.Go(func() { p.copyReplies(client, broker); client.Close() })
		}
	}()
	return p
}

// Accepted is the number of connections made through the proxy so far.
func (p *Proxy) Accepted() int { return int(p.accepted.Load()) }

// Hold holds back (on) or lets through again (off) everything the broker
// says: requests still reach it, but no answer (a publisher confirm, say)
// comes back, as from a broker under a memory or disk alarm.
func (p *Proxy) Hold(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held && !on {
		close(p.release)
		p.release = make(chan struct{})
	}
	p.held = on
}

// Cut closes every connection and refuses new ones until Heal: the broker
// is gone.
func (p *Proxy) Cut() {
	p.Hold(false)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Heal accepts connections again after Cut: the broker is back.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// copyReplies copies from the broker to the client, waiting while held.
func (p *Proxy) copyReplies(client, broker net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := broker.Read(buf)
		if n > 0 {
			p.mu.Lock()
			held, release := p.held, p.release
			p.mu.Unlock()
			if held {
				<-release
			}
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
