package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"go.uber.org/zap"

	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/rpc"
)

// Outbox is the answer of GET /api/v1/admin/outbox.
type Outbox struct {
	Modules []OutboxModule `json:"modules"` // every module, in start order
}

// OutboxModule is what waits in one module's outbox. Unrelayed and
// OldestAgeSeconds are null when its process did not answer (Error says why).
type OutboxModule struct {
	Module           string   `json:"module"`
	Process          string   `json:"process"` // "local" or the base URL of the process that answered for it
	Unrelayed        *int64   `json:"unrelayed"`
	OldestAgeSeconds *float64 `json:"oldest_age_seconds"` // 0 when nothing waits
	Error            string   `json:"error,omitempty"`
}

func (s *Service) getLocalOutbox(w http.ResponseWriter, r *http.Request) error {
	o, err := s.localOutbox(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, o)
	return nil
}

func (s *Service) localOutbox(ctx context.Context) (Outbox, error) {
	ctx, cancel := localCtx(ctx)
	defer cancel()
	out := Outbox{Modules: []OutboxModule{}}
	for _, db := range s.dbs.Opened() {
		m := OutboxModule{Module: db.Module, Process: "local", Unrelayed: new(int64), OldestAgeSeconds: new(float64)}
		err := db.Pool.QueryRow(ctx, `SELECT count(*),
			coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 FROM outbox`).Scan(m.Unrelayed, m.OldestAgeSeconds)
		if err != nil {
			m.Unrelayed, m.OldestAgeSeconds, m.Error = nil, nil, "its database did not answer"
			s.log.Warn("cannot read the outbox", zap.String("module", db.Module), zap.Error(err))
		}
		out.Modules = append(out.Modules, m)
	}
	return out, nil
}

func (s *Service) getOutbox(w http.ResponseWriter, r *http.Request) error {
	local, err := s.localOutbox(r.Context())
	if err != nil {
		return err
	}
	parts := map[string]OutboxModule{}
	for _, m := range local.Modules {
		parts[m.Module] = m
	}
	for _, a := range rpc.Gather[Outbox](r.Context(), s.remotes, "/admin/outbox", gatherTimeout) {
		for _, name := range a.Process.Modules {
			m := OutboxModule{Module: name, Process: a.Process.Base()}
			if a.Err != nil {
				m.Error = a.Err.Error()
			}
			parts[name] = m
		}
		if a.Err != nil {
			continue
		}
		for _, m := range a.Value.Modules {
			if slices.Contains(a.Process.Modules, m.Module) {
				m.Process = a.Process.Base()
				parts[m.Module] = m
			}
		}
	}
	out := Outbox{Modules: []OutboxModule{}}
	for _, name := range surfaces.Names() {
		m, ok := parts[name]
		if !ok {
			m = OutboxModule{Module: name, Error: "no process answered for it"}
		}
		out.Modules = append(out.Modules, m)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// DeadLetter is a dead letter of the system, with the process holding it.
type DeadLetter struct {
	bus.DeadLetter
	Process string `json:"process"` // "local" or the base URL of the process holding it
}

// DeadLetters is the answer of GET /api/v1/admin/dead-letters.
type DeadLetters struct {
	Items      []DeadLetter `json:"items"` // newest first
	NextCursor *string      `json:"next_cursor"`
	// Unavailable names the modules whose process did not answer: their
	// dead letters are missing from Items.
	Unavailable []string `json:"unavailable"`
}

func (s *Service) getLocalDeadLetters(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpx.QueryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	list, err := s.localDeadLetters(r.Context(), limit)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, DeadLetters{Items: list, Unavailable: []string{}})
	return nil
}

func (s *Service) localDeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	ctx, cancel := localCtx(ctx)
	defer cancel()
	list, err := s.bus.DeadLetters(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, 0, len(list))
	for _, d := range list {
		out = append(out, DeadLetter{DeadLetter: d, Process: "local"})
	}
	return out, nil
}

func (s *Service) getDeadLetters(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpx.QueryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	all, err := s.localDeadLetters(r.Context(), limit)
	if err != nil {
		return err
	}
	answers := rpc.Gather[DeadLetters](r.Context(), s.remotes, "/admin/dead-letters?limit="+strconv.Itoa(limit), gatherTimeout)
	for _, a := range answers {
		for _, d := range a.Value.Items {
			d.Process = a.Process.Base()
			all = append(all, d)
		}
	}
	slices.SortStableFunc(all, func(a, b DeadLetter) int { return b.FailedAt.Compare(a.FailedAt) })
	if len(all) > limit {
		all = all[:limit]
	}
	httpx.WriteJSON(w, http.StatusOK, DeadLetters{Items: all, Unavailable: nonNil(rpc.Failed(answers))})
	return nil
}

// ErrReplayUnreachable means the dead letter to replay is not held by the process answering, and
// some process that may hold it did not answer. Nothing was replayed; retry when every process of
// the deployment is up (the architecture view shows which is down).
var ErrReplayUnreachable = apperr.New(apperr.KindUnavailable, "admin.replay_unreachable",
	"the dead letter was not found, and a process that may hold it did not answer; retry later")

func (s *Service) postLocalReplay(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.UUIDParam(r, "id")
	if err != nil {
		return err
	}
	if err := s.bus.Replay(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// postReplay replays a dead letter in the process holding it: this one, or
// the one of the remote processes that does not answer not-found.
func (s *Service) postReplay(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.UUIDParam(r, "id")
	if err != nil {
		return err
	}
	err = s.bus.Replay(r.Context(), id)
	if errors.Is(err, bus.ErrDeadLetterNotFound) {
		err = s.replayRemote(r.Context(), id.String())
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// replayRemote asks every remote process to replay id (a dead letter is
// held by one process only) and returns the answer of the one holding it.
func (s *Service) replayRemote(ctx context.Context, id string) error {
	procs := s.remotes.Processes()
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() {
			// A replay runs a handler: give it longer than a view.
			actx, cancel := context.WithTimeout(ctx, 3*gatherTimeout)
			defer cancel()
			errs[i] = s.remotes.Ask(actx, p, http.MethodPost, "/admin/dead-letters/"+id+"/replay", nil, nil)
		})
	}
	wg.Wait()
	unreachable := false
	for _, err := range errs {
		var answer *apperr.Error
		switch {
		case err == nil:
			return nil
		case errors.Is(err, bus.ErrDeadLetterNotFound):
		case !errors.As(err, &answer) || answer.Kind == apperr.KindInternal:
			unreachable = true // no answer, or a broken one
		default:
			return err // the holder's own answer: the handler failed again, say
		}
	}
	if unreachable {
		return ErrReplayUnreachable
	}
	return bus.ErrDeadLetterNotFound
}
