package bff

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/modules/notifications/notificationsapi"
	"github.com/modmono/shop/modules/ordering/orderingapi"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/async"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/correlation"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/page"
)

// HomeLimit is how many products the home screen shows.
const HomeLimit = 48

// stockFanOut bounds the stock calls one screen makes at the same time.
const stockFanOut = 8

// Card is a product as the home screen shows it. Available is null when
// inventory did not answer (the screen then says "stock unknown").
type Card struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Price       int64     `json:"price"`
	Currency    string    `json:"currency"`
	Available   *int64    `json:"available"`
}

// Home is the answer of GET /bff/home.
type Home struct {
	Products []Card   `json:"products"`
	Degraded []string `json:"degraded"`
}

func (s *server) home(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	products, err := async.Call(ctx, s.opts.CallTimeout, func(ctx context.Context) (page.Page[catalogapi.Product], error) {
		return s.apis.Catalog.ListProducts(ctx, page.Request{Limit: HomeLimit})
	})()
	if err != nil {
		return s.unavailable(ctx, err)
	}
	ids := make([]uuid.UUID, len(products.Items))
	for i, p := range products.Items {
		ids[i] = p.ID
	}
	stock, missing := s.stockOf(ctx, ids)
	home := Home{Products: make([]Card, len(products.Items)), Degraded: []string{}}
	for i, p := range products.Items {
		home.Products[i] = Card{ID: p.ID, Name: p.Name, Description: p.Description, Price: p.Price, Currency: p.Currency, Available: stock[p.ID]}
	}
	if missing {
		home.Degraded = append(home.Degraded, SideInventory)
		s.log.Warn("home without some stock figures", zap.String("correlation_id", correlation.ID(ctx)))
	}
	httpx.WriteJSON(w, http.StatusOK, home)
	return nil
}

// stockOf asks inventory for the available units of ids, a few at a time
// (inventory has no batch read). A product whose stock did not come is
// absent from the map and missing is true.
func (s *server) stockOf(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*int64, bool) {
	var (
		mu      sync.Mutex
		out     = make(map[uuid.UUID]*int64, len(ids))
		missing bool
		wg      sync.WaitGroup
		slots   = make(chan struct{}, stockFanOut)
	)
	for _, id := range ids {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			st, err := async.Call(ctx, s.opts.CallTimeout, func(ctx context.Context) (inventoryapi.Stock, error) {
				return s.apis.Inventory.GetStock(ctx, id)
			})()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				missing = true
				return
			}
			out[id] = &st.Available
		})
	}
	wg.Wait()
	return out, missing
}

// ProductPage is the answer of GET /bff/products/{id}.
type ProductPage struct {
	Product  Card     `json:"product"`
	Degraded []string `json:"degraded"`
}

