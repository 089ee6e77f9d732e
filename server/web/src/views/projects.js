// The project picker.

import { h, notice } from '../dom.js';
import { t } from '../i18n.js';

export function render(el, { projects }) {
  el.append(h('h1', {}, t('choose_project')));
  if (!projects.length) {
    notice(el, t('no_projects'));
    return;
  }
  el.append(
    h(
      'ul',
      { class: 'project-list' },
      projects.map((p) =>
        h(
          'li',
          {},
          h(
            'a',
            { class: 'card link', href: `#/p/${encodeURIComponent(p.id)}/overview`, 'data-testid': `project-${p.code}` },
            h('strong', {}, p.name),
            h('span', { class: 'muted' }, p.code),
          ),
        ),
      ),
    ),
  );
}
