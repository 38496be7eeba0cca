// The storefront's only server: the BFF under /bff/. The session lives in an
// HttpOnly cookie the page cannot read; state-changing calls carry the
// X-Shop-Client header the BFF requires against cross-site requests.

export class Problem extends Error {
  constructor(p, status) {
    super(p.detail || p.title || `request failed (${status})`);
    this.status = status;
    this.code = p.code || '';
    this.problem = p;
  }
}

async function request(method, path, body, headers = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET') init.headers['X-Shop-Client'] = 'storefront';
  let res;
  try {
    res = await fetch(`/bff${path}`, init);
  } catch {
    throw new Problem({ title: 'The shop cannot be reached. Check your connection and try again.', code: 'network' }, 0);
  }
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await res.json().catch(() => ({})) : {};
  if (!res.ok) throw new Problem(data, res.status);
  return data;
}

export const api = {
  home: () => request('GET', '/home'),
  product: (id) => request('GET', `/products/${encodeURIComponent(id)}`),
  priceCart: (items) => request('POST', '/cart', { items }),
  session: () => request('GET', '/session'),
  login: (email, password) => request('POST', '/login', { email, password }),
  register: (name, email, password) => request('POST', '/register', { name, email, password }),
  logout: () => request('POST', '/logout'),
  checkout: (items, paymentToken, attempt) =>
    request('POST', '/checkout', { items, payment_token: paymentToken }, { 'Idempotency-Key': attempt }),
  orders: () => request('GET', '/orders'),
  order: (id) => request('GET', `/orders/${encodeURIComponent(id)}`),
  notifications: () => request('GET', '/notifications'),
};

// Live streams: EventSource sends the session cookie (same origin) and
// reconnects by itself when the server ends a stream.
export function orderStream(id) { return new EventSource(`/bff/orders/${encodeURIComponent(id)}/live`); }
export function stockStream(ids) { return new EventSource(`/bff/stock/live?ids=${ids.map(encodeURIComponent).join(',')}`); }
