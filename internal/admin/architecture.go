package admin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/modkit"
	"github.com/modmono/shop/platform/pgxdb"
	"github.com/modmono/shop/platform/rpc"
)

// Health of a module.
const (
	Up       = "up"       // its database answers (and, remote, every instance is up and its breaker closed)
	Degraded = "degraded" // it works, partly: an instance down, a breaker not closed, or its broker unreachable
	Down     = "down"     // its database does not answer, or its process does not
)

// Architecture is the answer of GET /api/v1/admin/architecture.
type Architecture struct {
	Modules []ModuleInfo `json:"modules"` // every module, in start order
	Bus     string       `json:"bus"`     // the answering process's transport: gochannel or amqp
}

// ModuleInfo is one module as the answering process sees it.
type ModuleInfo struct {
	Name      string         `json:"name"`
	Summary   string         `json:"summary"`
	Local     bool           `json:"local"`     // the answering process runs it
	Process   string         `json:"process"`   // "local", or the base URL of the instance answering for it
	Instances []rpc.Instance `json:"instances"` // a remote's instances (APP_REMOTE_<MODULE>) and their health checks; [] when local
	Breaker   string         `json:"breaker,omitempty"`
	Schema    string         `json:"schema"`
	Database  string         `json:"database"` // host:port/dbname of its schema, without credentials; "" when its process did not say
	Calls     []string       `json:"calls"`
	CalledBy  []string       `json:"called_by"`
	Publishes []string       `json:"publishes"`
	Consumes  []string       `json:"consumes"`
	Health    string         `json:"health"`
	Error     string         `json:"error,omitempty"` // why its process's own answer is missing
}

// localModule is a process's own part of the architecture: what only the
// process running a module knows.
type localModule struct {
	Name     string `json:"name"`
	Database string `json:"database"`
	Health   string `json:"health"`
}

type localArchitecture struct {
	Modules []localModule `json:"modules"`
}

func (s *Service) getLocalArchitecture(w http.ResponseWriter, r *http.Request) error {
	httpx.WriteJSON(w, http.StatusOK, s.localArchitecture(r.Context()))
	return nil
}

func (s *Service) localArchitecture(ctx context.Context) localArchitecture {
	ctx, cancel := localCtx(ctx)
	defer cancel()
	busOK := s.bus.Ping(ctx) == nil
	out := localArchitecture{Modules: []localModule{}}
	for _, db := range s.dbs.Opened() {
		m := localModule{Name: db.Module, Database: Where(db), Health: Up}
		switch {
		case db.Ping(ctx) != nil:
			m.Health = Down
		case !busOK:
			m.Health = Degraded // its outbox absorbs the outage: SPEC §10
		}
		out.Modules = append(out.Modules, m)
	}
	return out
}

// Where names a module database as host:port/dbname, leaving the role and
// password out.
func Where(db *pgxdb.DB) string {
	c := db.Pool.Config().ConnConfig
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))) + "/" + c.Database
}

func (s *Service) getArchitecture(w http.ResponseWriter, r *http.Request) error {
	httpx.WriteJSON(w, http.StatusOK, s.Architecture(r.Context()))
	return nil
}

// Architecture gathers the architecture of the whole system.
func (s *Service) Architecture(ctx context.Context) Architecture {
	parts := map[string]localModule{}
	for _, m := range s.localArchitecture(ctx).Modules {
		parts[m.Name] = m
	}
	failed := map[string]error{}
	base := map[string]string{}
	for _, a := range rpc.Gather[localArchitecture](ctx, s.remotes, "/admin/architecture", gatherTimeout) {
		for _, name := range a.Process.Modules {
			base[name] = a.Process.Base()
			if a.Err != nil {
				failed[name] = a.Err
			}
		}
		for _, m := range a.Value.Modules {
			if _, mine := parts[m.Name]; !mine {
				parts[m.Name] = m
			}
		}
	}

	out := Architecture{Bus: s.cfg.Bus}
	for _, sf := range surfaces.All {
		m := describe(sf)
		part, answered := parts[sf.Name]
		m.Database = part.Database
		if s.cfg.Local(sf.Name) {
			m.Local, m.Process, m.Instances, m.Health = true, "local", []rpc.Instance{}, part.Health
			if !answered {
				m.Health = Down // its database is not open (it failed at start)
			}
			out.Modules = append(out.Modules, m)
			continue
		}
		m.Process, m.Instances = base[sf.Name], s.remotes.Instances(sf.Name)
		if c, err := s.remotes.Client(sf.Name); err == nil {
			m.Breaker = c.BreakerState().String()
		}
		switch err := failed[sf.Name]; {
		case err != nil:
			m.Health, m.Error = Down, err.Error()
		case !answered:
			m.Health, m.Error = Down, fmt.Sprintf("the process at %s does not run %s", m.Process, sf.Name)
		default:
			m.Health = remoteHealth(part.Health, m.Instances, m.Breaker)
		}
		out.Modules = append(out.Modules, m)
	}
	return out
}

// remoteHealth combines a remote module's own health with what this process
// sees of it: its instances' health checks and its breaker.
func remoteHealth(own string, instances []rpc.Instance, breaker string) string {
	if own == Down {
		return Down
	}
	health := own
	for _, in := range instances {
		if !in.Up {
			health = Degraded
		}
	}
	if breaker != "closed" {
		health = Degraded
	}
	return health
}

// describe is what every process knows of a module from its surface.
func describe(s modkit.Surface) ModuleInfo {
	orEmpty := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return ModuleInfo{
		Name: s.Name, Summary: s.Summary, Schema: s.Name,
		Calls:     orEmpty(s.Calls),
		CalledBy:  orEmpty(modkit.CalledBy(surfaces.All, s.Name)),
		Publishes: orEmpty(s.Publishes()),
		Consumes:  orEmpty(s.Consumes()),
	}
}
