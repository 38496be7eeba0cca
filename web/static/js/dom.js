// A tiny element builder: text always goes in as text, never as HTML, so a
// product name cannot inject markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'html') el.innerHTML = v; // only for the static icons below
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function money(minor, currency) {
  try {
    return new Intl.NumberFormat('en-IE', { style: 'currency', currency }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

export function when(iso) {
  const d = new Date(iso);
  return d.toLocaleString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
}

// Icons (static SVG).
export const icons = {
  leaf: '<svg viewBox="0 0 48 48" aria-hidden="true"><path d="M9 39c0-17 11-28 30-30-2 19-13 30-30 30Z" fill="currentColor"/><path d="M9 39 29 19" stroke="rgba(0,0,0,.18)" stroke-width="2.2" stroke-linecap="round"/></svg>',
  pot: '<svg viewBox="0 0 48 48" aria-hidden="true"><path d="M12 20h22v10a9 9 0 0 1-9 9h-4a9 9 0 0 1-9-9Z" fill="currentColor"/><path d="M34 23h3a4 4 0 0 1 0 8h-3" fill="none" stroke="currentColor" stroke-width="3"/><path d="M12 24 6 18" stroke="currentColor" stroke-width="3.2" stroke-linecap="round"/><rect x="17" y="14" width="12" height="5" rx="2.5" fill="currentColor"/><circle cx="23" cy="11" r="2.5" fill="currentColor"/></svg>',
  cup: '<svg viewBox="0 0 48 48" aria-hidden="true"><path d="M10 16h24v12a10 10 0 0 1-10 10h-4a10 10 0 0 1-10-10Z" fill="currentColor"/><path d="M34 19h3a5 5 0 0 1 0 10h-3" fill="none" stroke="currentColor" stroke-width="3"/><path d="M18 6c-2 3 2 4 0 7M25 6c-2 3 2 4 0 7" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" fill="none"/></svg>',
  whisk: '<svg viewBox="0 0 48 48" aria-hidden="true"><rect x="21" y="4" width="6" height="16" rx="3" fill="currentColor"/><path d="M16 20h16l-3 22H19Z" fill="currentColor"/><path d="M20 24l1 16M24 24v16M28 24l-1 16" stroke="rgba(0,0,0,.18)" stroke-width="1.6"/></svg>',
  bag: '<svg viewBox="0 0 64 64" aria-hidden="true"><path d="M14 22h36l-3 32H17Z" fill="none" stroke="currentColor" stroke-width="3" stroke-linejoin="round"/><path d="M24 26v-8a8 8 0 0 1 16 0v8" fill="none" stroke="currentColor" stroke-width="3" stroke-linecap="round"/></svg>',
};

const palettes = [
  ['#2f6b52', '#86b59a'], ['#7a4a2a', '#d39b6a'], ['#3d3a6b', '#8f8bc7'], ['#8a5a00', '#f4c76b'],
  ['#1f4d5e', '#6fb3c7'], ['#6b2f47', '#d08aa5'], ['#4d5e1f', '#a9c26b'], ['#5e3a1f', '#c9925e'],
];

// swatch is a product's picture: a gradient picked from its name (so a
// product keeps its colours), with an icon for what it is.
export function swatch(name) {
  let n = 0;
  for (const c of name) n = (n * 31 + c.charCodeAt(0)) >>> 0;
  const [a, b] = palettes[n % palettes.length];
  const lower = name.toLowerCase();
  const icon = /pot|kettle/.test(lower) ? icons.pot : /mug|cup/.test(lower) ? icons.cup : /whisk|infuser/.test(lower) ? icons.whisk : icons.leaf;
  return h('div', { class: 'swatch', style: `background: radial-gradient(circle at 30% 25%, ${b}, ${a})`, html: icon });
}
