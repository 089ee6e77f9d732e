// Tiny DOM helpers: views build their markup with `h` (text is always set as text, never parsed
// as HTML, so names and notes from the field cannot inject markup).

/** An element: h('button', {class: 'x', onclick: f}, 'text', child, …). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table from header cells and rows of cells; numeric cells align right. */
export function table(headers, rows, attrs = {}) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      attrs,
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h(
        'tbody',
        {},
        rows.map((r) =>
          r instanceof Node
            ? r
            : h(
                'tr',
                {},
                r.map((c) => (c instanceof Node && c.tagName === 'TD' ? c : h('td', cellAttrs(c), c))),
              ),
        ),
      ),
    ),
  );
}

function cellAttrs(c) {
  return typeof c === 'number' || (typeof c === 'string' && /^[\d.,%\s—–-]+$/.test(c))
    ? { class: 'num' }
    : {};
}

/** A count, or the dash. */
export function num(n) {
  return n === undefined || n === null ? '—' : Number(n).toLocaleString();
}

/** A proportion as a percentage, or the dash. */
export function pct(x) {
  return x === undefined || x === null || Number.isNaN(x) ? '—' : `${(x * 100).toFixed(1)}%`;
}

/** A short form of a UUID for tables (the full id is in the title). */
export function shortId(id) {
  if (!id) return '—';
  const s = String(id);
  return h('span', { class: 'id', title: s }, s.length > 12 ? `…${s.slice(-8)}` : s);
}

/** A status message in `el` (kind: info | ok | error). */
export function notice(el, text, kind = 'info') {
  return fill(el, h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text));
}

/** A value from the field shown as text. */
export function show(v) {
  if (v === undefined || v === null) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
