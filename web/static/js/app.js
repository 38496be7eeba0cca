// Leaf & Kettle, the storefront: a single page whose screens have real
// paths (the server answers index.html for them), drawn from the BFF's
// screen-shaped answers. Moving between screens uses the History API, so the
// page never reloads; live screens use Server-Sent Events, never a polling loop.

import { api, orderStream, stockStream } from './api.js';
import * as cart from './cart.js';
import { h, money, when, swatch, icons } from './dom.js';

const view = document.getElementById('view');
const main = document.getElementById('main');
let session = null; // { user } once known
let cleanup = []; // what the current screen must close when left (streams)

// ---- routing ---------------------------------------------------------------

const routes = [
  [/^\/$/, home],
  [/^\/products\/([0-9a-f-]{36})$/i, product],
  [/^\/cart$/, cartScreen],
  [/^\/checkout$/, checkout],
  [/^\/login$/, (m, q) => authScreen('login', q)],
  [/^\/register$/, (m, q) => authScreen('register', q)],
  [/^\/orders$/, orders],
  [/^\/orders\/([0-9a-f-]{36})$/i, order],
  [/^\/notifications$/, notifications],
];

export function navigate(to, { replace = false } = {}) {
  if (replace) history.replaceState({}, '', to);
  else history.pushState({}, '', to);
  render();
  window.scrollTo(0, 0);
}

async function render() {
  cleanup.forEach((f) => f());
  cleanup = [];
  const url = new URL(location.href);
  const match = routes.map(([re, f]) => [url.pathname.match(re), f]).find(([m]) => m);
  markNav(url.pathname);
  if (!match) return show(notFound());
  const [m, screen] = match;
  try {
    const el = await screen(m, url.searchParams);
    if (el) show(el);
  } catch (err) {
    if (err.status === 401) {
      session = null;
      renderAccount();
      navigate(`/login?next=${encodeURIComponent(url.pathname)}`, { replace: true });
      return;
    }
    show(errorScreen(err));
  }
}

function show(el) {
  view.replaceChildren(el);
  const title = el.querySelector('h1');
  document.title = `${title ? title.textContent + ' — ' : ''}Leaf & Kettle`;
  if (title) {
    title.setAttribute('tabindex', '-1');
    title.focus({ preventScroll: true }); // screen readers hear the new screen
  }
}

