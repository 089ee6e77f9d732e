// Reserve replicates of the latest one-stage dwelling sample: per stratum, how many replicates
// were drawn and released and how many dwellings are still held; a supervisor releases the next
// replicate of a stratum with a note. A multi-stage sample (or none) answers 409: its reason is
// shown instead.

import { api } from '../api.js';
import { h, fill, notice, num, table } from '../dom.js';
import { t } from '../i18n.js';
import { load } from './common.js';

export function render(el, { project }) {
  const body = h('section', { 'data-testid': 'reserve' });
  fill(el, h('h1', {}, t('reserve_title')), body);
  const show = () =>
    load(body, async () => {
      let state;
      try {
        state = await api.reserve(project);
      } catch (e) {
        if (e.status === 409 || e.status === 404) {
          fill(body, h('p', { class: 'notice info', 'data-testid': 'reserve-unavailable' }, e.message));
          return;
        }
        throw e;
      }
      const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
      const note = h('input', { name: 'note', 'data-testid': 'reserve-note' });
      const release = (stratum) => async (ev) => {
        ev.target.disabled = true;
        try {
          const r = await api.releaseReserve(project, stratum, note.value.trim());
          await show();
          notice(status, t('released_summary', { cases: r.cases, reweighted: r.reweighted }), 'ok');
          body.append(status);
        } catch (err) {
          notice(status, t('error_msg', { error: err.message }), 'error');
          ev.target.disabled = false;
        }
      };
      fill(
        body,
        table(
          [t('stratum'), t('replicates'), t('released'), t('held'), ''],
          (state.strata || []).map((s) => [
            s.stratum,
            num(s.replicates),
            num(s.released),
            num(s.held),
            h('td', { class: 'actions' },
              h('button', { 'data-action': 'release', disabled: s.released >= s.replicates, onclick: release(s.stratum) }, t('release_next'))),
          ]),
          { 'data-testid': 'reserve-strata' },
        ),
        h('label', {}, t('release_note'), note),
        (state.releases || []).length
          ? table(
              [t('stratum'), t('replicate'), t('note')],
              state.releases.map((r) => [r.stratum, num(r.replicate), r.note || '']),
              { 'data-testid': 'reserve-releases' },
            )
          : h('p', { class: 'muted' }, t('no_releases')),
        status,
      );
    });
  show();
}
