// The cart lives in the browser (localStorage): the server prices it when
// it is shown and checks it at checkout.

const KEY = 'shop.cart.v1';
const listeners = new Set();

export function items() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(v) ? v.filter((l) => l && typeof l.product_id === 'string' && l.quantity > 0) : [];
  } catch {
    return [];
  }
}

function save(lines) {
  localStorage.setItem(KEY, JSON.stringify(lines));
  listeners.forEach((f) => f(lines));
}

export function count() { return items().reduce((n, l) => n + l.quantity, 0); }

export function add(productId, quantity = 1) {
  const lines = items();
  const line = lines.find((l) => l.product_id === productId);
  if (line) line.quantity = Math.min(99, line.quantity + quantity);
  else lines.push({ product_id: productId, quantity: Math.min(99, quantity) });
  save(lines);
}

export function setQuantity(productId, quantity) {
  const lines = items().map((l) => (l.product_id === productId ? { ...l, quantity: Math.min(99, quantity) } : l));
  save(lines.filter((l) => l.quantity > 0));
}

export function remove(productId) { save(items().filter((l) => l.product_id !== productId)); }
export function clear() { save([]); }
export function onChange(f) { listeners.add(f); }

// Another tab changed the cart.
window.addEventListener('storage', (e) => { if (e.key === KEY) listeners.forEach((f) => f(items())); });
