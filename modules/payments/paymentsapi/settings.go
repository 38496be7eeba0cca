package paymentsapi

import (
	"time"

	"github.com/modmono/shop/platform/config"
)

// Timeout reads APP_PAYMENT_TIMEOUT: how long a charge may take, default 5s.
// Payments limits each provider call to it and ordering's checkout waits
// that long for a charge, so both read it, each where it runs.
func Timeout(r *config.Reader) time.Duration {
	d := r.Duration("APP_PAYMENT_TIMEOUT", 5*time.Second)
	if d <= 0 {
		r.Invalid("APP_PAYMENT_TIMEOUT must be positive")
		return 5 * time.Second
	}
	return d
}
