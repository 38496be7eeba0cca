package e2e_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/modmono/shop/platform/auth"
)

type product struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Price       int64  `json:"price"`
	Currency    string `json:"currency"`
}

type stock struct {
	OnHand    int64 `json:"on_hand"`
	Reserved  int64 `json:"reserved"`
	Available int64 `json:"available"`
}

type productPage struct {
	Items      []product `json:"items"`
	NextCursor *string   `json:"next_cursor"`
}

var buses = []string{"gochannel", "amqp"}

func TestCatalogAndInventory(t *testing.T) {
	t.Parallel()
	for _, bus := range buses {
		t.Run(bus, func(t *testing.T) {
			t.Parallel()
			d := newDeployment(t, bus)
			app := d.start(t, nil).as(d.token(t, auth.Admin))

			r := app.do("POST", "/api/v1/products", `{"name":"Green tea","description":"Sencha, 100 g","price":450,"currency":"EUR"}`)
			if r.status != http.StatusCreated {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			var tea product
			r.json(t, &tea)
			if tea.Name != "Green tea" || tea.Price != 450 || tea.Currency != "EUR" || tea.Description != "Sencha, 100 g" {
				t.Fatalf("created %+v", tea)
			}
			if loc := r.header.Get("Location"); loc != "/api/v1/products/"+tea.ID {
				t.Fatalf("Location %q", loc)
			}

			// inventory learns of the product from catalog's event.
			eventually(t, "inventory to consume catalog.product_created", func() bool {
				m := app.do("GET", "/metrics", nil)
				return regexp.MustCompile(`bus_handler_messages_total\{handler="inventory.track_new_product",outcome="ok"\} 1`).Match(m.body)
			})
			var s stock
			app.do("GET", "/api/v1/inventory/"+tea.ID, nil).json(t, &s)
			if s != (stock{}) {
				t.Fatalf("new product's stock %+v", s)
			}
			r = app.do("PUT", "/api/v1/inventory/"+tea.ID, `{"on_hand":12}`)
			if r.status != http.StatusOK {
				t.Fatalf("set stock: %d %s", r.status, r.body)
			}
			app.do("GET", "/api/v1/inventory/"+tea.ID, nil).json(t, &s)
			if s != (stock{OnHand: 12, Available: 12}) {
				t.Fatalf("stock %+v", s)
			}

			// Full replacement: description may be dropped.
			r = app.do("PUT", "/api/v1/products/"+tea.ID, `{"name":"Green tea","price":500,"currency":"EUR"}`)
			if r.status != http.StatusOK {
				t.Fatalf("replace: %d %s", r.status, r.body)
			}
			var got product
			app.do("GET", "/api/v1/products/"+tea.ID, nil).json(t, &got)
			if got.Price != 500 || got.Description != "" {
				t.Fatalf("after replace %+v", got)
			}

			// Pagination walks every product once.
			for i := range 4 {
				if r := app.do("POST", "/api/v1/products", fmt.Sprintf(`{"name":"P%d","price":%d,"currency":"USD"}`, i, 100+i)); r.status != 201 {
					t.Fatalf("create: %d %s", r.status, r.body)
				}
			}
			seen, cursor := 0, ""
			for pages := 0; ; pages++ {
				var p productPage
				app.do("GET", "/api/v1/products?limit=2"+cursor, nil).json(t, &p)
				seen += len(p.Items)
				if p.NextCursor == nil {
					if seen != 5 || pages != 2 {
						t.Fatalf("saw %d products on %d pages", seen, pages+1)
					}
					break
				}
				cursor = "&cursor=" + *p.NextCursor
			}

			// Correlation IDs are echoed.
			r = app.do("GET", "/api/v1/products", nil, "X-Correlation-ID", "abc-123")
			if r.header.Get("X-Correlation-ID") != "abc-123" {
				t.Fatalf("correlation id not echoed: %v", r.header)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, "gochannel")
	app := d.start(t, nil).as(d.token(t, auth.Admin))
	missing := "01900000-0000-7000-8000-000000000000"
	for _, tc := range []struct{ method, path, body, code string }{
		{"GET", "/api/v1/products/" + missing, "", "catalog.product_not_found"},
		{"PUT", "/api/v1/products/" + missing, `{"name":"x","price":1,"currency":"EUR"}`, "catalog.product_not_found"},
		{"GET", "/api/v1/inventory/" + missing, "", "inventory.unknown_product"},
		{"PUT", "/api/v1/inventory/" + missing, `{"on_hand":1}`, "inventory.unknown_product"},
		{"GET", "/api/v1/nothing-here", "", "http.not_found"},
	} {
		var body any
		if tc.body != "" {
			body = tc.body
		}
		r := app.do(tc.method, tc.path, body)
		if r.status != http.StatusNotFound || !strings.Contains(string(r.body), `"code":"`+tc.code+`"`) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, r.status, r.body)
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	app := newDeployment(t, "gochannel").start(t, nil)
	if err := app.signal(syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if !strings.Contains(app.logs.String(), "shutting down: draining HTTP requests") {
		t.Error("no shutdown log line")
	}
}

// Production refuses to start with anything only safe on a laptop.
func TestProductionRefusesUnsafeSettings(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, "gochannel")
	for name, tc := range map[string]struct {
		env  []string
		want string
	}{
		"defaults":     {nil, "APP_JWT_SECRET must be set"},
		"short secret": {[]string{"APP_JWT_SECRET=short", "APP_ADMIN_PASSWORD=correct-horse-battery"}, "APP_JWT_SECRET must be set, at least 32"},
		"pprof off loopback": {[]string{"APP_JWT_SECRET=" + strings.Repeat("s", 32), "APP_ADMIN_PASSWORD=correct-horse-battery",
			"APP_DEBUG_ADDR=:6060"}, "APP_DEBUG_ADDR \":6060\": in prod it must be a loopback address"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(appBinary)
			cmd.Env = append(os.Environ(), "APP_ENV=prod", "DATABASE_URL="+d.env["DATABASE_URL"], "APP_HTTP_ADDR="+freeAddr(t))
			cmd.Env = append(cmd.Env, tc.env...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("exit %v, output lacks %q:\n%s", err, tc.want, out)
			}
		})
	}
}
