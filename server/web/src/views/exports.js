// Exports for statisticians: each form's interviews and repeat groups as CSV (answer labels in a
// chosen language, or codes only), and the coverage map as GeoJSON. Downloads go through fetch
// because they need the token, which a plain link cannot send.

import { api } from '../api.js';
import { h, fill, notice } from '../dom.js';
import { t } from '../i18n.js';
import { load } from './common.js';

export function render(el, { project }) {
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const body = h('section', { 'data-testid': 'exports' });
  fill(el, h('h1', {}, t('exports_title')), status, body);

  const link = (label, path, name) =>
    h(
      'li',
      {},
      h(
        'a',
        {
          href: path,
          class: 'download',
          'data-path': path,
          onclick: async (e) => {
            e.preventDefault();
            try {
              await api.download(path, name);
              notice(status, t('downloaded', { name }), 'ok');
            } catch (err) {
              notice(status, t('error_msg', { error: err.message }), 'error');
            }
          },
        },
        label,
      ),
    );

  load(body, async () => {
    const forms = await api.forms(project);
    const sections = [];
    for (const f of forms) {
      const model = await api.form(project, f.form_id).catch(() => null);
      const questions = (model && model.questions) || [];
      const repeats = questions.filter((q) => q.kind === 'begin_repeat').map((q) => q.name);
      const languages = f.languages || (model && model.languages) || [];
      const labels = h(
        'select',
        { name: 'labels' },
        h('option', { value: '' }, t('no_labels')),
        languages.map((l) => h('option', { value: l }, l)),
      );
      const list = h('ul', { class: 'downloads' });
      const draw = () => {
        const l = labels.value;
        fill(
          list,
          link(t('interviews_csv'), api.exportInterviewsUrl(project, f.form_id, l), `${f.form_id}.csv`),
          repeats.map((g) => link(t('repeat_csv', { group: g }), api.exportRepeatUrl(project, f.form_id, g, l), `${f.form_id}-${g}.csv`)),
        );
      };
      labels.addEventListener('change', draw);
      draw();
      sections.push(
        h('div', { class: 'card', dataset: { form: f.form_id } },
          h('h2', {}, f.title || f.form_id, ' ', h('span', { class: 'muted' }, `${f.form_id} · ${f.version || ''}`)),
          h('label', { class: 'inline' }, t('labels_in'), labels),
          list),
      );
    }
    fill(
      body,
      sections.length ? sections : h('p', { class: 'muted' }, t('no_forms')),
      h('div', { class: 'card' }, h('ul', { class: 'downloads' }, link(t('coverage_geojson'), api.coverageGeojsonUrl(project), 'coverage.geojson'))),
    );
  });
}
