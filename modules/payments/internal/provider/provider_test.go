package provider_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modmono/shop/modules/payments/internal/domain"
	"github.com/modmono/shop/modules/payments/internal/provider"
	"github.com/modmono/shop/modules/payments/paymentsapi"
)

var eur = domain.Money{Amount: 100, Currency: "EUR"}

func TestFakeTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := provider.NewFake(10 * time.Millisecond)
	for token, declined := range map[string]string{
		paymentsapi.TokenOK:      "",
		paymentsapi.TokenSlow:    "",
		paymentsapi.TokenDecline: domain.DeclinedCard,
		"tok_nonsense":           domain.DeclinedInvalidToken,
		"":                       domain.DeclinedInvalidToken,
	} {
		out, err := f.Authorize(ctx, uuid.New(), token, eur)
		if err != nil || out.Declined != declined || (declined == "") != (out.Ref != "") {
			t.Errorf("%q: %+v, %v", token, out, err)
		}
	}
}

func TestFakeIsIdempotentPerKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := provider.NewFake(time.Second)
	key := uuid.New()
	a1, _ := f.Authorize(ctx, key, paymentsapi.TokenOK, eur)
	a2, _ := f.Authorize(ctx, key, paymentsapi.TokenOK, eur)
	c1, _ := f.Capture(ctx, key, eur)
	c2, _ := f.Capture(ctx, key, eur)
	r1, _ := f.Refund(ctx, key, eur)
	r2, _ := f.Refund(ctx, key, eur)
	if a1 != a2 || c1 != c2 || r1 != r2 || a1.Ref == "" || c1.Ref == "" || r1.Ref == "" {
		t.Fatalf("answers differ: %+v %+v, %+v %+v, %+v %+v", a1, a2, c1, c2, r1, r2)
	}
	if f.Captures(key) != 1 || f.Refunds(key) != 1 {
		t.Fatalf("%d captures, %d refunds", f.Captures(key), f.Refunds(key))
	}
	if out, _ := f.Void(ctx, key); out.Declined != domain.DeclinedCaptured {
		t.Fatalf("void after capture: %+v", out)
	}
}

func TestFakeVoidIsSticky(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := provider.NewFake(time.Second)
	key := uuid.New()
	if out, err := f.Void(ctx, key); err != nil || out.Declined != "" {
		t.Fatalf("void: %+v, %v", out, err)
	}
	if out, _ := f.Authorize(ctx, key, paymentsapi.TokenOK, eur); out.Declined != domain.DeclinedVoided {
		t.Fatalf("authorize after void: %+v", out)
	}
	if out, _ := f.Capture(ctx, key, eur); out.Declined != domain.DeclinedVoided {
		t.Fatalf("capture after void: %+v", out)
	}
	if f.Captures(key) != 0 {
		t.Fatal("captured a voided key")
	}
}

func TestFakeSlowRespectsItsContext(t *testing.T) {
	t.Parallel()
	f := provider.NewFake(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := f.Authorize(ctx, uuid.New(), paymentsapi.TokenSlow, eur); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

func TestGuardNeedsATimeoutAndRegistersOnce(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if _, err := provider.NewGuard(provider.NewFake(time.Second), provider.GuardConfig{}, reg, nil); err == nil {
		t.Fatal("a guard without a timeout was built")
	}
	if _, err := provider.NewGuard(provider.NewFake(time.Second), provider.GuardConfig{Timeout: time.Second}, reg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.NewGuard(provider.NewFake(time.Second), provider.GuardConfig{Timeout: time.Second}, reg, nil); err == nil {
		t.Fatal("a second gauge on the same registry was accepted")
	}
}

func TestGuardTimesOut(t *testing.T) {
	t.Parallel()
	g, err := provider.NewGuard(provider.NewFake(time.Hour), provider.GuardConfig{Timeout: 50 * time.Millisecond}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.Authorize(context.Background(), uuid.New(), paymentsapi.TokenSlow, eur)
	if !errors.Is(err, paymentsapi.ErrProviderTimeout) {
		t.Fatalf("got %v", err)
	}
	// A decline is an answer, not a failure.
	out, err := g.Authorize(context.Background(), uuid.New(), paymentsapi.TokenDecline, eur)
	if err != nil || out.Declined != domain.DeclinedCard {
		t.Fatalf("decline: %+v, %v", out, err)
	}
}

// The fake remembers a bounded number of keys, the oldest forgotten first,
// so a long-running development process does not grow without limit. A
// forgotten key behaves as a remembered one would for capture and refund.
func TestFakeRemembersABoundedNumberOfKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := provider.NewFake(time.Second)
	f.SetMaxKeys(100)
	first := uuid.New()
	if _, err := f.Capture(ctx, first, eur); err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		if _, err := f.Authorize(ctx, uuid.New(), paymentsapi.TokenOK, eur); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.Keys(); n > 100 {
		t.Fatalf("the fake remembers %d keys, over its limit of 100", n)
	}
	if f.Captures(first) != 0 {
		t.Fatal("the oldest key was not forgotten")
	}
	if out, err := f.Refund(ctx, first, eur); err != nil || out.Ref == "" {
		t.Fatalf("refund of a forgotten key: %+v, %v", out, err)
	}
}
