// Operations the server refused (kept with their reason, never applied): what an old app or a
// confused phone tried to do.

import { api } from '../api.js';
import { h, fill, notice, table, shortId, show } from '../dom.js';
import { t } from '../i18n.js';
import { load, userNames, userName } from './common.js';

export function render(el, { project }) {
  const list = h('section', { 'data-testid': 'refusals' });
  fill(el, h('h1', {}, t('refusal_queue')), list);
  load(list, async () => {
    const rows = await api.refusals(project);
    const names = await userNames(rows.map((r) => r.author));
    if (!rows.length) {
      notice(list, t('no_refusals'));
      return;
    }
    fill(
      list,
      table(
        [t('seq'), t('author'), t('device'), t('reason'), t('operation')],
        rows.map((r) => {
          const reason = r.reason || {};
          return [
            r.seq ?? '—',
            userName(names, r.author),
            h('td', {}, shortId(r.device)),
            h('td', { class: 'reason' }, h('code', {}, reason.code || ''), ' ', reason.message || ''),
            h('td', {}, h('details', {}, h('summary', {}, summary(r.op)), h('pre', {}, JSON.stringify(r.op, null, 2)))),
          ];
        }),
      ),
    );
  });
}

function summary(op) {
  if (!op || typeof op !== 'object') return show(op);
  const target = op.target ? `${op.target.kind || ''} …${String(op.target.id || '').slice(-8)}` : '';
  const body = op.body ? Object.keys(op.body).join(', ') : '';
  return `${target} ${body}`.trim() || '…';
}
