// The statistics as an SVG bar chart drawn here: a block per year, newest first, a bar per tag
// (the most used first), sized to the width it is given so that it reads on a phone.

const SVG = 'http://www.w3.org/2000/svg';
const ROW = 22;
const YEAR_ROW = 28;

function node(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

// Years newest first; each year's tags by count, most first.
export function rows(stats) {
  return Object.keys(stats)
    .sort((a, b) => Number(b) - Number(a))
    .map((year) => ({
      year,
      tags: Object.entries(stats[year]).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
    }));
}

export function barChart(stats, width) {
  const years = rows(stats);
  const max = Math.max(1, ...years.flatMap(({ tags }) => tags.map(([, count]) => count)));
  const labelWidth = Math.min(160, Math.round(width * 0.38));
  const countWidth = 56;
  const barSpace = Math.max(20, width - labelWidth - countWidth);
  const height = years.reduce((sum, { tags }) => sum + YEAR_ROW + tags.length * ROW, 0) + 4;

  const svg = node('svg', {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-labelledby': 'stats-chart-title',
    class: 'chart',
  });
  svg.append(node('title', { id: 'stats-chart-title' }, 'Twoots per year and tag'));
  let y = 0;
  for (const { year, tags } of years) {
    y += YEAR_ROW;
    svg.append(node('text', { x: 0, y: y - 8, class: 'year' }, year));
    for (const [tag, count] of tags) {
      const length = Math.max(2, Math.round((count / max) * barSpace));
      const label = tag.length > 18 ? `${tag.slice(0, 17)}…` : tag;
      svg.append(node('text', { x: labelWidth - 6, y: y + 15, class: 'label' }, label));
      svg.append(node('rect', { x: labelWidth, y: y + 4, width: length, height: ROW - 8, class: 'bar' }));
      svg.append(node('text', { x: labelWidth + length + 4, y: y + 15, class: 'count' }, count));
      y += ROW;
    }
  }
  return svg;
}

// The same numbers as a table, for screen readers and for copying.
export function table(stats) {
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = 'The numbers as a table';
  const grid = document.createElement('table');
  const head = grid.createTHead().insertRow();
  for (const title of ['Year', 'Tag', 'Twoots']) {
    const cell = document.createElement('th');
    cell.scope = 'col';
    cell.textContent = title;
    head.append(cell);
  }
  const body = grid.createTBody();
  for (const { year, tags } of rows(stats)) {
    for (const [tag, count] of tags) {
      const row = body.insertRow();
      for (const value of [year, tag, count]) row.insertCell().textContent = String(value);
    }
  }
  details.append(summary, grid);
  return details;
}
