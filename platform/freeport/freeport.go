// Package freeport hands out loopback addresses for a process that is about
// to be started and will listen on them: the development Postgres, and the
// app processes of the tests and the bench.
//
// Asking the kernel (listen on port 0, close, pass the port on) is not safe
// for that: the kernel picks from its ephemeral range, the same range it
// takes the local ports of outgoing connections from, so in the seconds
// before the child binds, any connection made on the machine may take the
// port and the child fails with "address already in use" (it did, in CI).
// The ports handed out here lie just below the ephemeral range, where the
// kernel never picks, and each is reserved among cooperating processes by
// an exclusive lock on a file named after it, held until Release. A bind
// check skips ports that something else already listens on.
//
// Written here rather than taken from a library: the known ones ask the
// kernel for port 0 or keep a reservation only within one process.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// span is how many ports below the ephemeral range are used.
const span = 12000

// Port is a reserved loopback port.
type Port struct {
	Number int
	lock   *os.File
}

// Addr is the port as a host:port address on 127.0.0.1.
func (p *Port) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Number))
}

// Release gives the port back. Call it once the process meant to use it has
// bound it, or has ended.
func (p *Port) Release() {
	if p.lock != nil {
		_ = p.lock.Close() // closing the file drops its lock
		p.lock = nil
	}
}

// Reserve finds a port nothing listens on and no other cooperating process
// holds, and reserves it until Release.
func Reserve() (*Port, error) {
	lo, hi := window()
	dir := filepath.Join(os.TempDir(), "freeport")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, fmt.Errorf("freeport: %w", err)
	}
	for range 200 {
		n := lo + rand.IntN(hi-lo)
		lock, err := tryLock(filepath.Join(dir, strconv.Itoa(n)))
		if err != nil {
			return nil, err
		}
		if lock == nil {
			continue // another process holds it
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(n)))
		if err != nil {
			_ = lock.Close() // something listens there
			continue
		}
		_ = ln.Close()
		return &Port{Number: n, lock: lock}, nil
	}
	return nil, errors.New("freeport: no free port found below the ephemeral range")
}

// TB is the part of testing.TB that Addr uses; the package does not import
// testing, because the development Postgres of the binary uses it too.
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
}

// Addr reserves a port for the rest of the test and returns its address.
func Addr(tb TB) string {
	tb.Helper()
	p, err := Reserve()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Release)
	return p.Addr()
}

// window is the range ports are drawn from: the span just below the
// kernel's ephemeral range, never below 10000.
func window() (lo, hi int) {
	hi = 32768 // Linux's default start of the ephemeral range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 10000+1000 {
				hi = n
			}
		}
	}
	return max(hi-span, 10000), hi
}

// tryLock opens path and takes an exclusive lock on it without waiting. It
// returns nil, nil when another process holds the lock. The file is never
// removed: removing a lock file lets two processes lock two different files
// of one name.
func tryLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("freeport: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("freeport: lock %s: %w", path, err)
	}
	return f, nil
}
