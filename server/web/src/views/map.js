// The coverage map: area boundaries, buildings from the listing, and every dwelling coloured by
// its status, with a legend that counts and toggles each status, and a panel with a dwelling's
// details and its interviews' history.
//
// Leaflet is loaded by index.html as the global `L` (its dist build, served by this server).
// There is no basemap unless the server was started with a tile URL: the page then requests
// nothing from outside the server.

import { api } from '../api.js';
import { h, fill, num, table, shortId, show } from '../dom.js';
import { t } from '../i18n.js';
import { STATUSES, colour } from '../status.js';
import { load, userNames, userName } from './common.js';

export function render(el, { project, config }) {
  const L = window.L;
  const mapDiv = h('div', { class: 'map', 'data-testid': 'map' });
  const legend = h('section', { class: 'legend card', 'data-testid': 'legend' });
  const detail = h('section', { class: 'detail card', 'data-testid': 'dwelling-detail', hidden: true });
  const status = h('div', { class: 'form-status' });
  fill(el, h('div', { class: 'map-layout' }, h('div', { class: 'map-main' }, status, mapDiv), h('aside', { class: 'map-side' }, legend, detail)));

  const map = L.map(mapDiv, { attributionControl: Boolean(config.tiles), zoomSnap: 0.5 });
  if (config.tiles) {
    L.tileLayer(config.tiles, { attribution: config.tiles_attribution || '', maxZoom: 20 }).addTo(map);
  } else {
    mapDiv.classList.add('no-tiles');
  }
  map.setView([0, 0], 2);

  load(status, async () => {
    const [coverage, listing] = await Promise.all([
      api.coverageGeojson(project),
      api.listing(project).catch(() => null),
    ]);
    fill(status);
    draw(L, map, coverage, listing, legend, (f) => showDwelling(detail, project, f, coverage, listing));
  });

  return () => map.remove();
}

function layerOf(f) {
  return (f.properties && f.properties.layer) || '';
}

function draw(L, map, coverage, listing, legend, onDwelling) {
  const features = (coverage && coverage.features) || [];
  const areas = features.filter((f) => layerOf(f) === 'area' && f.geometry);
  const dwellings = features.filter((f) => layerOf(f) === 'dwelling');

  const areaLayer = L.geoJSON(areas, {
    style: { color: '#37474f', weight: 2, fillColor: '#cfd8dc', fillOpacity: 0.08, className: 'area' },
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layer.bindTooltip(`${p.code} ${p.name || ''} · ${t('completed')} ${num(p.completed)}/${num(p.sampled)}`, { sticky: true });
    },
  }).addTo(map);

  const buildings = ((listing && listing.features) || []).filter(
    (f) => layerOf(f) === 'building' && f.geometry && f.geometry.type !== 'Point',
  );
  const buildingLayer = L.geoJSON(buildings, {
    style: { color: '#78909c', weight: 1, fillColor: '#eceff1', fillOpacity: 0.6, className: 'building' },
    interactive: false,
  }).addTo(map);
  areaLayer.bringToBack();

  // One layer group per status, so that the legend can toggle them; listed-only dwellings are
  // drawn small so that the sample stands out.
  const groups = new Map(STATUSES.map(([s]) => [s, L.layerGroup().addTo(map)]));
  const counts = new Map(STATUSES.map(([s]) => [s, 0]));
  let unlocated = 0;
  // Drawn lowest status first, so that the sample's dwellings lie on top of the listed ones.
  const rank = new Map(STATUSES.map(([s], i) => [s, i]));
  const byRank = dwellings.slice().sort((a, b) => (rank.get(a.properties.status) ?? 99) - (rank.get(b.properties.status) ?? 99));
  for (const f of byRank) {
    const s = f.properties.status;
    if (!f.geometry || f.geometry.type !== 'Point') {
      unlocated += 1;
      continue;
    }
    const [lon, lat] = f.geometry.coordinates;
    const marker = L.circleMarker([lat, lon], {
      radius: s === 'listed' ? 3 : 7,
      weight: 1,
      color: '#ffffff',
      fillColor: colour(s),
      fillOpacity: 0.95,
      className: `dw dw-${s}`,
    });
    marker.on('click', () => onDwelling(f));
    if (!groups.has(s)) groups.set(s, L.layerGroup().addTo(map));
    groups.get(s).addLayer(marker);
    counts.set(s, (counts.get(s) || 0) + 1);
  }

  const toggle = (layer, on) => (on ? layer.addTo(map) : layer.remove());
  fill(
    legend,
    h('h2', {}, t('legend')),
    h(
      'ul',
      { class: 'legend-list' },
      [...groups.keys()].map((s) =>
        h(
          'li',
          { dataset: { status: s, count: counts.get(s) || 0 } },
          h(
            'label',
            {},
            h('input', { type: 'checkbox', checked: true, onchange: (e) => toggle(groups.get(s), e.target.checked) }),
            h('span', { class: 'swatch', style: `background:${colour(s)}` }),
            h('span', { class: 'name' }, t(`status_${s}`)),
            h('span', { class: 'count' }, num(counts.get(s) || 0)),
          ),
        ),
      ),
      h(
        'li',
        {},
        h(
          'label',
          {},
          h('input', { type: 'checkbox', checked: true, onchange: (e) => toggle(buildingLayer, e.target.checked) }),
          h('span', { class: 'swatch building' }),
          h('span', { class: 'name' }, t('buildings')),
          h('span', { class: 'count' }, num(buildings.length)),
        ),
      ),
    ),
    unlocated ? h('p', { class: 'muted' }, t('no_location', { n: unlocated })) : null,
  );

  const bounds = areaLayer.getBounds();
  const all = bounds.isValid() ? bounds : L.featureGroup([...groups.values()].flatMap((g) => g.getLayers())).getBounds();
  if (all.isValid()) map.fitBounds(all, { padding: [16, 16] });
}

