package e2e_test

import (
	"maps"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/platform/auth"
)

// topology is one way of deploying the shop (SPEC §7): which modules run in
// their own binary, each with its own database, and which bus carries events.
type topology struct {
	name    string
	bus     string
	extract []string // modules in their own binary; the rest run in the monolith
	// twice names the processes run as two instances, "<name>" and
	// "<name>-2", each listed in the APP_REMOTE_<MODULE> of its modules:
	// extracted modules, "gateway" and "monolith" (two monoliths behind a
	// gateway that runs no module).
	twice []string
	// isolate is an extracted module whose process runs in a network
	// namespace of its own, which a test may cut off (see netns).
	isolate string
	env     map[string]string // more variables for every process
	servers servers           // the shared Postgres and RabbitMQ when empty
	// internal gives every process an internal listener (APP_INTERNAL_ADDR),
	// which the others' APP_REMOTE_* name; the public port 404s /internal.
	internal bool
}

// topologies are the deployments every scenario must pass in.
var topologies = []topology{
	{name: "monolith", bus: "gochannel"},
	{name: "monolith-amqp", bus: "amqp"},
	{name: "payments-extracted", bus: "amqp", extract: []string{"payments"}},
	{name: "inventory-extracted", bus: "amqp", extract: []string{"inventory"}},
	{name: "identity-extracted", bus: "amqp", extract: []string{"identity"}},
	{name: "fully-extracted", bus: "amqp", extract: surfaces.Names(), internal: true},
}

// shop is a running topology.
type shop struct {
	deployment
	entry *process            // where clients connect: the monolith, or the gateway
	procs map[string]*process // by name: a module's, "monolith" or "gateway", with "-2" for a second instance
	specs map[string]procSpec // how to start each again
	netns *netns              // where the isolated module runs, if one does
}

type procSpec struct {
	binary, addr string
	internal     string // APP_INTERNAL_ADDR, when the topology has internal listeners
	netns        string // the network namespace it runs in; "" for the test's
	env          map[string]string
}

// deploy starts every process of topo and waits until all are ready. The
// monolith (or, with every module extracted or two monoliths, the gateway:
// cmd/app with APP_MODULES=none) keeps DATABASE_URL; each extracted module
// gets its own database through <MODULE>_DATABASE_URL and reaches the others
// at APP_REMOTE_<MODULE>.
func deploy(t *testing.T, topo topology) *shop {
	t.Helper()
	d := newDeploymentOn(t, topo.bus, topo.servers)
	maps.Copy(d.env, topo.env)
	s := &shop{deployment: d, procs: map[string]*process{}, specs: map[string]procSpec{}}

	runner := map[string]string{} // module → the process running it
	for _, m := range surfaces.Names() {
		runner[m] = "monolith"
	}
	for _, m := range topo.extract {
		runner[m] = m
	}
	entry := "monolith"
	if len(topo.extract) == len(surfaces.Names()) || slices.Contains(topo.twice, "monolith") {
		entry = "gateway"
	}
	names := []string{entry} // every process but the second instances
	for _, m := range surfaces.Names() {
		if !slices.Contains(names, runner[m]) {
			names = append(names, runner[m])
		}
	}
	addr := map[string]string{}
	for _, name := range names {
		addr[name] = freeAddr(t)
		if slices.Contains(topo.twice, name) {
			addr[name+"-2"] = freeAddr(t)
		}
	}
	if topo.isolate != "" {
		s.netns = newNetns(t)
		addr[topo.isolate] = s.netns.ip + ":8080" // the namespace's own ports are all free
	}
	// Where the others reach a process: its internal listener when it has one.
	reach := map[string]string{}
	for name, a := range addr {
		reach[name] = a
		switch {
		case !topo.internal:
		case name == topo.isolate:
			reach[name] = s.netns.ip + ":8081"
		default:
			reach[name] = freeAddr(t)
		}
	}
	where := func(m string) string {
		r := runner[m]
		if slices.Contains(topo.twice, r) {
			return "http://" + reach[r] + ",http://" + reach[r+"-2"]
		}
		return "http://" + reach[r]
	}

	for _, name := range names {
		env := map[string]string{}
		var local []string
		for _, m := range surfaces.Names() {
			if runner[m] == name {
				local = append(local, m)
			} else {
				env["APP_REMOTE_"+strings.ToUpper(m)] = where(m)
			}
		}
		spec := procSpec{binary: appBinary, addr: addr[name], env: env}
		switch {
		case slices.Contains(topo.extract, name):
			spec.binary = extracted[name]
			env["DATABASE_URL"] = "" // nothing of this process lives in the shared database
			env[strings.ToUpper(name)+"_DATABASE_URL"] = smallPools(d.servers.newDatabase(t))
		case len(local) == 0:
			env["APP_MODULES"] = "none"
		default:
			env["APP_MODULES"] = strings.Join(local, ",")
		}
		// Only the process running identity holds its signing key.
		if !slices.Contains(local, "identity") {
			env["APP_JWT_PRIVATE_KEY"] = ""
		}
		if name == topo.isolate {
			spec.netns = s.netns.name
			if v, ok := d.env["AMQP_URL"]; ok {
				env["AMQP_URL"] = v
			}
			for k, v := range env {
				env[k] = s.netns.reach(t, v)
			}
		}
		s.specs[name] = spec
		if slices.Contains(topo.twice, name) {
			spec.addr = addr[name+"-2"]
			s.specs[name+"-2"] = spec
		}
	}

	for name, spec := range s.specs {
		if topo.internal {
			spec.internal = reach[name]
			spec.env = maps.Clone(spec.env)
			spec.env["APP_INTERNAL_ADDR"] = spec.internal
			s.specs[name] = spec
		}
		s.procs[name] = s.launchSpec(t, spec)
	}
	for _, p := range s.procs {
		p.waitReady(t)
	}
	s.entry = s.procs[entry]
	return s
}