function markNav(path) {
  const section = path === '/' || path.startsWith('/products') ? 'home' : path.split('/')[1];
  document.querySelectorAll('[data-nav]').forEach((a) => {
    if (a.dataset.nav === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-link]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', render);

// orderRef is how the screens name an order: the end of its id (order ids
// are time-ordered, so their beginnings look alike).
function orderRef(id) { return `#${id.slice(-8).toUpperCase()}`; }

function link(href, attrs, ...children) { return h('a', { href, 'data-link': true, ...attrs }, ...children); }

function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('show'), 2600);
}

// ---- header ---------------------------------------------------------------

function renderCount() {
  const el = document.getElementById('cart-count');
  const n = cart.count();
  el.textContent = String(n);
  el.toggleAttribute('data-empty', n === 0);
  el.setAttribute('aria-label', `${n} ${n === 1 ? 'item' : 'items'} in cart`);
}
cart.onChange(renderCount);

function renderAccount() {
  const box = document.getElementById('account');
  if (session?.user) {
    const name = session.user.name || session.user.email || 'you';
    box.replaceChildren(
      h('span', { class: 'who', 'data-testid': 'signed-in-as' }, `Hi, ${name.split(' ')[0]}`),
      h('button', { class: 'link-button', type: 'button', 'data-testid': 'logout', onclick: logout }, 'Sign out'),
    );
  } else {
    box.replaceChildren(link('/login', { 'data-testid': 'nav-login' }, 'Sign in'));
  }
}

async function logout() {
  await api.logout().catch(() => {});
  session = null;
  renderAccount();
  toast('You are signed out.');
  navigate('/');
}

// ---- stock badges -----------------------------------------------------------

function stockBadge(productId, available) {
  const el = h('span', { class: 'stock', 'data-stock-for': productId, 'data-testid': 'stock' });
  setStock(el, available);
  return el;
}

function setStock(el, available) {
  el.dataset.available = available ?? '';
  el.className = 'stock';
  if (available === null || available === undefined) {
    el.classList.add('stock-unknown');
    el.textContent = 'Stock unknown';
  } else if (available <= 0) {
    el.classList.add('stock-out');
    el.textContent = 'Sold out';
  } else if (available <= 5) {
    el.classList.add('stock-low');
    el.textContent = `Only ${available} left`;
  } else {
    el.classList.add('stock-ok');
    el.textContent = `${available} in stock`;
  }
  const card = el.closest('[data-product-id]');
  card?.querySelectorAll('[data-testid=add-to-cart]').forEach((b) => { b.disabled = available !== null && available !== undefined && available <= 0; });
}

// followStock keeps the stock badges of ids live while the screen is shown.
function followStock(ids) {
  if (!ids.length) return;
  const es = stockStream(ids);
  es.addEventListener('stock', (e) => {
    const { product_id: id, available } = JSON.parse(e.data);
    document.querySelectorAll(`[data-stock-for="${id}"]`).forEach((el) => {
      if (el.dataset.available === String(available)) return;
      setStock(el, available);
      el.classList.add('flash');
      setTimeout(() => el.classList.remove('flash'), 1300);
    });
  });
  cleanup.push(() => es.close());
}

function degradedNotice(degraded, what) {
  if (!degraded || !degraded.length) return null;
  return h('p', { class: 'notice notice-warn', role: 'status', 'data-testid': 'degraded' }, what);
}

// ---- screens -------------------------------------------------------------

async function home() {
  const data = await api.home();
  const cards = data.products.map((p) => {
    const add = h('button', { class: 'btn btn-primary btn-small', type: 'button', 'data-testid': 'add-to-cart',
      'aria-label': `Add ${p.name} to cart`, disabled: p.available !== null && p.available <= 0,
      onclick: () => { cart.add(p.id); toast(`${p.name} is in your cart.`); } }, 'Add to cart');
    const li = h('li', { class: 'card', 'data-testid': 'product-card', 'data-product-id': p.id },
      link(`/products/${p.id}`, { tabindex: '-1', 'aria-hidden': 'true' }, swatch(p.name, p.id)),
      h('div', { class: 'card-body' },
        h('h3', {}, link(`/products/${p.id}`, { 'data-testid': 'product-link' }, p.name)),
        h('p', { class: 'desc' }, p.description),
        stockBadge(p.id, p.available),
        h('div', { class: 'card-foot' }, h('span', { class: 'price' }, money(p.price, p.currency)), add)));
    return li;
  });
  const el = h('div', {},
    h('section', { class: 'hero', 'aria-labelledby': 'hero-title' },
      h('h1', { id: 'hero-title' }, 'Loose-leaf tea, brewed with care'),
      h('p', {}, 'Small-batch teas and the things to brew them with. Stock updates live as other customers shop.')),
    degradedNotice(data.degraded, 'Stock figures are unavailable right now; you can still shop and we will check at checkout.'),
    h('h2', { class: 'visually-hidden' }, 'Products'),
    cards.length ? h('ul', { class: 'grid', 'data-testid': 'product-grid' }, cards)
      : h('p', { class: 'empty' }, 'No products yet.'));
  // Badges are in the DOM once shown; follow them after this screen is up.
  queueMicrotask(() => followStock(data.products.map((p) => p.id)));
  return el;
}

async function product([, id]) {
  const { product: p, degraded } = await api.product(id);
  let qty = 1;
  const out = h('span', { 'aria-live': 'polite', 'data-testid': 'quantity' }, '1');
  const step = (d) => { qty = Math.max(1, Math.min(99, qty + d)); out.textContent = String(qty); };
  const el = h('article', { 'data-product-id': p.id },
    link('/', { class: 'back' }, '← All products'),
    h('div', { class: 'product' },
      swatch(p.name, p.id),
      h('div', {},
        h('h1', { 'data-testid': 'product-name' }, p.name),
        h('p', { class: 'lead' }, p.description),
        h('p', { class: 'price' }, money(p.price, p.currency)),
        stockBadge(p.id, p.available),
        degradedNotice(degraded, 'We cannot show the stock right now.'),
        h('div', { class: 'buy' },
          h('div', { class: 'qty', role: 'group', 'aria-label': 'Quantity' },
            h('button', { type: 'button', 'aria-label': 'One less', onclick: () => step(-1) }, '−'), out,
            h('button', { type: 'button', 'aria-label': 'One more', onclick: () => step(1) }, '+')),
          h('button', { class: 'btn btn-primary', type: 'button', 'data-testid': 'add-to-cart',
            disabled: p.available !== null && p.available <= 0,
            onclick: () => { cart.add(p.id, qty); toast(`${qty} × ${p.name} added to your cart.`); } }, 'Add to cart'),
          link('/cart', { class: 'btn btn-secondary' }, 'View cart')),
        h('ul', { class: 'perks' },
          h('li', {}, h('strong', {}, 'Live stock. '), 'The figure above changes as other customers buy.'),
          h('li', {}, h('strong', {}, 'Test payments. '), 'At checkout you choose how the test card behaves; nothing is charged.'),
          h('li', {}, h('strong', {}, 'Follow your order. '), 'Its page updates by itself until it is confirmed.')))));
  queueMicrotask(() => followStock([p.id]));
  return el;
}

const problemText = {
  unknown_product: 'This product is no longer sold.',
  insufficient_stock: 'Not enough in stock for this quantity.',
  unavailable: 'We cannot check this product right now.',
};

function emptyCart() {
  return h('div', { class: 'panel empty', 'data-testid': 'cart-empty' },
    h('div', { html: icons.bag }),
    h('h1', {}, 'Your cart is empty'),
    h('p', {}, 'Have a look at our teas — they are worth it.'),
    link('/', { class: 'btn btn-primary' }, 'Browse the shop'));
}

async function cartScreen() {
  const lines = cart.items();
  if (!lines.length) return emptyCart();
  const priced = await api.priceCart(lines);
  const rows = priced.lines.map((l) => {
    const qty = h('div', { class: 'qty', role: 'group', 'aria-label': `Quantity of ${l.name || 'product'}` },
      h('button', { type: 'button', 'aria-label': 'One less', onclick: () => { cart.setQuantity(l.product_id, l.quantity - 1); render(); } }, '−'),
      h('span', {}, String(l.quantity)),
      h('button', { type: 'button', 'aria-label': 'One more', onclick: () => { cart.setQuantity(l.product_id, l.quantity + 1); render(); } }, '+'));
    return h('li', { class: 'line', 'data-testid': 'cart-line' },
      swatch(l.name || '?', l.product_id),
      h('div', {},
        l.name ? link(`/products/${l.product_id}`, { class: 'line-name' }, l.name) : h('span', { class: 'line-name' }, 'Unknown product'),
        h('div', { class: 'line-meta' }, l.unit_price ? `${money(l.unit_price, l.currency)} each` : ''),
        l.problem ? h('div', { class: 'line-problem', 'data-testid': 'line-problem' }, problemText[l.problem] || l.problem,
          l.available !== null && l.problem === 'insufficient_stock' ? ` ${l.available} available.` : '') : null),
      h('div', { class: 'line-side' },
        h('strong', {}, l.line_total ? money(l.line_total, l.currency) : '—'),
        qty,
        h('button', { class: 'link-button', type: 'button', onclick: () => { cart.remove(l.product_id); render(); } }, 'Remove')));
  });
  const ready = priced.can_checkout;
  return h('div', {},
    h('h1', {}, 'Your cart'),
    degradedNotice(priced.degraded, 'Some details are unavailable right now; prices and stock are checked again at checkout.'),
    h('div', { class: 'layout-2' },
      h('section', { class: 'panel', 'aria-label': 'Cart lines' }, h('ul', { class: 'lines' }, rows)),
      h('aside', { class: 'panel', 'aria-label': 'Summary' },
        h('h2', { style: 'margin-top:0' }, 'Summary'),
        h('div', { class: 'totals' }, h('span', {}, 'Total'), h('span', { 'data-testid': 'cart-total' }, money(priced.total, priced.currency || 'EUR'))),
        ready ? link('/checkout', { class: 'btn btn-primary btn-block', 'data-testid': 'checkout-button' }, 'Go to checkout')
          : h('p', { class: 'notice notice-warn' }, 'Fix the lines marked above to check out.'),
        h('p', { class: 'hint' }, 'Payment is simulated — you choose how the test card behaves at checkout.'))));
}

function newAttemptKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const tokens = [
  ['tok_ok', 'A card that works', 'The payment goes through and your order is confirmed within a moment.'],
  ['tok_decline', 'A card that is declined', 'The bank says no: the order is cancelled, its stock is put back, and you see why.'],
  ['tok_slow', 'A card whose bank is too slow', 'The bank does not answer in time: after a few seconds the order is cancelled and nothing is charged.'],
];

async function checkout() {
  if (!session?.user) {
    navigate('/login?next=/checkout', { replace: true });
    return null;
  }
  const lines = cart.items();
  if (!lines.length) return emptyCart();
  const priced = await api.priceCart(lines);
  // One key per checkout attempt: a repeat of the same attempt (double
  // click, lost answer) places one order; another choice is a new attempt.
  let attempt = { body: '', key: '' };
  const error = h('div', { class: 'form-error', role: 'alert', 'data-testid': 'form-error' });
  const submit = h('button', { class: 'btn btn-primary btn-block', type: 'submit', 'data-testid': 'place-order' },
    `Place order · ${money(priced.total, priced.currency || 'EUR')}`);
  const form = h('form', { 'data-testid': 'checkout-form', novalidate: true },
    error,
    h('fieldset', { class: 'tokens' },
      h('legend', {}, 'How should the test card behave?'),
      tokens.map(([tok, title, text], i) => h('label', { class: 'token', for: `token-${tok}` },
        h('input', { type: 'radio', name: 'token', id: `token-${tok}`, value: tok, checked: i === 0, 'data-testid': `token-${tok}` }),
        h('strong', {}, title, h('code', {}, tok)),
        h('span', {}, text)))),
    submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = form.elements.token.value;
    const body = JSON.stringify([lines, token]);
    if (attempt.body !== body) attempt = { body, key: newAttemptKey() };
    submit.disabled = true;
    error.textContent = '';
    try {
      const placed = await api.checkout(lines, token, attempt.key);
      cart.clear();
      navigate(`/orders/${placed.order_id}`);
    } catch (err) {
      if (err.status === 401) { navigate('/login?next=/checkout'); return; }
      error.textContent = err.message;
      submit.disabled = false;
    }
  });
  return h('div', {},
    h('h1', {}, 'Checkout'),
    h('div', { class: 'layout-2' },
      h('section', { class: 'panel', 'aria-label': 'Payment' }, form),
      h('aside', { class: 'panel', 'aria-label': 'Your order' },
        h('h2', { style: 'margin-top:0' }, 'Your order'),
        h('ul', { class: 'lines' }, priced.lines.map((l) => h('li', { class: 'line' },
          swatch(l.name || '?', l.product_id),
          h('div', {}, h('div', { class: 'line-name' }, l.name), h('div', { class: 'line-meta' }, `${l.quantity} × ${money(l.unit_price, l.currency)}`)),
          h('strong', {}, money(l.line_total, l.currency))))),
        h('div', { class: 'totals' }, h('span', {}, 'Total'), h('span', {}, money(priced.total, priced.currency || 'EUR'))),
        priced.can_checkout ? null : h('p', { class: 'notice notice-warn' }, 'Some lines cannot be ordered as they are: the order may be cancelled.'))));
}

