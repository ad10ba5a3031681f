// The page's start: which tag the URL names, then the timeline, the live feed, the post box and
// the statistics.

import { setUpCompose } from './compose.js';
import { follow } from './live.js';
import { tagProblem } from './rules.js';
import { setUpStats } from './stats.js';
import { Timeline } from './timeline.js';

const $ = (id) => document.getElementById(id);

function currentTag() {
  const tag = new URLSearchParams(location.search).get('tag')?.trim() ?? '';
  return tag ? tag.toLowerCase() : null;
}

async function start() {
  const tag = currentTag();
  const filter = $('filter-tag');
  filter.value = tag ?? '';
  if (tag) {
    $('timeline-heading').textContent = `Newest twoots tagged #${tag}`;
    document.title = `#${tag} · Twooter`;
    $('compose-tag').value = tag;
  } else {
    $('all-tags').setAttribute('aria-current', 'page');
  }
  // An empty filter shows every tag: /app rather than /app?tag=.
  $('filter').addEventListener('submit', (event) => {
    const value = filter.value.trim();
    if (!value) {
      event.preventDefault();
      location.assign('/app');
    }
  });

  const timeline = new Timeline(tag);
  setUpCompose({ onPosted: (twoot) => timeline.insertOwn(twoot) });
  setUpStats();

  if (tag && tagProblem(tag)) {
    $('more').textContent = `No such tag: a tag ${tagProblem(tag)}.`;
    return;
  }
  // Live twoots start after the first page, so that page's twoots are never taken for new ones.
  await timeline.loadMore();
  follow(tag, {
    onTwoot: (twoot) => timeline.arrive(twoot),
    onState: (text) => {
      $('live-state').textContent = text;
    },
  });
  timeline.start();
}

start();
