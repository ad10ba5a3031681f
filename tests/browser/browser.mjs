// What the specs (Swagger UI's and the web client's) share: Debian's Chromium started with no way off this machine,
// pages that record their errors and CSP violations, and screenshots kept when a scenario fails.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = join(HERE, 'artifacts');
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const TIMEOUT_MS = 15_000;

export const log = (line) => process.stdout.write(`${line}\n`);

export function localUrl(name) {
  const value = process.env[name];
  assert.ok(value, `${name} must name a running server`);
  assert.equal(new URL(value).hostname, '127.0.0.1', 'the server under test must be local');
  return value;
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
      // Anything the browser itself tries to reach beyond this machine fails to resolve.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });
}

/**
 * A browser context whose requests beyond 127.0.0.1 are blocked and recorded, with a record of
 * page errors and console errors (a CSP violation is one).
 */
export async function openContext(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  context.setDefaultTimeout(TIMEOUT_MS);
  const record = { offHost: [], errors: [] };
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    record.offHost.push(url.href);
    return route.abort('blockedbyclient');
  });
  context.on('page', (page) => watch(page, record));
  return { context, record };
}

function watch(page, record) {
  page.on('pageerror', (error) => record.errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    if (/Failed to load resource/.test(message.text())) return;
    record.errors.push(`console: ${message.text()}`);
  });
}

export async function screenshot(page, name, path = join(ARTIFACTS, `${name}.png`), fullPage = true) {
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage });
  return path;
}

// Runs one scenario; on failure the pages as they stood are kept for whoever reads the log.
export async function scenario(name, pages, body) {
  try {
    await body();
  } catch (error) {
    for (const [index, page] of pages().entries()) {
      try {
        log(`screenshot: ${await screenshot(page, `failure-${name}-${index}`)}`);
      } catch (shotError) {
        log(`no screenshot: ${shotError.message}`);
      }
    }
    throw error;
  }
}

// Time plus randomness, so that reruns against a kept database never meet an older twoot.
export const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
