package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Redis is a Store shared by every instance given the same Redis: one budget
// per rule and key for the whole deployment.
type Redis struct {
	limiter *redis_rate.Limiter
	prefix  string
}

// NewRedis counts in client under keys "rate:<prefix><rule>:<key>"
// (redis_rate adds "rate:"). Deployments sharing a Redis keep apart with
// their own prefix or database (the /N of the URL).
func NewRedis(client *redis.Client, prefix string) *Redis {
	return &Redis{limiter: redis_rate.NewLimiter(client), prefix: prefix}
}

// Allow implements Store.
func (s *Redis) Allow(ctx context.Context, rule Rule, key string) (Decision, error) {
	rule = rule.normalized()
	res, err := s.limiter.Allow(ctx, s.prefix+rule.Name+":"+key,
		redis_rate.Limit{Rate: rule.Limit, Burst: rule.Limit, Period: rule.Window})
	if err != nil {
		return Decision{}, fmt.Errorf("redis rate limit: %w", err)
	}
	return Decision{
		Allowed:    res.Allowed > 0,
		Remaining:  res.Remaining,
		RetryAfter: max(res.RetryAfter, 0),
		ResetAfter: max(res.ResetAfter, 0),
	}, nil
}

// Dial returns a client of the Redis at url (redis://[:password@]host:port/db
// or rediss://) whose every network wait is bounded by timeout and which
// does not retry: a limiter would rather count in memory than wait. It
// connects lazily, so a Redis that is down does not stop the process from
// starting.
func Dial(url string, timeout time.Duration) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("APP_REDIS_URL: %w", err)
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout, opts.PoolTimeout = timeout, timeout, timeout, timeout
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1
	opts.DialerRetries = 1 // 0 would mean go-redis's 5, with 100 ms between them
	// Maintenance notifications are for managed clusters; probing for them
	// on every connection adds a round trip and log lines for nothing here.
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return redis.NewClient(opts), nil
}
