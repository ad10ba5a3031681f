// The statistics panel: an admin key pasted once and kept for this tab (sessionStorage), the
// counts fetched with it and drawn, and a plain sentence when the key is refused.

import { stats, ProblemError } from './api.js';
import { barChart, table } from './chart.js';

const KEY = 'twooter.adminKey';
const $ = (id) => document.getElementById(id);

function explain(error) {
  if (error instanceof ProblemError && error.status === 401) {
    return `The key was not accepted (401): ${error.message}. Paste a valid admin key.`;
  }
  if (error instanceof ProblemError && error.status === 403) {
    return `This key may not read statistics (403): ${error.message}. An admin key is needed.`;
  }
  return `Could not load the statistics: ${error.message}`;
}

async function show(key) {
  const status = $('stats-status');
  const chart = $('stats-chart');
  status.textContent = 'Loading statistics…';
  try {
    const counts = await stats(key);
    sessionStorage.setItem(KEY, key);
    chart.replaceChildren();
    if (Object.keys(counts).length === 0) {
      status.textContent = 'No twoots counted yet.';
      return;
    }
    const width = Math.max(260, chart.clientWidth || 320);
    chart.append(barChart(counts, width), table(counts));
    status.textContent = `Statistics for ${Object.keys(counts).length} years.`;
  } catch (error) {
    chart.replaceChildren();
    if (error instanceof ProblemError && error.status === 401) sessionStorage.removeItem(KEY);
    status.textContent = explain(error);
  }
}

export function setUpStats() {
  const input = $('stats-key');
  $('stats-form').addEventListener('submit', (event) => {
    event.preventDefault();
    show(input.value.trim());
  });
  $('stats-forget').addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    input.value = '';
    $('stats-chart').replaceChildren();
    $('stats-status').textContent = 'The key is forgotten.';
  });
  const kept = sessionStorage.getItem(KEY);
  if (kept) {
    $('stats-panel').open = true;
    input.value = kept;
    show(kept);
  }
}