/** The listing's record of a dwelling: by id, else by area and listing number. */
function listingRecord(listing, f) {
  const ps = f.properties;
  for (const g of (listing && listing.features) || []) {
    if (layerOf(g) !== 'dwelling') continue;
    const q = g.properties || {};
    if (q.uuid === ps.id || g.id === ps.id || q.id === ps.id) return q;
    if (q.area === ps.area_code && q.listing_number !== undefined && q.listing_number === ps.listing_number) return q;
  }
  return null;
}

async function showDwelling(el, project, f, coverage, listing) {
  el.hidden = false;
  const p = f.properties;
  const rec = listingRecord(listing, f) || {};
  const address = [rec.unit, rec.floor, rec.room].filter((x) => x !== undefined && x !== null && x !== '').join('-') || rec.door_number;
  const cases = h('div', { class: 'cases' });
  const names = await userNames([p.interviewer]);
  fill(
    el,
    h('header', { class: 'row' }, h('h2', {}, t('dwelling'), ' ', p.area_code || '', ' #', p.listing_number ?? '—'),
      h('button', { class: 'quiet', onclick: () => { el.hidden = true; } }, t('close'))),
    h('dl', { class: 'facts' },
      h('dt', {}, t('status')), h('dd', { 'data-testid': 'dwelling-status' },
        h('span', { class: 'swatch', style: `background:${colour(p.status)}` }), ' ', t(`status_${p.status}`)),
      h('dt', {}, t('disposition')), h('dd', {}, p.disposition || '—'),
      h('dt', {}, t('interviewer')), h('dd', {}, p.interviewer ? userName(names, p.interviewer) : '—'),
      h('dt', {}, t('address')), h('dd', {}, address || '—'),
      h('dt', {}, t('occupancy')), h('dd', {}, rec.occupancy || '—'),
      h('dt', {}, t('households')), h('dd', {}, rec.households ?? '—'),
      h('dt', {}, 'id'), h('dd', {}, shortId(p.id))),
    h('h3', {}, t('cases')),
    cases,
  );
  if (p.status === 'listed') {
    fill(cases, h('p', { class: 'muted empty' }, t('no_cases')));
    return;
  }
  await load(cases, async () => {
    const area = ((coverage && coverage.features) || []).find((a) => layerOf(a) === 'area' && a.properties.code === p.area_code);
    const list = await api.interviews(project, area ? { area: area.properties.id } : {});
    // The list does not say which dwelling a case is for: read the area's cases (a few dozen).
    const entities = await Promise.all(list.slice(0, 200).map((c) => api.interview(project, c.id).catch(() => null)));
    const mine = entities.filter((e) => e && e.fields && e.fields.dwelling === p.id);
    if (!mine.length) {
      fill(cases, h('p', { class: 'muted empty' }, t('no_cases')));
      return;
    }
    await userNames(mine.map((e) => e.fields.interviewer));
    fill(cases, mine.map((e) => caseHistory(e, names)));
  });
}

/** One case: its status and disposition, then its visits in time order. */
function caseHistory(e, names) {
  const fields = e.fields || {};
  const visits = visitsOf(fields);
  return h(
    'div',
    { class: 'case', dataset: { id: e.id } },
    h('p', {}, shortId(e.id), ' · ', show(fields.status), ' · ', t('disposition'), ' ', show(fields.disposition), ' · ',
      userName(names, fields.interviewer)),
    visits.length
      ? table([t('visits'), t('disposition'), t('note')], visits.map((v) => [when(v.at), show(v.result), show(v.note)]))
      : null,
  );
}

/** Visits are kept either as one list/map field `visits` or as `visits/<id>/<part>` fields. */
function visitsOf(fields) {
  let out = [];
  const whole = fields.visits;
  if (Array.isArray(whole)) out = whole.slice();
  else if (whole && typeof whole === 'object') out = Object.values(whole);
  const parts = new Map();
  for (const [k, v] of Object.entries(fields)) {
    const m = /^visits\/([^/]+)\/(.+)$/.exec(k);
    if (!m) continue;
    if (!parts.has(m[1])) parts.set(m[1], {});
    parts.get(m[1])[m[2]] = v;
  }
  out.push(...parts.values());
  return out.filter((v) => v && typeof v === 'object').sort((a, b) => String(a.at).localeCompare(String(b.at)));
}

function when(at) {
  if (typeof at === 'number') return new Date(at).toLocaleString();
  return show(at);
}
