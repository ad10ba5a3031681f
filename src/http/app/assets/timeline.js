// The list of twoots: pages appended as the reader nears the end (IntersectionObserver on the
// `next` cursors), live twoots held behind a "new twoots" button so nothing moves under the
// reader, and every twoot shown once however it arrived (merged by id).

import { compareIds, messagesUrl, page } from './api.js';

const PAGE_SIZE = 50;
const $ = (id) => document.getElementById(id);

function render(twoot) {
  const item = document.createElement('li');
  item.className = 'twoot';
  item.dataset.id = twoot.id;
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = twoot.text;
  const meta = document.createElement('p');
  meta.className = 'meta';
  const tag = document.createElement('a');
  tag.href = `/app?tag=${encodeURIComponent(twoot.tag)}`;
  tag.textContent = `#${twoot.tag}`;
  const time = document.createElement('time');
  time.dateTime = twoot.timestamp;
  time.textContent = new Date(twoot.timestamp).toLocaleString();
  meta.append(tag, ' · ', time);
  item.append(text, meta);
  return item;
}

export class Timeline {
  constructor(tag) {
    this.tag = tag;
    this.list = $('twoots');
    this.more = $('more');
    this.pill = $('new-twoots');
    this.announce = $('announce');
    this.shown = new Set();
    this.pending = new Map();
    this.next = messagesUrl({ tag, limit: PAGE_SIZE });
    this.loading = false;
    this.pill.addEventListener('click', () => this.showPending());
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) this.loadMore();
    }, { rootMargin: '0px 0px 600px 0px' });
  }

  start() {
    this.observer.observe($('sentinel'));
  }

  async loadMore() {
    if (this.loading || !this.next) return;
    this.loading = true;
    this.more.textContent = 'Loading older twoots…';
    try {
      const { twoots, next } = await page(this.next);
      for (const twoot of twoots) {
        if (this.shown.has(twoot.id)) continue;
        this.pending.delete(twoot.id);
        this.shown.add(twoot.id);
        this.list.append(render(twoot));
      }
      this.next = next;
      this.more.textContent = next
        ? ''
        : this.shown.size
          ? 'That is the oldest twoot.'
          : 'No twoots yet.';
    } catch (error) {
      this.more.textContent = `Could not load twoots: ${error.message}`;
      this.next = null;
    } finally {
      this.loading = false;
    }
    // Observing anew reports the sentinel's state now: still in view means load again.
    const sentinel = $('sentinel');
    this.observer.unobserve(sentinel);
    if (this.next) this.observer.observe(sentinel);
    this.updatePill();
  }

  // A twoot the reader posted goes in at once: the reader asked for it, so it is no surprise.
  insertOwn(twoot) {
    if (this.tag && twoot.tag !== this.tag) return;
    this.pending.delete(twoot.id);
    this.place(twoot);
    this.updatePill();
  }

  // A twoot from the stream or a poll waits behind the button, unless it is already shown or
  // older than the pages not yet loaded (it will come with them).
  arrive(twoot) {
    if (this.tag && twoot.tag !== this.tag) return;
    if (this.shown.has(twoot.id) || this.pending.has(twoot.id)) return;
    const oldest = this.list.lastElementChild?.dataset.id;
    if (this.next && oldest && compareIds(twoot.id, oldest) < 0) return;
    this.pending.set(twoot.id, twoot);
    this.updatePill();
    const count = this.pending.size;
    this.announce.textContent = `${count} new ${count === 1 ? 'twoot' : 'twoots'}`;
  }

  place(twoot) {
    if (this.shown.has(twoot.id)) return;
    this.shown.add(twoot.id);
    const item = render(twoot);
    const after = [...this.list.children].find((li) => compareIds(li.dataset.id, twoot.id) < 0);
    this.list.insertBefore(item, after ?? null);
  }

  showPending() {
    for (const twoot of this.pending.values()) this.place(twoot);
    this.pending.clear();
    this.updatePill();
    this.announce.textContent = '';
    window.scrollTo({ top: 0 });
    const first = this.list.firstElementChild;
    if (first) {
      first.tabIndex = -1;
      first.focus({ preventScroll: true });
    }
  }

  updatePill() {
    const count = this.pending.size;
    this.pill.hidden = count === 0;
    this.pill.textContent = `Show ${count} new ${count === 1 ? 'twoot' : 'twoots'}`;
  }
}
