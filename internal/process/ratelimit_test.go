package process_test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modmono/shop/internal/apptest"
	"github.com/modmono/shop/platform/host"
)

// redisURL is the Redis the tests share (scripts/services.sh starts it).
const redisURL = "redis://127.0.0.1:6379/0"

// randomClient is a random address of 100.64.0.0/10, so that runs (and
// tests) never share a counter in Redis.
func randomClient() string {
	return fmt.Sprintf("100.%d.%d.%d", 64+rand.IntN(64), rand.IntN(256), 1+rand.IntN(254))
}

// login posts a (bad) login to one instance from peer, with the given
// X-Forwarded-For, and answers the status: the limit counts a request
// before its body is read.
func login(t *testing.T, h *host.HTTP, peer, forwarded string) int {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = peer + ":40000"
	if forwarded != "" {
		r.Header.Set("X-Forwarded-For", forwarded)
	}
	w := httptest.NewRecorder()
	h.Root.ServeHTTP(w, r)
	return w.Code
}

// Two instances given the same Redis count one budget: with two logins a
// minute, the third is refused whichever instance it reaches.
func TestInstancesShareOneRateLimitThroughRedis(t *testing.T) {
	// A loaded test machine can take longer than the 100 ms default to
	// answer; a slow answer would be counted in memory, each instance alone.
	env := map[string]string{"APP_REDIS_URL": redisURL, "APP_REDIS_TIMEOUT": "10s", "APP_RATE_LIMIT_LOGIN": "2"}
	var a, b *host.HTTP
	apptest.Start(t, env, &a)
	apptest.Start(t, env, &b)
	client := randomClient()
	for i, h := range []*host.HTTP{a, b} {
		if code := login(t, h, client, ""); code == http.StatusTooManyRequests {
			t.Fatalf("login %d refused within the budget", i+1)
		}
	}
	if code := login(t, a, client, ""); code != http.StatusTooManyRequests {
		t.Fatalf("third login across two instances: %d, want 429 (each instance counts alone)", code)
	}
	if code := login(t, b, client, ""); code != http.StatusTooManyRequests {
		t.Fatalf("fourth login across two instances: %d, want 429", code)
	}
}

// With Redis unreachable the application starts and answers: each instance
// counts its limits in its own memory (fail open, to local limits).
func TestRateLimitsFailOpenWhenRedisIsUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nothing := ln.Addr().String()
	ln.Close()
	var h *host.HTTP
	apptest.Start(t, map[string]string{"APP_REDIS_URL": "redis://" + nothing + "/0", "APP_RATE_LIMIT_LOGIN": "2"}, &h)
	client := randomClient()
	for i := range 2 {
		if code := login(t, h, client, ""); code != http.StatusBadRequest {
			t.Fatalf("login %d with Redis down: %d, want the handler's 400", i+1, code)
		}
	}
	if code := login(t, h, client, ""); code != http.StatusTooManyRequests {
		t.Fatalf("third login with Redis down: %d, want 429 from the process's own counters", code)
	}
}

// Behind a trusted proxy every client has its own budget (the address the
// proxy saw); a client that is not a trusted proxy cannot pick its budget by
// writing X-Forwarded-For itself.
func TestRateLimitKeysTheClientBehindATrustedProxy(t *testing.T) {
	var h *host.HTTP
	apptest.Start(t, map[string]string{"APP_TRUSTED_PROXIES": "127.0.0.0/8, 10.0.0.0/8", "APP_RATE_LIMIT_LOGIN": "1"}, &h)
	const proxy = "10.9.8.7"
	first, second := randomClient(), randomClient()
	if code := login(t, h, proxy, first); code == http.StatusTooManyRequests {
		t.Fatalf("first client refused: %d", code)
	}
	if code := login(t, h, proxy, "203.0.113.50, "+second+", 127.0.0.1"); code == http.StatusTooManyRequests {
		t.Fatal("a second client behind the same proxy shares the first one's budget")
	}
	if code := login(t, h, proxy, first); code != http.StatusTooManyRequests {
		t.Fatalf("first client again: %d, want 429", code)
	}

	// An untrusted peer writing a new X-Forwarded-For each time is still
	// counted by its own address.
	peer := randomClient()
	if code := login(t, h, peer, randomClient()); code == http.StatusTooManyRequests {
		t.Fatal("untrusted peer refused at once")
	}
	if code := login(t, h, peer, randomClient()); code != http.StatusTooManyRequests {
		t.Fatalf("a spoofed X-Forwarded-For from an untrusted peer opened a new budget: %d", code)
	}
}