function authScreen(kind, query) {
  const next = query.get('next');
  const safeNext = next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
  const register = kind === 'register';
  const error = h('div', { class: 'form-error', role: 'alert', 'data-testid': 'form-error' });
  const field = (id, label, type, autocomplete, hint) => h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, name: id, type, autocomplete, required: true, 'aria-describedby': hint ? `${id}-hint` : null }),
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null);
  const submit = h('button', { class: 'btn btn-primary btn-block', type: 'submit', 'data-testid': `${kind}-submit` },
    register ? 'Create account' : 'Sign in');
  const form = h('form', { 'data-testid': `${kind}-form`, novalidate: true },
    error,
    register ? field('name', 'Your name', 'text', 'name') : null,
    field('email', 'Email', 'email', 'email'),
    field('password', 'Password', 'password', register ? 'new-password' : 'current-password', register ? '10 to 128 characters, and not your email address.' : null),
    submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (n) => form.elements[n]?.value.trim() ?? '';
    submit.disabled = true;
    error.textContent = '';
    try {
      session = register ? await api.register(v('name'), v('email'), form.elements.password.value)
        : await api.login(v('email'), form.elements.password.value);
      renderAccount();
      toast(register ? 'Welcome! Your account is ready.' : 'You are signed in.');
      navigate(safeNext, { replace: true });
    } catch (err) {
      const fields = Array.isArray(err.problem?.errors) ? err.problem.errors.map((f) => `${f.field}: ${f.message}`).join('; ') : '';
      error.textContent = fields ? `${err.message} (${fields})` : err.message;
      submit.disabled = false;
      form.querySelector('input')?.focus();
    }
  });
  const other = register ? ['Already have an account?', '/login', 'Sign in'] : ['New here?', '/register', 'Create an account'];
  return h('div', { class: 'auth' },
    h('div', { class: 'panel' },
      h('h1', {}, register ? 'Create your account' : 'Welcome back'),
      h('p', { class: 'muted' }, register ? 'An account keeps your orders and messages in one place.' : 'Sign in to check out and follow your orders.'),
      form,
      h('p', { class: 'switch' }, `${other[0]} `, link(`${other[1]}${next ? `?next=${encodeURIComponent(safeNext)}` : ''}`, { 'data-testid': `to-${other[1].slice(1)}` }, other[2]))));
}

