package e2e_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The order read model can be rebuilt from scratch by a command, and the
// rebuilt list equals the live one.
func TestRebuildReadModel(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, "gochannel")
	app := d.start(t, nil)
	tea := stocked(t, app.admin(t), 450, 10)
	c := app.newCustomer(t)
	for _, token := range []string{"tok_ok", "tok_decline", "tok_ok"} {
		settled(t, c.client, place(t, c.client, token, tea, 1))
	}
	list := func() string {
		var l struct {
			Items []struct {
				ID, Status string
				Customer   *struct{ Email string }
			}
		}
		c.client.do("GET", "/api/v1/orders", nil).json(t, &l)
		if len(l.Items) != 3 {
			return ""
		}
		out := ""
		for _, o := range l.Items {
			out += o.ID + o.Status
			if o.Customer != nil {
				out += o.Customer.Email
			}
		}
		return out
	}
	var live string
	// The read model lags the orders: wait until it shows all three settled.
	eventually(t, "the read model to show 3 settled orders", func() bool {
		live = list()
		return live != "" && !strings.Contains(live, "pending")
	})

	cmd := exec.Command(appBinary, "rebuild-read-models")
	cmd.Env = os.Environ()
	for k, v := range d.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rebuild-read-models: %v\n%s", err, out)
	}
	if rebuilt := list(); rebuilt != live {
		t.Fatalf("rebuilt read model differs:\nlive    %s\nrebuilt %s", live, rebuilt)
	}
}

// A customer who changes their name is shown with the new name in their
// order list: ordering keeps a replica fed by identity's events.
func TestCustomerReplicaFollowsIdentity(t *testing.T) {
	t.Parallel()
	app := newDeployment(t, "gochannel").start(t, nil)
	tea := stocked(t, app.admin(t), 450, 10)
	c := app.newCustomer(t)
	settled(t, c.client, place(t, c.client, "tok_ok", tea, 1))
	if r := c.client.do("PUT", "/api/v1/users/me", `{"name":"  Ada Lovelace "}`); r.status != 200 {
		t.Fatalf("rename: %d %s", r.status, r.body)
	}
	var me struct{ Name, Email string }
	c.client.do("GET", "/api/v1/users/me", nil).json(t, &me)
	if me.Name != "Ada Lovelace" || me.Email != c.email {
		t.Fatalf("me %+v", me)
	}
	eventually(t, "the order list to show the new name", func() bool {
		var l struct {
			Items []struct{ Customer *struct{ Name string } }
		}
		c.client.do("GET", "/api/v1/orders", nil).json(t, &l)
		return len(l.Items) == 1 && l.Items[0].Customer != nil && l.Items[0].Customer.Name == "Ada Lovelace"
	})
	if r := c.client.do("PUT", "/api/v1/users/me", `{"name":""}`); r.status != 400 {
		t.Fatalf("empty name: %d %s", r.status, r.body)
	}
}
