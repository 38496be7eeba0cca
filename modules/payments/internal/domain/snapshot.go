package domain

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// SnapshotVersion is the schema version of State as JSON. Change State's
// shape only together with it: a snapshot of another version is ignored and
// the stream replayed from its first event, so no migration is needed.
const SnapshotVersion = 1

// State is a payment's full state, what a snapshot stores. Rebuild(&s, tail)
// continues from it.
type State struct {
	ID          uuid.UUID `json:"id"`
	OrderID     uuid.UUID `json:"order_id"`
	CustomerID  uuid.UUID `json:"customer_id"`
	Amount      int64     `json:"amount"`
	Currency    string    `json:"currency"`
	Status      string    `json:"status"`
	ProviderRef string    `json:"provider_ref"`
	Method      string    `json:"method"`
	Reason      string    `json:"reason"`
	Version     int       `json:"version"`
	LastAt      time.Time `json:"last_at"`
}

// State returns the payment's state.
func (p *Payment) State() State {
	return State{ID: p.id, OrderID: p.orderID, CustomerID: p.customerID, Amount: p.amount, Currency: p.currency,
		Status: p.status.name, ProviderRef: p.ref, Method: p.method, Reason: p.reason, Version: p.version, LastAt: p.lastAt}
}

// EncodeSnapshot returns the payment's state as snapshot JSON of SnapshotVersion.
func (p *Payment) EncodeSnapshot() ([]byte, error) { return json.Marshal(p.State()) }

// DecodeSnapshot reads a stored snapshot of the stream's first version
// events. It reports false when the snapshot cannot be used (another schema
// version, or data that does not hold together): the caller then replays
// the stream from the start, which is always correct.
func DecodeSnapshot(schemaVersion, version int, data []byte) (*State, bool) {
	if schemaVersion != SnapshotVersion {
		return nil, false
	}
	var s State
	if err := strictUnmarshal(data, &s); err != nil || s.Version != version {
		return nil, false
	}
	if _, err := s.restore(); err != nil {
		return nil, false
	}
	return &s, true
}

func (s State) restore() (*Payment, error) {
	status, ok := parseStatus(s.Status)
	if !ok || s.Version < 1 || s.ID == uuid.Nil {
		return nil, fmt.Errorf("payments: snapshot of %s at version %d is not a valid state", s.ID, s.Version)
	}
	return &Payment{id: s.ID, orderID: s.OrderID, customerID: s.CustomerID, amount: s.Amount, currency: s.Currency,
		status: status, ref: s.ProviderRef, method: s.Method, reason: s.Reason, version: s.Version, lastAt: s.LastAt.UTC()}, nil
}