// restart starts the process called name again (after a kill) and waits
// until it is ready.
func (s *shop) restart(t *testing.T, name string) *process {
	t.Helper()
	p := s.launchSpec(t, s.specs[name])
	p.waitReady(t)
	s.procs[name] = p
	return p
}

// launchSpec runs the process of spec, without waiting for it.
func (s *shop) launchSpec(t *testing.T, spec procSpec) *process {
	p := s.launchIn(t, spec.netns, spec.binary, spec.addr, spec.env)
	if spec.internal != "" {
		p.internal = "http://" + spec.internal
	}
	return p
}

// TestTopologies runs the end-to-end scenarios in every topology: the same
// requests, the same answers, wherever the modules run.
func TestTopologies(t *testing.T) {
	t.Parallel()
	for _, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) {
			t.Parallel()
			s := deploy(t, topo)
			t.Run("checkout", func(t *testing.T) { checkoutScenarios(t, s.entry) })
			t.Run("order placement rules", func(t *testing.T) { orderPlacementRules(t, s.entry) })
			t.Run("no oversell", func(t *testing.T) { noOversell(t, s.entry) })
			t.Run("bad input", func(t *testing.T) { badInput(t, s.entry.as(s.token(t, auth.Admin))) })
			t.Run("bad orders", func(t *testing.T) { badOrders(t, s.entry) })
			t.Run("authorization", func(t *testing.T) { authorizationMatrix(t, s.entry) })
			t.Run("forged tokens refused", func(t *testing.T) { forgedTokensRefused(t, s) })
			t.Run("internal calls need a service token", func(t *testing.T) { internalCallsNeedToken(t, s) })
			t.Run("correlation ID kept", func(t *testing.T) { correlationKept(t, s) })
			t.Run("storefront through the BFF", func(t *testing.T) { storefrontThroughTheBFF(t, s) })
			if slices.Contains(topo.extract, "inventory") { // last: it stops inventory
				t.Run("product details without inventory", func(t *testing.T) { detailsWithoutInventory(t, s) })
			}
		})
	}
}

// internalCallsNeedToken: no process, the public entry included, answers a
// module's internal endpoint without a service token, even to a caller
// holding an admin's access token (a gateway that runs no module serves
// /internal too: its part of the admin views). A process with an internal
// listener does not serve /internal on its public port at all.
func internalCallsNeedToken(t *testing.T, s *shop) {
	admin := s.token(t, auth.Admin)
	for name, p := range s.procs {
		type port struct {
			client     *process
			want       int
			code, name string
		}
		ports := []port{{p, 401, "auth.invalid_service_token", "public"}}
		if p.internal != "" {
			inside := *p
			inside.base = p.internal
			ports = []port{{p, 404, "http.not_found", "public"}, {&inside, 401, "auth.invalid_service_token", "internal"}}
		}
		for _, port := range ports {
			for _, m := range surfaces.Names() {
				for _, bearer := range []string{"", admin} {
					r := port.client.as(bearer).do("POST", "/internal/"+m+"/GetProduct", "[]")
					if r.status != port.want || !strings.Contains(string(r.body), port.code) {
						t.Errorf("%s, %s port: POST /internal/%s/GetProduct (bearer %t): %d %s", name, port.name, m, bearer != "", r.status, r.body)
					}
				}
			}
		}
	}
}

