// The review queue: submitted interviews to approve or return with a note, and approved ones
// to reopen. Each action goes to the server as the supervisor's operation, so it merges with
// whatever the phones send.

import { api } from '../api.js';
import { h, fill, notice, table, shortId, show } from '../dom.js';
import { t } from '../i18n.js';
import { load, userNames, userName } from './common.js';

export function render(el, { project }) {
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const submitted = h('section', { 'data-testid': 'review-submitted' });
  const approved = h('section', { 'data-testid': 'review-approved' });
  const detail = h('section', { class: 'detail' });
  fill(el, h('h1', {}, t('review_queue')), status, submitted, detail, h('h2', {}, t('status_completed') + ' · ' + t('approve')), approved);

  let areaCodes = new Map();
  const reload = () =>
    Promise.all([
      load(submitted, () => list(submitted, 'submitted')),
      load(approved, () => list(approved, 'approved')),
    ]);

  async function list(into, which) {
    const [rows, report] = await Promise.all([
      api.interviews(project, { status: which }),
      areaCodes.size ? null : api.coverage(project).catch(() => null),
    ]);
    const names = await userNames(rows.map((r) => r.interviewer));
    if (report) areaCodes = new Map((report.areas || []).map((a) => [a.id, a.code]));
    if (!rows.length) {
      notice(into, which === 'submitted' ? t('no_submitted') : t('none'));
      return;
    }
    fill(
      into,
      table(
        [t('case'), t('interviewer'), t('area'), t('version'), t('open_conflicts'), ''],
        rows.map((r) =>
          h(
            'tr',
            { dataset: { id: r.id, status: r.status || which, conflicts: r.open_conflicts ?? 0 } },
            h('td', {}, shortId(r.id)),
            h('td', {}, userName(names, r.interviewer)),
            h('td', {}, areaCodes.get(r.area) || shortId(r.area)),
            h('td', { class: 'num' }, r.version ?? '—'),
            h('td', { class: 'num' }, r.open_conflicts ?? 0),
            h('td', { class: 'actions' }, actions(r, which)),
          ),
        ),
      ),
    );
  }

  function actions(r, which) {
    const details = h('button', { class: 'quiet', onclick: () => showDetail(r.id) }, t('details'));
    if (which === 'approved') {
      return [details, h('button', { 'data-action': 'reopen', onclick: () => withNote(r, 'reopen') }, t('reopen'))];
    }
    return [
      details,
      h('button', { class: 'primary', 'data-action': 'approve', onclick: (e) => act(e.target, () => api.approve(project, r.id), t('approved_msg')) }, t('approve')),
      h('button', { 'data-action': 'return', onclick: () => withNote(r, 'return') }, t('return')),
    ];
  }

  function withNote(r, what) {
    const note = h('textarea', { name: 'note', rows: 3, required: what === 'return', 'data-testid': 'note' });
    const send = h('button', { type: 'submit', class: 'primary', 'data-action': `confirm-${what}` }, t(what));
    const form = h(
      'form',
      { class: 'card note-form' },
      h('label', {}, t('note'), note),
      h('div', { class: 'row' }, send, h('button', { type: 'button', class: 'quiet', onclick: () => fill(detail) }, t('close'))),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (what === 'return' && !note.value.trim()) {
        notice(status, t('note_required'), 'error');
        return;
      }
      const call = what === 'return' ? () => api.returnInterview(project, r.id, note.value.trim()) : () => api.reopen(project, r.id, note.value.trim());
      act(send, call, what === 'return' ? t('returned_msg') : t('reopened_msg')).then(() => fill(detail));
    });
    fill(detail, h('h2', {}, `${t(what)} · `, shortId(r.id)), form);
    note.focus();
  }

  async function act(button, call, done) {
    button.disabled = true;
    try {
      await call();
      notice(status, done, 'ok');
      await reload();
    } catch (e) {
      notice(status, t('error_msg', { error: e.message }), 'error');
      button.disabled = false;
    }
  }

  async function showDetail(id) {
    await load(detail, async () => {
      const e = await api.interview(project, id);
      const fields = Object.entries((e && e.fields) || {});
      fill(
        detail,
        h('h2', {}, t('details'), ' · ', shortId(id)),
        h('button', { class: 'quiet', onclick: () => fill(detail) }, t('close')),
        table([t('field'), t('value')], fields.map(([k, v]) => [h('td', { class: 'key' }, k), h('td', {}, show(v))])),
      );
    });
  }

  reload();
}
