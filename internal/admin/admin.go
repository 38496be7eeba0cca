// Package admin serves the admin API (/api/v1/admin/*, SPEC §9) for the
// whole system from whichever process answers: the architecture, the live
// event stream, the outbox backlog, the dead letters and the recent
// traces of every module, wherever it runs.
//
// Every process serves its own part of each view on its /internal router
// (/internal/admin/..., service tokens only); the answering process adds
// its own part to those of the other processes it knows through
// APP_REMOTE_* (rpc.Gather: all at once, each within a timeout). A process
// that does not answer marks its modules down or unknown in the view
// rather than failing it. The event stream needs no gathering: the
// process's event hub (bus.Hub) taps the broker, where every process
// publishes. An order's saga is ordering's own route (it is forwarded to
// ordering wherever it runs).
//
// See docs/admin-api.md for the shapes.
package admin

import (
	"context"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/config"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/rpc"
	"github.com/modmono/shop/platform/telemetry"
)

// Module gives a process the admin API and the event hub (*bus.Hub, which
// other parts of the process may watch too). Give it after host.Run, so the
// hub stops before the bus.
var Module = fx.Options(
	fx.Provide(NewHub, newService),
	fx.Invoke(func(lc fx.Lifecycle, hub *bus.Hub) {
		lc.Append(fx.StopHook(hub.Close))
	}),
	fx.Invoke(mount),
)

// NewHub returns the process's event hub over every event type of the system.
func NewHub(b *bus.Bus, log *zap.Logger) *bus.Hub {
	return bus.NewHub(b.Transport(), EventTypes(), bus.HubOptions{}, log)
}

// EventTypes returns every event type any module publishes.
func EventTypes() []string {
	var types []string
	for _, s := range surfaces.All {
		types = append(types, s.Publishes()...)
	}
	return types
}

// gatherTimeout bounds the wait for one other process's part of a view.
const gatherTimeout = 3 * time.Second

// localTimeout bounds a query of this process's own databases for a view.
const localTimeout = 3 * time.Second

// Service builds the admin views.
type Service struct {
	cfg     config.Config
	bus     *bus.Bus
	hub     *bus.Hub
	dbs     *host.Databases
	remotes *rpc.Remotes
	traces  *telemetry.Recorder
	log     *zap.Logger

	stopping  <-chan struct{} // closed when the server shuts down
	heartbeat time.Duration   // of the event stream
}

func newService(cfg config.Config, b *bus.Bus, hub *bus.Hub, dbs *host.Databases, remotes *rpc.Remotes, traces *telemetry.Recorder, h *host.HTTP, log *zap.Logger) *Service {
	return &Service{cfg: cfg, bus: b, hub: hub, dbs: dbs, remotes: remotes, traces: traces, log: log.Named("admin"),
		stopping: h.Stopping(), heartbeat: 15 * time.Second}
}

func mount(h *host.HTTP, s *Service, guard *auth.Guard) {
	admins := h.API.With(guard.Require(auth.Admin))
	admins.Get("/admin/architecture", s.handle(s.getArchitecture))
	admins.Get("/admin/outbox", s.handle(s.getOutbox))
	admins.Get("/admin/dead-letters", s.handle(s.getDeadLetters))
	admins.Post("/admin/dead-letters/{id}/replay", s.handle(s.postReplay))
	admins.Get("/admin/events", s.handle(s.getEvents))
	admins.Get("/admin/traces", s.handle(s.getTraces))
	admins.Get("/admin/traces/{trace_id}", s.handle(s.getTrace))

	// This process's own parts, for the process that gathers them.
	h.Internal.Get("/admin/architecture", s.handle(s.getLocalArchitecture))
	h.Internal.Get("/admin/outbox", s.handle(s.getLocalOutbox))
	h.Internal.Get("/admin/dead-letters", s.handle(s.getLocalDeadLetters))
	h.Internal.Post("/admin/dead-letters/{id}/replay", s.handle(s.postLocalReplay))
	h.Internal.Get("/admin/traces", s.handle(s.getLocalTraces))
	h.Internal.Get("/admin/traces/{trace_id}", s.handle(s.getLocalTrace))
}

// localCtx bounds the work on this process's databases for one view.
func localCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, localTimeout)
}
