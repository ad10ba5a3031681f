// New twoots as they are posted: the Server-Sent Events stream when the server has one, else the
// newest page polled every two seconds (or after the server's Retry-After, when it asks for a
// pause). Either way each twoot goes to `onTwoot`, which drops the ones already seen.

import { messagesUrl, page } from './api.js';

// Two seconds keeps one tab at 30 of the default 600 reads a minute, so a few tabs behind one
// address stay well inside its budget.
const POLL_MS = 2000;
const HIDDEN_POLL_MS = 10_000;
const STREAM_RETRY_MS = 30_000;

export function follow(tag, { onTwoot, onState }) {
  let timer = null;
  let source = null;

  // Resolves to how long the server asked to be left alone, if it did (429 or 503).
  const poll = async () => {
    try {
      const { twoots } = await page(messagesUrl({ tag, limit: 20 }));
      twoots.forEach(onTwoot);
      return 0;
    } catch (error) {
      // The next poll tries again; the state line already says how twoots arrive.
      return error.retryAfterMs ?? 0;
    }
  };

  const startPolling = () => {
    if (timer) return;
    onState('Checking for new twoots every two seconds.');
    const tick = async () => {
      const pause = await poll();
      timer = setTimeout(tick, Math.max(pause, document.hidden ? HIDDEN_POLL_MS : POLL_MS));
    };
    tick();
  };

  const stopPolling = () => {
    clearTimeout(timer);
    timer = null;
  };

  const openStream = () => {
    const url = new URL('/messages/stream', location.origin);
    if (tag) url.searchParams.set('tag', tag);
    source = new EventSource(url);
    source.addEventListener('message', (event) => {
      try {
        onTwoot(JSON.parse(event.data));
      } catch {
        // An event that is not a twoot is skipped, not fatal.
      }
    });
    // The server cut this slow reader off; the browser reconnects by itself with
    // Last-Event-ID, and the server replays from there.
    source.addEventListener('overflow', () => onState('Catching up…'));
    source.addEventListener('open', () => {
      stopPolling();
      onState('Live: new twoots arrive as they are posted.');
      // Twoots posted while no stream was open come from the newest page.
      poll();
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        // No stream here (404, an older server) or refused: poll, and try the stream later.
        source.close();
        startPolling();
        setTimeout(openStream, STREAM_RETRY_MS);
      } else {
        onState('Reconnecting…');
      }
    });
  };

  openStream();
}
