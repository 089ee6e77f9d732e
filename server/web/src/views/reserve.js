// Releasing reserve replicates. The server has no endpoint for it yet: while it answers 404,
// the section is shown disabled with a note.

import { api } from '../api.js';
import { h, fill, notice, show } from '../dom.js';
import { t } from '../i18n.js';
import { load } from './common.js';

export function render(el, { project }) {
  const body = h('section', { 'data-testid': 'reserve' });
  fill(el, h('h1', {}, t('reserve_title')), body);
  load(body, async () => {
    let state;
    try {
      state = await api.reserve(project);
    } catch (e) {
      if (e.status === 404 || e.status === 405) {
        fill(
          body,
          h('p', { class: 'notice info', 'data-testid': 'reserve-unavailable' }, t('reserve_unavailable')),
          h('button', { disabled: true }, t('release_next')),
        );
        return;
      }
      throw e;
    }
    const status = h('div', { class: 'form-status' });
    const note = h('input', { name: 'note' });
    fill(
      body,
      h('pre', {}, show(state)),
      h('label', {}, t('note'), note),
      h('button', {
        class: 'primary',
        onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            await api.releaseReserve(project, note.value.trim());
            notice(status, t('released_msg'), 'ok');
          } catch (err) {
            notice(status, t('error_msg', { error: err.message }), 'error');
          }
          ev.target.disabled = false;
        },
      }, t('release_next')),
      status,
    );
  });
}
