// A headless Chromium against the test app listening on loopback, closed after the run.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Browser } from 'playwright-core';
import { launchChromium } from './chromium';
import { registerStopper } from './resources';

// Which Chromium: CHROME_PATH, else the system's, else the one in @sparticuz/chromium (./chromium.ts).
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Listens with the app on 127.0.0.1 and launches Chromium; both are stopped by the root afterAll hook. */
export async function browserAgainst(app: Express): Promise<{ browser: Browser; base: string }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  registerStopper(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchChromium(CHROMIUM_ARGS);
  registerStopper(() => browser.close());
  return { browser, base };
}
