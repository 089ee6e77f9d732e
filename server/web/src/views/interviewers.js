// Interviewers: assignments, visits, completes, the AAPOR rates, and the quality flags with the
// reason each was raised.

import { api } from '../api.js';
import { h, fill, num, pct, table, shortId, notice } from '../dom.js';
import { t } from '../i18n.js';
import { load, userNames, userName } from './common.js';

export function render(el, { project }) {
  load(el, async () => {
    const report = await api.coverage(project);
    const names = await userNames((report.interviewers || []).map((i) => i.interviewer));
    const rows = (report.interviewers || []).map((i) => {
      const r = i.rates || {};
      return h(
        'tr',
        { dataset: { interviewer: i.interviewer || '' } },
        h('th', { scope: 'row' }, userName(names, i.interviewer)),
        [num(i.areas), num(i.assigned), num(i.visited), num(i.completed), num(i.refused), num(i.non_contact),
          pct(r.RR3), pct(r.COOP1), pct(r.REF1), pct(r.CON1), num(i.flags)].map((c) => h('td', { class: 'num' }, c)),
      );
    });
    const flags = report.flags || [];
    const flagSection = flags.length
      ? table(
          [t('flag_kind'), t('interviewer'), t('area'), t('case'), t('reason')],
          flags.map((f) => [
            h('td', {}, h('span', { class: `flag flag-${f.kind}` }, t(`flag_${f.kind}`))),
            userName(names, f.interviewer),
            f.area_code || '—',
            h('td', {}, shortId(f.case)),
            h('td', { class: 'reason' }, f.reason || ''),
          ]),
          { 'data-testid': 'flags' },
        )
      : h('p', { class: 'muted' }, t('no_flags'));
    fill(
      el,
      h('h1', {}, t('nav_interviewers')),
      table(
        [t('interviewer'), t('areas'), t('assignments'), t('visited'), t('completed'), t('refused'), t('non_contact'),
          'RR3', 'COOP1', 'REF1', 'CON1', t('flags')],
        rows,
        { 'data-testid': 'interviewers' },
      ),
      h('h2', {}, t('quality_flags')),
      flagSection,
    );
    if (!rows.length) notice(el.querySelector('.table-wrap'), t('none'));
  });
}
