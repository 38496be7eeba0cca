package freeport_test

import (
	"net"
	"testing"

	"github.com/modmono/shop/platform/freeport"
)

func TestAReservedPortIsNotHandedOutTwice(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p, err := freeport.Reserve()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Release)
		if seen[p.Number] {
			t.Fatalf("port %d handed out twice while reserved", p.Number)
		}
		seen[p.Number] = true
		if p.Number >= 32768 {
			t.Errorf("port %d is in the kernel's ephemeral range", p.Number)
		}
	}
}

func TestAReservedPortCanBeListenedOn(t *testing.T) {
	addr := freeport.Addr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on the reserved %s: %v", addr, err)
	}
	_ = ln.Close()
}
