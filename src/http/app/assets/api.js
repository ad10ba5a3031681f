// Requests to the API, and its answers read into plain values: a page of twoots with its `next`
// cursor, or an Error carrying the RFC 9457 problem the server sent.

export class ProblemError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `The server answered ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function problemOf(response) {
  const type = response.headers.get('content-type') || '';
  if (type.includes('json')) {
    try {
      return await response.json();
    } catch {
      // A body that is not the JSON it claims is reported by status alone.
    }
  }
  return null;
}

async function request(url, init) {
  const response = await fetch(url, init);
  if (!response.ok) {
    const error = new ProblemError(response.status, await problemOf(response));
    const retryAfter = Number(response.headers.get('retry-after'));
    if (Number.isFinite(retryAfter) && retryAfter > 0) error.retryAfterMs = retryAfter * 1000;
    throw error;
  }
  return response;
}

// The `next` link of RFC 8288's Link header, as a same-origin URL, or null on the last page.
export function nextLink(header) {
  if (!header) return null;
  for (const part of header.split(',')) {
    const match = /<([^>]*)>\s*;(.*)/.exec(part.trim());
    if (match && /\brel="?next"?/.test(match[2])) return new URL(match[1], location.origin).href;
  }
  return null;
}

export function messagesUrl({ tag, limit }) {
  const url = new URL('/messages', location.origin);
  if (tag) url.searchParams.set('tag', tag);
  if (limit) url.searchParams.set('limit', String(limit));
  return url.href;
}

/** One page of twoots, newest first, and the URL of the older page if there is one. */
export async function page(url) {
  const response = await request(url, { headers: { Accept: 'application/json' } });
  return { twoots: await response.json(), next: nextLink(response.headers.get('link')) };
}

/**
 * Posts a twoot under `idempotencyKey`: sending the same key again (a retry after a lost answer)
 * gets the first answer back instead of a second twoot.
 */
export async function post(text, tag, idempotencyKey) {
  const response = await request('/messages', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'Idempotency-Key': idempotencyKey,
    },
    body: JSON.stringify({ text, tag }),
  });
  return response.json();
}

export async function stats(key) {
  const response = await request('/management/message-stats?top=12', {
    headers: { Authorization: `Bearer ${key}`, Accept: 'application/json' },
  });
  return response.json();
}

// Ids are strings of up to 20 digits: compared as big integers, never as floats.
export const compareIds = (a, b) => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};
