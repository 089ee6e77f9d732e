// Dwelling statuses as the coverage map names them (sync-core coverage::DwellingStatus), lowest
// first, with their colours. The colours are told apart by colour-blind readers too: hue and
// lightness both change along the funnel, and refusals and non-contacts stand out.

export const STATUSES = [
  ['listed', '#b0b0b0'],
  ['sampled', '#9ecae1'],
  ['assigned', '#3182bd'],
  ['visited', '#fdae6b'],
  ['non_contact', '#8856a7'],
  ['refused', '#d7301f'],
  ['vacant', '#8c6d31'],
  ['completed', '#238b45'],
];

const COLOURS = new Map(STATUSES);

export function colour(status) {
  return COLOURS.get(status) || '#000000';
}
