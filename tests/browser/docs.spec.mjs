// Swagger UI at /docs, used as a person would: post a twoot with "Try it out", then find it by its
// tag; call the admin-only statistics route, refused without a key, then "Authorize" with an
// admin key and call it again. Run by scripts/stages/browser.sh, which makes the key, starts the
// server and sets BASE_URL and ADMIN_KEY.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TIMEOUT_MS,
  launch,
  localUrl,
  log,
  openContext,
  scenario as runScenario,
  screenshot as keep,
  unique as uniqueSuffix,
} from './browser.mjs';

const BASE_URL = localUrl('BASE_URL');
const ADMIN_KEY = process.env.ADMIN_KEY;

const unique = uniqueSuffix();
const TEXT = `Hello from the browser ${unique}`;
const TAG = `e2e${unique}`;

let browser;
let context;
let record;
let page;
let posted;

const screenshot = (name) => keep(page, name);
// On failure the page is kept, and what it logged as errors is printed beside it.
const scenario = (name, body) =>
  runScenario(name, () => (page ? [page] : []), async () => {
    try {
      await body();
    } catch (error) {
      if (record.errors.length) log(`page errors:\n  ${record.errors.join('\n  ')}`);
      throw error;
    }
  });

const operation = (id, tag = 'messages') => page.locator(`#operations-${tag}-${id}`);

async function openAndTryOut(op) {
  await op.locator('.opblock-summary-control').click();
  await op.locator('.opblock-body').waitFor();
  await op.locator('button.try-out__btn', { hasText: 'Try it out' }).click();
  await op.locator('button.execute').waitFor();
}

// Clicks Execute and waits for the network answer, then for Swagger UI to show it.
async function execute(op, method, path = '/messages') {
  const [response] = await Promise.all([
    page.waitForResponse(
      (r) => r.request().method() === method && new URL(r.url()).pathname === path,
      { timeout: TIMEOUT_MS },
    ),
    op.locator('button.execute').click(),
  ]);
  const live = op.locator('.live-responses-table tr.response');
  await live.locator('.highlight-code pre').first().waitFor();
  const status = (await live.locator('td.response-col_status').innerText()).trim();
  const shown = await live.locator('.highlight-code pre').first().textContent();
  return { response, status, shown: JSON.parse(shown) };
}

before(async () => {
  browser = await launch();
  ({ context, record } = await openContext(browser));
  page = await context.newPage();
});

after(async () => {
  await context?.close();
  await browser?.close();
});

test('Swagger UI posts a twoot and shows 201 with its id', async () => {
  await scenario('post', async () => {
    const [spec] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/openapi.json'),
      page.goto(`${BASE_URL}/docs/`),
    ]);
    assert.equal(spec.status(), 200);
    const create = operation('create_message');
    await create.waitFor();

    await openAndTryOut(create);
    const body = JSON.stringify({ text: TEXT, tag: TAG });
    await create.locator('textarea.body-param__text').fill(body);
    const { response, status, shown } = await execute(create, 'POST');

    assert.deepEqual(JSON.parse(response.request().postData()), JSON.parse(body), 'the body sent is the one typed');
    assert.equal(response.status(), 201);
    assert.equal(status, '201', 'Swagger UI shows 201');
    assert.match(shown.id, /^\d+$/, 'the id is a string of digits');
    assert.equal(shown.text, TEXT);
    assert.equal(shown.tag, TAG.toLowerCase());
    assert.deepEqual(shown, await response.json(), 'Swagger UI shows the body the server sent');
    posted = shown;
    log(`posted twoot ${posted.id} under ${posted.tag}`);

    await create.locator('.live-responses-table').scrollIntoViewIfNeeded();
    log(`success screenshot: ${await screenshot('docs-after-post')}`);
  });
});

test('Swagger UI lists the twoot under its tag', async () => {
  assert.ok(posted, 'needs the twoot posted by the test before');
  await scenario('list', async () => {
    const list = operation('list_messages');
    await openAndTryOut(list);
    const tag = list.locator('tr[data-param-name="tag"][data-param-in="query"] input');
    await tag.fill(TAG);
    // The field hands its value to Swagger UI on blur, rather than after its typing pause.
    await tag.blur();
    const { response, status, shown } = await execute(list, 'GET');

    assert.equal(new URL(response.url()).searchParams.get('tag'), TAG, 'the request filters by the tag typed');
    assert.equal(response.status(), 200);
    assert.equal(status, '200', 'Swagger UI shows 200');
    assert.ok(Array.isArray(shown), 'the body is a list');
    const found = shown.find((twoot) => twoot.id === posted.id);
    assert.ok(found, `the list shows twoot ${posted.id}`);
    assert.equal(found.text, TEXT);
    assert.ok(shown.every((twoot) => twoot.tag === posted.tag), 'only twoots under the tag are listed');
  });
});

test('Swagger UI shows 401 for the statistics without a key, 200 after Authorize', async () => {
  assert.ok(ADMIN_KEY, 'ADMIN_KEY must hold an admin key of the running server');
  await scenario('authorize', async () => {
    const stats = operation('message_stats', 'management');
    await openAndTryOut(stats);
    const refused = await execute(stats, 'GET', '/management/message-stats');
    assert.equal(refused.response.status(), 401);
    assert.equal(refused.status, '401', 'Swagger UI shows 401');
    assert.equal(refused.shown.status, 401, 'the body is a problem with its status');
    assert.equal(refused.response.request().headers().authorization, undefined);

    await page.locator('.auth-wrapper button.authorize').click();
    const modal = page.locator('.modal-ux');
    await modal.locator('input').first().fill(ADMIN_KEY);
    await modal.locator('button.authorize', { hasText: 'Authorize' }).click();
    await modal.locator('button', { hasText: 'Close' }).click();
    await modal.waitFor({ state: 'detached' });

    const allowed = await execute(stats, 'GET', '/management/message-stats');
    assert.equal(allowed.response.request().headers().authorization, `Bearer ${ADMIN_KEY}`);
    assert.equal(allowed.response.status(), 200);
    assert.equal(allowed.status, '200', 'Swagger UI shows 200');
    assert.equal(typeof allowed.shown, 'object', 'the body is the statistics object');
    assert.deepEqual(allowed.shown, await allowed.response.json(), 'Swagger UI shows the body the server sent');
    log(`success screenshot: ${await screenshot('docs-after-authorize')}`);
  });
});

test('the browser talked to 127.0.0.1 only', () => {
  assert.deepEqual(record.offHost, [], 'requests beyond 127.0.0.1 were blocked');
});