const statusWords = {
  pending: ['…', 'We are reserving your tea and taking the payment.', 'This page updates by itself.'],
  confirmed: ['✓', 'Your order is confirmed.', 'The payment went through and your tea is on its way.'],
  cancelled: ['✕', 'Your order was cancelled.', ''],
};

async function order([, id]) {
  const data = await api.order(id);
  const pill = h('span', { 'data-testid': 'order-status' });
  const icon = h('div', { class: 'banner-icon', 'aria-hidden': 'true' });
  const big = h('p', { class: 'big' });
  const detail = h('p', { 'data-testid': 'order-reason' });
  // The banner is a live region: a screen reader announces the change.
  const banner = h('div', { class: 'order-banner', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true', 'data-testid': 'order-live' },
    icon, h('div', {}, big, detail));
  const payment = h('dd', { 'data-testid': 'payment-status' });
  const updated = h('dd', {});
  const paint = (o, pay) => {
    pill.className = `status status-${o.status}`;
    pill.textContent = o.status;
    pill.dataset.status = o.status;
    banner.className = `order-banner banner-${o.status}`;
    const [i, title, text] = statusWords[o.status] || ['', o.status, ''];
    icon.textContent = i;
    big.textContent = title;
    detail.textContent = o.status === 'cancelled' ? `Reason: ${o.failure_reason || 'not given'}` : text;
    updated.textContent = when(o.updated_at);
    if (pay !== undefined) payment.textContent = pay ? pay.status : (o.status === 'pending' ? 'in progress' : 'none');
  };
  const o = data.order;
  const el = h('article', {},
    link('/orders', { class: 'back' }, '← Your orders'),
    h('div', { class: 'order-head' }, h('h1', {}, `Order ${orderRef(o.id)}`), pill),
    banner,
    h('div', { class: 'layout-2' },
      h('section', { class: 'panel', 'aria-label': 'Items' },
        h('table', {},
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Item'), h('th', { scope: 'col', class: 'num' }, 'Qty'), h('th', { scope: 'col', class: 'num' }, 'Price'))),
          h('tbody', {}, o.items.map((l) => h('tr', {}, h('td', {}, l.name), h('td', { class: 'num' }, String(l.quantity)), h('td', { class: 'num' }, money(l.line_total, o.currency))))),
          h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', colspan: '2' }, 'Total'), h('td', { class: 'num' }, h('strong', {}, money(o.total, o.currency))))))),
      h('aside', { class: 'panel', 'aria-label': 'Details' },
        h('dl', { class: 'kv' },
          h('dt', {}, 'Placed'), h('dd', {}, when(o.created_at)),
          h('dt', {}, 'Last change'), updated,
          h('dt', {}, 'Payment'), payment),
        degradedNotice(data.degraded, 'Payment details are unavailable right now.'))));
  paint(o, data.payment);
  if (o.status === 'pending') {
    const es = orderStream(o.id);
    es.addEventListener('order', (e) => paint(JSON.parse(e.data).order));
    es.addEventListener('end', async () => {
      es.close();
      // One read for the payment's outcome, now that the order has ended.
      const done = await api.order(o.id).catch(() => null);
      if (done) paint(done.order, done.payment);
    });
    cleanup.push(() => es.close());
  }
  return el;
}

async function orders() {
  const data = await api.orders();
  if (!data.orders.length) {
    return h('div', { class: 'panel empty' }, h('div', { html: icons.bag }), h('h1', {}, 'No orders yet'),
      h('p', {}, 'When you order, you can follow it here.'), link('/', { class: 'btn btn-primary' }, 'Start shopping'));
  }
  return h('div', {},
    h('h1', {}, 'Your orders'),
    h('ul', { class: 'order-list' }, data.orders.map((o) => h('li', { class: 'card order-item', 'data-testid': 'order-row', 'data-order-id': o.id },
      link(`/orders/${o.id}`, { 'aria-label': `Order ${orderRef(o.id)}, ${o.status}, ${money(o.total, o.currency)}` },
        h('div', {}, h('strong', {}, `Order ${orderRef(o.id)}`), ' ', h('span', { class: 'when' }, when(o.created_at))),
        h('span', { class: `status status-${o.status}`, 'data-status': o.status }, o.status),
        h('div', { class: 'what' }, o.items.map((i) => `${i.quantity} × ${i.name}`).join(', '),
          o.status === 'cancelled' && o.failure_reason ? ` — ${o.failure_reason}` : ''),
        h('div', { class: 'total' }, money(o.total, o.currency)))))));
}

const noteLook = {
  welcome: ['♥', '#e3efe7', '#1f4d3a'],
  order_confirmed: ['✓', '#e2f4ea', '#1f7a4d'],
  order_cancelled: ['✕', '#fbe9e1', '#b8552f'],
  payment_refunded: ['↺', '#fff2d6', '#8a5a00'],
};

async function notifications() {
  const data = await api.notifications();
  if (!data.items.length) {
    return h('div', { class: 'panel empty' }, h('h1', {}, 'No messages yet'), h('p', {}, 'We write when something happens to your account or your orders.'));
  }
  return h('div', {},
    h('h1', {}, 'Messages'),
    h('ul', { class: 'note-list' }, data.items.map((n) => {
      const [sym, bg, fg] = noteLook[n.kind] || ['•', '#efece6', '#5d6b63'];
      return h('li', { class: 'card note', 'data-testid': 'notification', 'data-kind': n.kind },
        h('div', { class: 'note-icon', style: `background:${bg};color:${fg}`, 'aria-hidden': 'true' }, sym),
        h('div', {}, h('h2', {}, n.subject), h('p', {}, n.body), h('time', { datetime: n.created_at }, when(n.created_at))));
    })));
}

function notFound() {
  return h('div', { class: 'panel empty' }, h('h1', {}, 'Nothing here'), h('p', {}, 'This page does not exist.'), link('/', { class: 'btn btn-primary' }, 'Back to the shop'));
}

function errorScreen(err) {
  return h('div', { class: 'panel empty', 'data-testid': 'error' },
    h('h1', {}, err.status === 404 ? 'Not found' : 'Something went wrong'),
    h('p', {}, err.message),
    h('button', { class: 'btn btn-secondary', type: 'button', onclick: render }, 'Try again'));
}

// ---- start --------------------------------------------------------------

async function start() {
  renderCount();
  renderAccount();
  try {
    session = await api.session();
  } catch {
    session = null;
  }
  renderAccount();
  await render();
  document.documentElement.dataset.ready = 'true'; // tests wait for this
}
start();
