package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Footprint targets of issue 11.
const (
	rssTarget   = 60 << 20 // bytes
	startTarget = time.Second
)

// footprintBench measures cmd/app (the monolith, every module, gochannel):
//
//   - start: exec -> the first 200 of /health/ready (polled every 5 ms),
//     against the bench's Postgres already running with the schema already
//     migrated by an untimed first start: "without the database" leaves
//     out starting a Postgres (the development one of make run takes
//     seconds) and creating the schema, which happen once, not per start;
//   - idle RSS: VmRSS of /proc/<pid>/status after that start and 2 s with
//     no request (no login either: a login hashes a password with argon2id);
//   - for information, exec -> exit with Postgres unreachable (DATABASE_URL
//     naming a closed port), and the line the process prints.
func footprintBench(c checkoutConfig) error {
	warm, err := startApp(c.bin, c.dsn, c.dir, 1)
	if err != nil {
		return fmt.Errorf("first start (migrations): %w", err)
	}
	warm.stop()

	addr, err := freeAddr()
	if err != nil {
		return err
	}
	begin := time.Now()
	a, err := launchApp("footprint", c.bin, addr, c.dsn, c.dir, 1, "APP_BUS=gochannel")
	if err != nil {
		return err
	}
	defer a.stop()
	if err := a.readyEvery(5 * time.Millisecond); err != nil {
		return err
	}
	start := time.Since(begin)
	time.Sleep(2 * time.Second)
	m, err := memory(a.cmd.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("start: exec -> /health/ready 200, Postgres up and migrated  %8.0f ms       target < %s\n",
		float64(start)/float64(time.Millisecond), short(startTarget))
	fmt.Printf("idle RSS: after the start and 2 s idle         %8.1f MB       target < %d MB  (anonymous %.1f MB, file-backed %.1f MB, peak %.1f MB)\n",
		mb(m.rss), rssTarget>>20, mb(m.anon), mb(m.file), mb(m.peak))
	recordBelow("start without the database (exec -> ready)", fmt.Sprintf("%.0f ms", float64(start)/float64(time.Millisecond)),
		start, startTarget, false)
	summary = append(summary, target{figure: "idle RSS of cmd/app", value: fmt.Sprintf("%.1f MB", mb(m.rss)),
		goal: fmt.Sprintf("< %d MB", rssTarget>>20), met: m.rss < rssTarget})

	took, line, err := startWithoutPostgres(c)
	if err != nil {
		return err
	}
	fmt.Printf("start with Postgres unreachable: exits after %8.0f ms: %s\n\n", float64(took)/float64(time.Millisecond), line)
	return nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// rss is a process's resident memory, in bytes, from /proc/<pid>/status.
type rss struct {
	rss, anon, file, peak int64 // VmRSS, RssAnon, RssFile, VmHWM
}

// memory reads the resident memory of pid.
func memory(pid int) (rss, error) {
	var m rss
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	fields := map[string]*int64{"VmRSS:": &m.rss, "RssAnon:": &m.anon, "RssFile:": &m.file, "VmHWM:": &m.peak}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[2] != "kB" || fields[f[0]] == nil {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return m, err
		}
		*fields[f[0]] = kb << 10
	}
	if m.rss == 0 {
		return m, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return m, nil
}

// startWithoutPostgres runs cmd/app with DATABASE_URL naming a port nothing
// listens on and returns how long it took to exit and its last line.
func startWithoutPostgres(c checkoutConfig) (time.Duration, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return 0, "", err
	}
	closed, err := freeAddr()
	if err != nil {
		return 0, "", err
	}
	_, port, _ := net.SplitHostPort(closed)
	begin := time.Now()
	a, err := launchApp("no-postgres", c.bin, addr, "postgres://postgres@127.0.0.1:"+port+"/shop?sslmode=disable", c.dir, 1, "APP_BUS=gochannel")
	if err != nil {
		return 0, "", err
	}
	select {
	case <-a.done:
	case <-time.After(time.Minute):
		a.stop()
		return 0, "", fmt.Errorf("cmd/app with Postgres unreachable still running after a minute:\n%s", a.logTail())
	}
	took := time.Since(begin)
	a.stop()
	lines := strings.Split(strings.TrimSpace(a.logTail()), "\n")
	return took, lines[len(lines)-1], nil
}