// detailsWithoutInventory: with the inventory process killed, the composed
// product details still answer the product, naming inventory as missing.
func detailsWithoutInventory(t *testing.T, s *shop) {
	tea := stocked(t, s.entry.as(s.token(t, auth.Admin)), 450, 3)
	if err := s.procs["inventory"].signal(syscall.SIGKILL); err == nil {
		t.Fatal("inventory exited cleanly after SIGKILL")
	}
	var d struct {
		Product  *struct{ ID string }
		Stock    *stock
		Degraded []string
	}
	r := s.entry.do("GET", "/api/v1/products/"+tea.ID+"/details", nil)
	if r.status != 200 {
		t.Fatalf("details: %d %s", r.status, r.body)
	}
	r.json(t, &d)
	if d.Product == nil || d.Product.ID != tea.ID || d.Stock != nil || !slices.Equal(d.Degraded, []string{"inventory"}) {
		t.Fatalf("details without inventory: %s", r.body)
	}
}

// correlationKept: a client's correlation ID comes back once, from a route
// of every module, and the process that runs the module logged the request
// under it, wherever that is.
func correlationKept(t *testing.T, s *shop) {
	admin := s.entry.admin(t)
	tea := stocked(t, admin, 450, 1)
	for module, path := range map[string]string{
		"catalog": "/api/v1/products/" + tea.ID, "inventory": "/api/v1/inventory/" + tea.ID,
		"identity": "/api/v1/users/me", "ordering": "/api/v1/orders?limit=1",
		"payments": "/api/v1/payments?order_id=" + tea.ID, "notifications": "/api/v1/notifications",
	} {
		id := "e2e-" + uuid.NewString()
		r := admin.do("GET", path, nil, "X-Correlation-ID", id)
		if got := r.header.Values("X-Correlation-ID"); len(got) != 1 || got[0] != id {
			t.Errorf("GET %s: X-Correlation-ID %q, want [%s]", path, got, id)
		}
		runner, ok := s.procs[module]
		if !ok {
			runner = s.entry
		}
		// The access log line is written just after the answer.
		eventually(t, module+" logging "+path+" with the correlation ID", func() bool {
			return strings.Contains(runner.logs.String(), `"correlation_id":"`+id+`"`)
		})
	}
}

// TestTwoInstancesOfAModule: with APP_REMOTE_PAYMENTS naming two instances,
// calls are spread over both; when one is killed the monolith ejects it and
// every order is still confirmed through the other; restarted, it is taken
// back into the pool.
func TestTwoInstancesOfAModule(t *testing.T) {
	t.Parallel()
	s := deploy(t, topology{name: "payments-twice", bus: "amqp", extract: []string{"payments"}, twice: []string{"payments"}})
	tea := stocked(t, s.entry.admin(t), 450, 1000)
	c := s.entry.newCustomer(t)
	confirmAll := func(n int) {
		t.Helper()
		for range n {
			if o := settled(t, c.client, place(t, c.client, "tok_ok", tea, 1)); o.Status != "confirmed" {
				t.Fatalf("order %+v", o)
			}
		}
	}
	confirmAll(6)
	for _, name := range []string{"payments", "payments-2"} {
		if served := strings.Count(s.procs[name].logs.String(), `"path":"/internal/payments/Charge"`); served == 0 {
			t.Errorf("%s served no Charge: the calls were not balanced", name)
		}
	}
	_ = s.procs["payments-2"].signal(syscall.SIGKILL)
	confirmAll(10)
	second := "http://" + s.specs["payments-2"].addr
	eventually(t, "the killed instance to be ejected", func() bool { return instanceUp(s.entry, "payments", second) == "0" })
	s.restart(t, "payments-2")
	eventually(t, "the instance to be back", func() bool { return instanceUp(s.entry, "payments", second) == "1" })
	confirmAll(4)
}

// instanceUp reads rpc_instance_up of one instance of remote from p's /metrics.
func instanceUp(p *process, remote, instance string) string {
	return metric(p, `rpc_instance_up{instance="`+instance+`",remote="`+remote+`"} `)
}
