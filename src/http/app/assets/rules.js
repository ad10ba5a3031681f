// The text and tag rules of the API, stated as src/domain/text.rs and src/domain/tag.rs state
// them; a Rust test keeps these constants equal to the domain's.

export const MAX_TEXT_CHARS = 280;
export const MAX_TAG_CHARS = 64;
// One character that is not whitespace in any engine's sense (the negation of the blank class).
export const TEXT_PATTERN = '[^\\u0009-\\u000d\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028-\\u2029\\u202f\\u205f\\u3000\\ufeff]';
export const TAG_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

const notBlank = new RegExp(TEXT_PATTERN, 'u');
const tagShape = new RegExp(TAG_PATTERN);

// Unicode scalar values, as the server counts: an emoji is one character, not two.
export const characters = (text) => [...text].length;

/** What is wrong with a text, or null. */
export function textProblem(text) {
  if (!notBlank.test(text)) return 'must contain a character that is not whitespace';
  if (characters(text) > MAX_TEXT_CHARS) return `must be at most ${MAX_TEXT_CHARS} characters`;
  return null;
}

/** What is wrong with a tag, or null. */
export function tagProblem(tag) {
  if (tag.length === 0) return 'must not be empty';
  if ([...tag].length > MAX_TAG_CHARS) return `must be at most ${MAX_TAG_CHARS} characters`;
  if (!tagShape.test(tag)) return "may contain only ASCII letters, digits, '_' and '-'";
  return null;
}
