// What several views share: loading with a retry button, the interviewer names, the tallies'
// columns.

import { api, session } from '../api.js';
import { h, fill, notice, num, pct } from '../dom.js';
import { t } from '../i18n.js';

/** Shows "loading", runs `work`, and on failure an error with a retry button. */
export async function load(el, work) {
  notice(el, t('loading'));
  try {
    return await work();
  } catch (e) {
    fill(
      el,
      h('p', { class: 'notice error', role: 'alert' }, t('failed', { error: e.message })),
      h('button', { onclick: () => load(el, work) }, t('retry')),
    );
    return undefined;
  }
}

const names = new Map();
let everyone = false;

/**
 * user id → a name to show, for `ids`. Administrators read the whole list once; supervisors
 * may read only their team's accounts, one by one (a handful per project).
 */
export async function userNames(ids = []) {
  const user = session.user;
  if (user && user.role === 'admin' && !everyone) {
    everyone = true;
    try {
      for (const u of await api.users()) names.set(u.id, u.display_name || u.username);
    } catch {
      // Ids are shown instead.
    }
  }
  const unknown = [...new Set(ids.filter((id) => id && !names.has(id)))];
  await Promise.all(
    unknown.map(async (id) => {
      try {
        const u = await api.user(id);
        names.set(id, u.display_name || u.username);
      } catch {
        names.set(id, null); // Not this account's to see: asked once.
      }
    }),
  );
  return names;
}

export function userName(map, id) {
  if (!id) return t('unassigned');
  return map.get(id) || `…${String(id).slice(-8)}`;
}

/** The funnel columns of a coverage tally (header texts and cells). */
export const TALLY_HEADERS = () => [
  t('listed'),
  t('expected'),
  t('listed_vs_expected'),
  t('sampled'),
  t('assigned'),
  t('visited'),
  t('completed'),
  t('refused'),
  t('non_contact'),
  t('vacant'),
  t('response_rate'),
  t('flags'),
];

export function tallyCells(x) {
  return [
    num(x.listed),
    x.expected === undefined || x.expected === null ? '—' : num(Math.round(x.expected)),
    pct(x.listed_to_expected),
    num(x.sampled),
    num(x.assigned),
    num(x.visited),
    num(x.completed),
    num(x.refused),
    num(x.non_contact),
    num(x.vacant),
    pct(x.rates && x.rates.RR3),
    num(x.flags),
  ];
}

/** A progress bar: completed of sampled. */
export function progress(done, of) {
  const share = of ? Math.min(1, done / of) : 0;
  return h(
    'div',
    { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': of || 0, 'aria-valuenow': done || 0 },
    h('span', { style: `width:${(share * 100).toFixed(1)}%` }),
  );
}
