// Progress by stratum and area: listed vs expected, the case funnel and the response rate, from
// the coverage report.

import { api } from '../api.js';
import { h, fill, num, pct, table } from '../dom.js';
import { t } from '../i18n.js';
import { load, TALLY_HEADERS, tallyCells, progress } from './common.js';

export function render(el, { project }) {
  load(el, async () => {
    const report = await api.coverage(project);
    const total = report.total || {};
    const cards = [
      [t('listed'), num(total.listed), total.expected ? `${t('expected')} ${num(Math.round(total.expected))}` : ''],
      [t('sampled'), num(total.sampled), `${t('assigned')} ${num(total.assigned)}`],
      [t('visited'), num(total.visited), `${t('pending')} ${num(total.pending)}`],
      [t('completed'), num(total.completed), progress(total.completed, total.sampled)],
      [t('approved'), num(total.approved), `${t('to_review')} ${num(total.submitted)} · ${t('returned')} ${num(total.returned)}`],
      [t('response_rate'), pct(total.rates && total.rates.RR3), `${t('refused')} ${num(total.refused)} · ${t('non_contact')} ${num(total.non_contact)}`],
      [t('flags'), num(total.flags), ''],
    ];
    fill(
      el,
      h(
        'section',
        { class: 'cards', 'data-testid': 'totals' },
        cards.map(([label, value, sub], i) =>
          h('div', { class: 'card stat', dataset: { stat: ['listed', 'sampled', 'visited', 'completed', 'approved', 'rr3', 'flags'][i] } },
            h('span', { class: 'label' }, label),
            h('strong', { class: 'value' }, value),
            h('span', { class: 'sub' }, sub)),
        ),
      ),
      h('h2', {}, t('by_stratum')),
      table(
        [t('stratum'), t('areas'), ...TALLY_HEADERS()],
        (report.strata || []).map((s) => [s.stratum || t('no_stratum'), num(s.areas), ...tallyCells(s)]),
        { 'data-testid': 'strata' },
      ),
      h('h2', {}, t('by_area')),
      table(
        [t('area'), t('stratum'), ...TALLY_HEADERS()],
        (report.areas || []).map((a) => [
          h('td', {}, h('strong', {}, a.code), ' ', h('span', { class: 'muted' }, a.name || '')),
          a.stratum || t('no_stratum'),
          ...tallyCells(a),
        ]),
        { 'data-testid': 'areas' },
      ),
    );
  });
}