// product needs the catalog (no product, no page) and shows stock if
// inventory answers in time.
func (s *server) product(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.UUIDParam(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	getProduct := async.Call(ctx, s.opts.CallTimeout, func(ctx context.Context) (catalogapi.Product, error) {
		return s.apis.Catalog.GetProduct(ctx, id)
	})
	getStock := async.Call(ctx, s.opts.CallTimeout, func(ctx context.Context) (inventoryapi.Stock, error) {
		return s.apis.Inventory.GetStock(ctx, id)
	})
	p, err := getProduct()
	st, stockErr := getStock()
	if errors.Is(err, catalogapi.ErrProductNotFound) {
		return err
	}
	if err != nil {
		return s.unavailable(ctx, err)
	}
	out := ProductPage{Product: Card{ID: p.ID, Name: p.Name, Description: p.Description, Price: p.Price, Currency: p.Currency}, Degraded: []string{}}
	if stockErr == nil {
		out.Product.Available = &st.Available
	} else {
		out.Degraded = append(out.Degraded, SideInventory)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// Cart limits.
const (
	MaxCartLines   = 50
	MaxLineUnits   = 99
	MaxCartRequest = 8 << 10
)

// CartInput is a cart as the browser keeps it.
type CartInput struct {
	Items []orderingapi.LineInput `json:"items"`
}

// normalize merges repeated products and checks the limits.
func (c CartInput) normalize() ([]orderingapi.LineInput, error) {
	if len(c.Items) == 0 || len(c.Items) > MaxCartLines {
		return nil, ErrInvalidCart
	}
	var lines []orderingapi.LineInput
	for _, it := range c.Items {
		if it.ProductID == uuid.Nil || it.Quantity < 1 || it.Quantity > MaxLineUnits {
			return nil, ErrInvalidCart
		}
		if i := slices.IndexFunc(lines, func(l orderingapi.LineInput) bool { return l.ProductID == it.ProductID }); i >= 0 {
			lines[i].Quantity += it.Quantity
			if lines[i].Quantity > MaxLineUnits {
				return nil, ErrInvalidCart
			}
			continue
		}
		lines = append(lines, it)
	}
	return lines, nil
}

// Problems of a cart line.
const (
	LineUnknownProduct    = "unknown_product"    // the catalog no longer has it
	LineInsufficientStock = "insufficient_stock" // fewer units are available than asked
	LineUnavailable       = "unavailable"        // the catalog did not answer for it
)

// CartLine is a priced line of the cart. Available is null when inventory
// did not answer; Problem is empty when the line can be ordered.
type CartLine struct {
	ProductID uuid.UUID `json:"product_id"`
	Name      string    `json:"name"`
	Quantity  int64     `json:"quantity"`
	UnitPrice int64     `json:"unit_price"`
	LineTotal int64     `json:"line_total"`
	Currency  string    `json:"currency"`
	Available *int64    `json:"available"`
	Problem   string    `json:"problem"`
}

// Cart is the answer of POST /bff/cart: the browser's cart priced now.
// Total counts the lines without a problem. CanCheckout is false while a
// line has a problem or the lines' currencies differ.
type Cart struct {
	Lines       []CartLine `json:"lines"`
	Total       int64      `json:"total"`
	Currency    string     `json:"currency"`
	CanCheckout bool       `json:"can_checkout"`
	Degraded    []string   `json:"degraded"`
}

func (s *server) cart(w http.ResponseWriter, r *http.Request) error {
	var in CartInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	lines, err := in.normalize()
	if err != nil {
		return err
	}
	ctx := r.Context()
	out := Cart{Lines: make([]CartLine, len(lines)), CanCheckout: true, Degraded: []string{}}
	var wg sync.WaitGroup
	stockMissing, catalogMissing := make([]bool, len(lines)), make([]bool, len(lines))
	for i, l := range lines {
		wg.Go(func() {
			getProduct := async.Call(ctx, s.opts.CallTimeout, func(ctx context.Context) (catalogapi.Product, error) {
				return s.apis.Catalog.GetProduct(ctx, l.ProductID)
			})
			getStock := async.Call(ctx, s.opts.CallTimeout, func(ctx context.Context) (inventoryapi.Stock, error) {
				return s.apis.Inventory.GetStock(ctx, l.ProductID)
			})
			p, perr := getProduct()
			st, serr := getStock()
			line := CartLine{ProductID: l.ProductID, Quantity: l.Quantity}
			switch {
			case errors.Is(perr, catalogapi.ErrProductNotFound):
				line.Problem = LineUnknownProduct
			case perr != nil:
				line.Problem, catalogMissing[i] = LineUnavailable, true
			default:
				line.Name, line.UnitPrice, line.Currency = p.Name, p.Price, p.Currency
				line.LineTotal = p.Price * l.Quantity
			}
			if serr == nil {
				line.Available = &st.Available
				if line.Problem == "" && st.Available < l.Quantity {
					line.Problem = LineInsufficientStock
				}
			} else if !errors.Is(serr, inventoryapi.ErrUnknownProduct) {
				stockMissing[i] = true
			}
			out.Lines[i] = line
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, l := range out.Lines {
		if l.Problem != "" {
			out.CanCheckout = false
			continue
		}
		if out.Currency == "" {
			out.Currency = l.Currency
		} else if out.Currency != l.Currency {
			out.CanCheckout = false
		}
		out.Total += l.LineTotal
	}
	if slices.Contains(catalogMissing, true) {
		out.Degraded = append(out.Degraded, SideCatalog)
	}
	if slices.Contains(stockMissing, true) {
		out.Degraded = append(out.Degraded, SideInventory)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// User is the signed-in customer as the screens show them.
type User struct {
	ID    uuid.UUID `json:"id"`
	Email string    `json:"email"`
	Name  string    `json:"name"`
	Role  auth.Role `json:"role"`
}

// Session is the answer of GET /bff/session, /bff/login and /bff/register:
// who is signed in (null for nobody).
type Session struct {
	User     *User    `json:"user"`
	Degraded []string `json:"degraded"`
}

func (s *server) register(w http.ResponseWriter, r *http.Request) error {
	var in identityapi.RegisterInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := async.Call(ctx, s.opts.CallTimeout, func(ctx context.Context) (identityapi.Registered, error) {
		return s.apis.Identity.Register(ctx, in)
	})(); err != nil {
		return err
	}
	return s.startSession(w, r, identityapi.LoginInput{Email: in.Email, Password: in.Password}, http.StatusCreated)
}

func (s *server) login(w http.ResponseWriter, r *http.Request) error {
	var in identityapi.LoginInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	return s.startSession(w, r, in, http.StatusOK)
}

// startSession logs in, keeps the token in the session cookie and answers
// who is signed in.
func (s *server) startSession(w http.ResponseWriter, r *http.Request, in identityapi.LoginInput, status int) error {
	ctx := r.Context()
	tok, err := async.Call(ctx, s.opts.CallTimeout, func(ctx context.Context) (identityapi.Token, error) {
		return s.apis.Identity.Login(ctx, in)
	})()
	if err != nil {
		return err
	}
	p, err := s.sessions.tokens.Verify(ctx, tok.AccessToken)
	if err != nil {
		return err
	}
	s.sessions.set(w, tok.AccessToken, time.Duration(tok.ExpiresIn)*time.Second)
	httpx.WriteJSON(w, status, s.sessionOf(ctx, p))
	return nil
}

// sessionOf reads the user's profile; without identity the session still
// stands, named by id only.
func (s *server) sessionOf(ctx context.Context, p auth.Principal) Session {
	u, err := async.Call(ctx, s.opts.CallTimeout, func(ctx context.Context) (identityapi.User, error) {
		return s.apis.Identity.GetUser(ctx, p.UserID)
	})()
	if err != nil {
		return Session{User: &User{ID: p.UserID, Role: p.Role}, Degraded: []string{SideIdentity}}
	}
	return Session{User: &User{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role}, Degraded: []string{}}
}

func (s *server) logout(w http.ResponseWriter, _ *http.Request) error {
	s.sessions.clear(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) session(w http.ResponseWriter, r *http.Request) error {
	p, _, ok := s.sessions.principal(r)
	if !ok {
		if _, err := r.Cookie(CookieName); err == nil {
			s.sessions.clear(w) // expired or from another deployment
		}
		httpx.WriteJSON(w, http.StatusOK, Session{Degraded: []string{}})
		return nil
	}
	httpx.WriteJSON(w, http.StatusOK, s.sessionOf(r.Context(), p))
	return nil
}

// CheckoutInput is the body of POST /bff/checkout; the Idempotency-Key
// header names the checkout attempt (the page makes one per attempt and
// repeats it on a retry, so a double click or a lost answer places one order).
type CheckoutInput struct {
	Items        []orderingapi.LineInput `json:"items"`
	PaymentToken string                  `json:"payment_token"`
}

// Checkout is the answer of POST /bff/checkout (202): the order to follow.
type Checkout struct {
	OrderID uuid.UUID `json:"order_id"`
	Status  string    `json:"status"`
}

func (s *server) checkout(w http.ResponseWriter, r *http.Request) error {
	var in CheckoutInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	lines, err := CartInput{Items: in.Items}.normalize()
	if err != nil {
		return err
	}
	switch in.PaymentToken {
	case paymentsapi.TokenOK, paymentsapi.TokenDecline, paymentsapi.TokenSlow:
	default:
		return ErrInvalidPaymentToken
	}
	ctx := r.Context()
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return orderingapi.ErrIdempotencyKeyMissing
	}
	placed, err := async.Call(ctx, s.opts.CallTimeout, func(ctx context.Context) (orderingapi.Placed, error) {
		return s.apis.Ordering.PlaceOrder(ctx, caller(ctx).UserID, key,
			orderingapi.PlaceOrderInput{Items: lines, Payment: orderingapi.PaymentInput{Token: in.PaymentToken}})
	})()
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, Checkout{OrderID: placed.ID, Status: placed.Status})
	return nil
}

// OrderSummary is an order in the customer's list.
type OrderSummary struct {
	ID            uuid.UUID     `json:"id"`
	Status        string        `json:"status"`
	Total         int64         `json:"total"`
	Currency      string        `json:"currency"`
	FailureReason *string       `json:"failure_reason"`
	CreatedAt     time.Time     `json:"created_at"`
	Items         []SummaryItem `json:"items"`
}

// SummaryItem is what an order list shows of a line.
type SummaryItem struct {
	Name     string `json:"name"`
	Quantity int64  `json:"quantity"`
}

// Orders is the answer of GET /bff/orders.
type Orders struct {
	Orders     []OrderSummary `json:"orders"`
	NextCursor *string        `json:"next_cursor"`
}

func (s *server) orders(w http.ResponseWriter, r *http.Request) error {
	req, err := page.FromQuery(r)
	if err != nil {
		return err
	}
	if req.Limit == page.DefaultLimit && r.URL.Query().Get("limit") == "" {
		req.Limit = 20
	}
	ctx := r.Context()
	list, err := async.Call(ctx, s.opts.CallTimeout, func(ctx context.Context) (page.Page[orderingapi.OrderView], error) {
		return s.apis.Ordering.ListOrders(ctx, orderingapi.ListQuery{CustomerID: caller(ctx).UserID, Page: req})
	})()
	if err != nil {
		return s.unavailable(ctx, err)
	}
	out := Orders{Orders: make([]OrderSummary, len(list.Items)), NextCursor: list.NextCursor}
	for i, o := range list.Items {
		items := make([]SummaryItem, len(o.Items))
		for j, l := range o.Items {
			items[j] = SummaryItem{Name: l.Name, Quantity: l.Quantity}
		}
		out.Orders[i] = OrderSummary{ID: o.ID, Status: o.Status, Total: o.Total, Currency: o.Currency,
			FailureReason: o.FailureReason, CreatedAt: o.CreatedAt, Items: items}
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// Payment is what the order page shows of the order's payment.
type Payment struct {
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason,omitempty"`
}

// OrderPage is the answer of GET /bff/orders/{id}. Payment is null while
// there is none yet, or when payments did not answer (then "payments" is in
// Degraded).
type OrderPage struct {
	Order    orderingapi.Order `json:"order"`
	Payment  *Payment          `json:"payment"`
	Degraded []string          `json:"degraded"`
}

func (s *server) order(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.UUIDParam(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	getPayment := async.Call(ctx, s.opts.CallTimeout, func(ctx context.Context) (page.Page[paymentsapi.Payment], error) {
		return s.apis.Payments.ForOrder(ctx, id)
	})
	o, err := s.ownOrder(ctx, id)
	if err != nil {
		return err
	}
	out := OrderPage{Order: o, Degraded: []string{}}
	payments, err := getPayment()
	switch {
	case err != nil && !errors.Is(err, paymentsapi.ErrPaymentNotFound):
		out.Degraded = append(out.Degraded, SidePayments)
	case err == nil && len(payments.Items) > 0:
		out.Payment = &Payment{Status: payments.Items[0].Status, FailureReason: payments.Items[0].FailureReason}
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// ownOrder reads an order of the caller. Someone else's order is "not
// found", so order ids cannot be probed.
func (s *server) ownOrder(ctx context.Context, id uuid.UUID) (orderingapi.Order, error) {
	o, err := async.Call(ctx, s.opts.CallTimeout, func(ctx context.Context) (orderingapi.Order, error) {
		return s.apis.Ordering.GetOrder(ctx, id)
	})()
	if err != nil {
		if errors.Is(err, orderingapi.ErrOrderNotFound) {
			return o, err
		}
		return o, s.unavailable(ctx, err)
	}
	if !caller(ctx).CanAccess(o.CustomerID) {
		return orderingapi.Order{}, orderingapi.ErrOrderNotFound
	}
	if o.Items == nil {
		o.Items = []orderingapi.Line{}
	}
	return o, nil
}

// Notifications is the answer of GET /bff/notifications: the newest first.
type Notifications struct {
	Items []notificationsapi.Notification `json:"items"`
}

func (s *server) notifications(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	list, err := async.Call(ctx, s.opts.CallTimeout, func(ctx context.Context) (page.Page[notificationsapi.Notification], error) {
		return s.apis.Notifications.List(ctx, caller(ctx).UserID, page.Request{Limit: 50})
	})()
	if err != nil {
		return s.unavailable(ctx, err)
	}
	httpx.WriteJSON(w, http.StatusOK, Notifications{Items: list.Items})
	return nil
}

// unavailable turns a failed core call into 503 bff.unavailable, unless the
// client left or the request ran out of time (not the module's fault), or
// the module refused the request itself (a client error), which passes through.
func (s *server) unavailable(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	switch apperr.KindOf(err) {
	case apperr.KindInternal, apperr.KindUnavailable, apperr.KindTimeout:
		return ErrUnavailable.Wrap(err)
	}
	return err
}
