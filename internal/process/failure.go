package process

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/dig"

	"github.com/modmono/shop/platform/config"
)

// failure is an error that stopped the process, told in one line: what
// failed, the setting involved and what to do. The error it explains, with
// fx's whole dependency chain, stays behind Unwrap and goes to the log at
// debug level only: a person starting the shop needs the cause, not the
// graph.
type failure struct {
	line string
	err  error
}

func (f *failure) Error() string { return f.line }
func (f *failure) Unwrap() error { return f.err }

// explain returns err as a failure. It recognises the usual reasons a start
// fails (Postgres or RabbitMQ not reachable or refusing, an address in use)
// and otherwise keeps the innermost cause, on one line.
func explain(err error, cfg config.Config) error {
	if err == nil {
		return nil
	}
	var f *failure
	if errors.As(err, &f) {
		return err
	}
	return &failure{line: oneLine(describe(err, cfg)), err: err}
}

func describe(err error, cfg config.Config) string {
	cause := dig.RootCause(err)

	var op *net.OpError
	if errors.As(cause, &op) && op.Op == "listen" {
		addr, variable := "", "APP_HTTP_ADDR"
		if op.Addr != nil {
			addr = op.Addr.String()
		}
		if cfg.DebugAddr != "" && sameAddr(cfg.DebugAddr, addr) {
			variable = "APP_DEBUG_ADDR"
		}
		return fmt.Sprintf("cannot listen on %s (%s): %s; stop the program that uses it, or set %s to another address such as %s",
			addr, variable, reason(op.Err), variable, nextPort(addr))
	}

	var ce *pgconn.ConnectError
	if errors.As(cause, &ce) && ce.Config != nil {
		addr := net.JoinHostPort(ce.Config.Host, fmt.Sprint(ce.Config.Port))
		variable := databaseVariable(cfg, ce.Config.Host, ce.Config.Port)
		var pgErr *pgconn.PgError
		if errors.As(cause, &pgErr) {
			switch pgErr.Code {
			case "28P01", "28000": // invalid_password, invalid_authorization_specification
				return fmt.Sprintf("Postgres at %s (%s) refused the login of user %q: %s; fix the user or password in %s",
					addr, variable, ce.Config.User, pgErr.Message, variable)
			case "3D000": // invalid_catalog_name
				return fmt.Sprintf("Postgres at %s (%s) has no database %q; create it (createdb %s) or name another one in %s",
					addr, variable, ce.Config.Database, ce.Config.Database, variable)
			}
			return fmt.Sprintf("Postgres at %s (%s) refused the connection: %s (SQLSTATE %s); check %s",
				addr, variable, pgErr.Message, pgErr.Code, variable)
		}
		return fmt.Sprintf("cannot reach Postgres at %s (%s): %s; start it (make services) or set %s",
			addr, variable, reason(cause), variable)
	}

	if strings.Contains(cause.Error(), "connect to RabbitMQ") {
		return fmt.Sprintf("cannot reach RabbitMQ at %s (AMQP_URL): %s; start it (make services) or set AMQP_URL, "+
			"or run every module in one process with APP_BUS=gochannel", hostOf(cfg.AMQPURL), reason(cause))
	}
	return cause.Error()
}

// reason names what went wrong on the network in a few words.
func reason(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EADDRINUSE):
		return "address already in use"
	case errors.Is(err, syscall.EACCES):
		return "permission denied"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to the host"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "no answer in time"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "unknown host " + dns.Name
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// databaseVariable names the setting that points at host:port: a module's
// own <MODULE>_DATABASE_URL, or DATABASE_URL (also for the development
// Postgres, which DATABASE_URL replaces).
func databaseVariable(cfg config.Config, host string, port uint16) string {
	for module, u := range cfg.ModuleDBURLs {
		if c, err := pgconn.ParseConfig(u); err == nil && c.Host == host && c.Port == port {
			return strings.ToUpper(module) + "_DATABASE_URL"
		}
	}
	return "DATABASE_URL"
}

// hostOf returns the host:port of a URL, leaving out its credentials.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the configured address"
	}
	return u.Host
}

// nextPort returns addr with the port after its own, as an example of
// another address to listen on.
func nextPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	n, err2 := strconv.Atoi(port)
	if err != nil || err2 != nil || n >= 65535 {
		return "127.0.0.1:8081"
	}
	if host == "::" || host == "0.0.0.0" {
		host = ""
	}
	return net.JoinHostPort(host, strconv.Itoa(n+1))
}

// sameAddr reports whether a configured listen address (":6060") is the
// one a listener failed on ("[::]:6060" or "127.0.0.1:6060").
func sameAddr(configured, failed string) bool {
	_, cport, err1 := net.SplitHostPort(configured)
	_, fport, err2 := net.SplitHostPort(failed)
	return err1 == nil && err2 == nil && cport == fport
}

// oneLine joins the lines of s with "; ", so a failure is one line.
func oneLine(s string) string {
	var parts []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, strings.TrimSuffix(l, ":"))
		}
	}
	return strings.Join(parts, "; ")
}
