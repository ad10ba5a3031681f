// The post box: the rules shown as the user types, the server's problem shown when it refuses.

import { post, ProblemError } from './api.js';
import { MAX_TAG_CHARS, MAX_TEXT_CHARS, characters, tagProblem, textProblem } from './rules.js';

const $ = (id) => document.getElementById(id);

function showRule(element, input, problem, okText) {
  element.textContent = problem ? `${okText} — ${problem}` : okText;
  element.classList.toggle('bad', Boolean(problem) && input.value !== '');
  input.setAttribute('aria-invalid', String(Boolean(problem) && input.value !== ''));
}

export function setUpCompose({ onPosted }) {
  const form = $('compose');
  const text = $('compose-text');
  const tag = $('compose-tag');
  const send = $('compose-send');
  const problemBox = $('compose-problem');

  const check = () => {
    const count = characters(text.value);
    showRule(
      $('text-rule'),
      text,
      textProblem(text.value),
      `${count} of ${MAX_TEXT_CHARS} characters; not only spaces`,
    );
    showRule(
      $('tag-rule'),
      tag,
      tagProblem(tag.value),
      `1 to ${MAX_TAG_CHARS} letters, digits, _ or -`,
    );
  };
  text.addEventListener('input', check);
  tag.addEventListener('input', check);
  check();

  const showProblem = (error) => {
    problemBox.replaceChildren();
    const detail = document.createElement('p');
    detail.textContent = error.message;
    problemBox.append(detail);
    const fields = error instanceof ProblemError ? error.problem?.errors ?? [] : [];
    if (fields.length) {
      const list = document.createElement('ul');
      for (const field of fields) {
        const item = document.createElement('li');
        item.textContent = `${field.field}: ${field.detail}`;
        list.append(item);
      }
      problemBox.append(list);
    }
    problemBox.hidden = false;
  };

  // One Idempotency-Key per draft: sending the same text and tag again after a lost answer (a
  // dropped connection) cannot post it twice, while an edited draft is a new twoot with a new key.
  let draft = null;
  const keyFor = (body) => {
    if (draft?.text !== body.text || draft?.tag !== body.tag) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      const key = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
      draft = { ...body, key };
    }
    return draft.key;
  };

  // The server decides: the rules above inform, they do not stop a post, so the user always
  // hears the server's own words.
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    send.disabled = true;
    problemBox.hidden = true;
    try {
      const body = { text: text.value, tag: tag.value };
      const twoot = await post(body.text, body.tag, keyFor(body));
      draft = null;
      text.value = '';
      check();
      onPosted(twoot);
    } catch (error) {
      showProblem(error);
    } finally {
      send.disabled = false;
    }
  });
}
