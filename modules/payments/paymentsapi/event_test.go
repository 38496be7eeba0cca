package paymentsapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestEventJSON(t *testing.T) {
	t.Parallel()
	e := Event{Type: "payment.captured", Version: 1,
		OccurredAt: time.Date(2025, 1, 2, 3, 4, 5, 6000, time.FixedZone("CET", 3600)),
		Data:       json.RawMessage(`{"provider_ref":"cap_1","amount":9007199254740993}`)}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"amount":9007199254740993,"occurred_at":"2025-01-02T02:04:05.000006Z","provider_ref":"cap_1","type":"payment.captured","version":1}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Type != e.Type || back.Version != e.Version || !back.OccurredAt.Equal(e.OccurredAt) ||
		string(back.Data) != `{"amount":9007199254740993,"provider_ref":"cap_1"}` {
		t.Fatalf("read back %+v %s", back, back.Data)
	}
}

// Whatever Event reads, it writes so that it reads the same again.
func FuzzEventJSON(f *testing.F) {
	f.Add([]byte(`{"type":"payment.authorized","version":2,"occurred_at":"2025-01-02T03:04:05Z","provider_ref":"a","method":"card"}`))
	f.Add([]byte(`{"type":"payment.voided","version":1,"occurred_at":"2025-01-02T03:04:05.123456789+02:00","reason":"x","n":1e400}`))
	f.Add([]byte(`{"Type":"t","version":1,"nested":{"a":[1,2,{"b":null}]}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var first Event
		if err := json.Unmarshal(in, &first); err != nil {
			return
		}
		b, err := json.Marshal(first)
		if err != nil {
			return // a time that cannot be written (a year beyond 9999 in UTC) is refused, not mangled
		}
		var second Event
		if err := json.Unmarshal(b, &second); err != nil {
			t.Fatalf("cannot read back %s: %v", b, err)
		}
		if first.Type != second.Type || first.Version != second.Version || !first.OccurredAt.Equal(second.OccurredAt) ||
			!equalJSON(t, first.Data, second.Data) {
			t.Fatalf("round trip changed the event:\n%+v %s\n%+v %s", first, first.Data, second, second.Data)
		}
	})
}

// equalJSON compares two JSON values; no value at all counts as {} (an
// event without fields of its own).
func equalJSON(t *testing.T, a, b []byte) bool {
	if len(a) == 0 {
		a = []byte("{}")
	}
	if len(b) == 0 {
		b = []byte("{}")
	}
	var ca, cb bytes.Buffer
	if err := json.Compact(&ca, a); err != nil {
		t.Fatal(err)
	}
	if err := json.Compact(&cb, b); err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}
