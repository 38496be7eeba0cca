package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory is a Store in this process's memory. A key is forgotten once its
// budget is whole again (at most one Window after its last request), which
// loses nothing: an absent key and a whole budget are the same state.
type Memory struct {
	mu        sync.Mutex
	tats      map[memoryKey]time.Time // theoretical arrival time of the next request, by key
	now       func() time.Time
	lastSweep time.Time
}

type memoryKey struct{ rule, key string }

// sweepEvery is how often Allow drops the keys whose budget is whole.
const sweepEvery = time.Minute

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return newMemory(time.Now) }

func newMemory(now func() time.Time) *Memory {
	return &Memory{tats: map[memoryKey]time.Time{}, now: now, lastSweep: now()}
}

// Allow is GCRA, as redis_rate's script computes it (package documentation).
func (m *Memory) Allow(_ context.Context, rule Rule, key string) (Decision, error) {
	rule = rule.normalized()
	interval := rule.Window / time.Duration(rule.Limit)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if now.Sub(m.lastSweep) >= sweepEvery {
		for k, tat := range m.tats {
			if !tat.After(now) {
				delete(m.tats, k)
			}
		}
		m.lastSweep = now
	}
	k := memoryKey{rule.Name, key}
	tat := m.tats[k]
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(interval)
	allowAt := next.Add(-rule.Window)
	if now.Before(allowAt) {
		return Decision{RetryAfter: allowAt.Sub(now), ResetAfter: tat.Sub(now)}, nil
	}
	m.tats[k] = next
	return Decision{Allowed: true, Remaining: int(now.Sub(allowAt) / interval), ResetAfter: next.Sub(now)}, nil
}

// size is the number of keys held, for tests.
func (m *Memory) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tats)
}
