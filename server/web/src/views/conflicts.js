// The conflict queue: each open conflict record with its competing versions side by side; the
// supervisor picks one value, or keeps what is shown.

import { api } from '../api.js';
import { h, fill, notice, shortId, show } from '../dom.js';
import { t } from '../i18n.js';
import { load, userNames, userName } from './common.js';

export function render(el, { project }) {
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const list = h('section', { 'data-testid': 'conflicts' });
  fill(el, h('h1', {}, t('conflict_queue')), status, list);

  const reload = () => load(list, async () => {
    const records = await api.conflicts(project);
    const names = await userNames(records.flatMap((c) => (c.entries || []).map((e) => e.author)));
    if (!records.length) {
      notice(list, t('no_conflicts'));
      return;
    }
    fill(list, records.map((c) => card(c, names)));
  });

  function card(c, names) {
    const entries = c.entries || [];
    const valued = c.kind === undefined || ['value', 'position', 'parent'].includes(c.kind);
    return h(
      'article',
      { class: 'card conflict', dataset: { conflict: c.conflict || c.id, entity: c.entity_id } },
      h('header', {}, h('strong', {}, c.key || '—'), ' ', h('span', { class: 'muted' }, `${c.kind || ''} · ${c.entity_kind || ''} `), shortId(c.entity_id)),
      c.provisional !== undefined ? h('p', {}, `${t('shown_now')}: `, h('code', {}, show(c.provisional))) : null,
      h(
        'div',
        { class: 'side-by-side' },
        entries.map((e, i) =>
          h(
            'div',
            { class: 'entry' },
            h('h3', {}, t('entry', { n: i + 1 })),
            h('dl', {},
              h('dt', {}, t('value')), h('dd', {}, h('code', {}, show(e.value))),
              h('dt', {}, t('author')), h('dd', {}, userName(names, e.author)),
              h('dt', {}, t('device')), h('dd', {}, shortId(e.device)),
              e.action ? [h('dt', {}, t('kind')), h('dd', {}, e.action)] : null),
            valued && 'value' in e
              ? h('button', { class: 'primary', 'data-action': 'choose', onclick: (ev) => resolve(ev.target, c, { value: e.value }) }, t('choose_this'))
              : null,
          ),
        ),
      ),
      h('button', { 'data-action': 'keep', onclick: (ev) => resolve(ev.target, c, 'keep_current') }, t('keep_current')),
    );
  }

  async function resolve(button, c, decision) {
    button.disabled = true;
    try {
      await api.resolve(project, c.conflict || c.id, c.entity_id, decision);
      notice(status, t('resolved_msg'), 'ok');
      await reload();
    } catch (e) {
      notice(status, t('error_msg', { error: e.message }), 'error');
      button.disabled = false;
    }
  }

  reload();
}
