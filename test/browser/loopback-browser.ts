import { accessSync, constants } from 'node:fs';
import { chromium, type BrowserContext, type Frame, type Page } from 'playwright-core';

/** Debian's chromium package, which `scripts/provision --chromium` installs. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

export function isChromiumInstalled(): boolean {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost']);
// These schemes never leave the browser, so they need no host check.
const LOCAL_SCHEMES = new Set(['data:', 'blob:', 'about:']);

/** Returns true for URLs that stay in the browser or go to 127.0.0.1 or localhost. */
export function isLoopbackUrl(rawUrl: string): boolean {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return false;
  }
  return LOCAL_SCHEMES.has(url.protocol) || LOOPBACK_HOSTS.has(url.hostname);
}

export interface LoopbackBrowser {
  context: BrowserContext;
  page: Page;
  /** URLs of every request to another host that a page or worker attempted; the guard aborted each one. */
  readonly foreignRequests: readonly string[];
  /** URLs of requests to another host that completed; stays empty unless the guard failed. */
  readonly foreignResponses: readonly string[];
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with the given fresh profile folder and a guard that lets requests reach only
 * 127.0.0.1 and localhost. The route handler aborts and records any other request of a page or its workers.
 * The browser's own requests (updates, sync and the like) never reach a route handler, so flags turn those
 * services off, and a host resolver rule makes every host name but 127.0.0.1 and localhost fail to resolve.
 */
export async function launchLoopbackBrowser(userDataDir: string): Promise<LoopbackBrowser> {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      // The tests may run as root, where Chromium's sandbox refuses to start.
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
    ],
    // Wide enough that the workflow list shows its Type column next to the saved views.
    viewport: { width: 1600, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
    // The route handler does not see requests that a service worker makes or serves, so none may register.
    serviceWorkers: 'block',
  });

  const foreignRequests: string[] = [];
  const foreignResponses: string[] = [];
  // A routed request also fires the request event, so each URL is recorded once.
  const recordForeignRequest = (url: string): void => {
    if (!foreignRequests.includes(url)) foreignRequests.push(url);
  };
  try {
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (isLoopbackUrl(url)) {
        await route.continue();
        return;
      }
      recordForeignRequest(url);
      await route.abort('blockedbyclient');
    });
    // The request event also records a request that skipped the route handler, and the websocket event
    // records WebSockets, which routes do not cover.
    context.on('request', (request) => {
      if (!isLoopbackUrl(request.url())) recordForeignRequest(request.url());
    });
    context.on('requestfinished', (request) => {
      if (!isLoopbackUrl(request.url())) foreignResponses.push(request.url());
    });
    const watchWebSockets = (page: Page): void => {
      page.on('websocket', (socket) => {
        if (!isLoopbackUrl(socket.url())) recordForeignRequest(socket.url());
      });
    };
    context.on('page', watchWebSockets);

    const page = context.pages()[0] ?? (await context.newPage());
    watchWebSockets(page);
    return {
      context,
      page,
      foreignRequests,
      foreignResponses,
      close: () => context.close(),
    };
  } catch (error) {
    await context.close();
    throw error;
  }
}

/**
 * Waits until a child frame of the page shows `expected` in its text and returns that frame. The Temporal
 * UI renders summaries and current details as Markdown in iframes, which page locators do not search.
 * With `reloadEveryMs` the page is reloaded while the text is missing, because the UI reads current
 * details once per page load.
 */
export async function waitForFrameText(
  page: Page,
  expected: string,
  options: { timeoutMs: number; reloadEveryMs?: number },
): Promise<Frame> {
  const deadline = Date.now() + options.timeoutMs;
  let nextReload = options.reloadEveryMs === undefined ? Infinity : Date.now() + options.reloadEveryMs;
  let seen: string[] = [];
  for (;;) {
    seen = [];
    for (const frame of page.frames()) {
      if (frame === page.mainFrame()) continue;
      const text = await frame.locator('body').innerText({ timeout: 1_000 }).catch(() => '');
      if (text.includes(expected)) return frame;
      seen.push(text);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for a frame with text '${expected}'; frames showed ${JSON.stringify(seen)}`);
    }
    if (Date.now() > nextReload) {
      await page.reload();
      nextReload = Date.now() + options.reloadEveryMs!;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
