// Tells people from machines on tracking hits. Pure: no I/O. Apple Mail Privacy Protection and other
// prefetching proxies load every image at delivery, and mail security scanners follow every link, so
// counting them as opens and clicks would make every variant look engaging.

/** Within this long after delivery, an image fetch is a prefetch rather than a person reading. */
export const OPEN_PREFETCH_MS = 10_000;
/** Within this long after delivery, a click is a scanner checking the message on arrival. */
export const CLICK_AFTER_DELIVERY_MS = 5_000;
/** Two different links of one message clicked this close together: a machine walking the links. */
export const CLICK_BURST_MS = 2_000;
/** Clicks this long before or after a honeypot hit of the same message are the scanner's. */
export const HONEYPOT_BEFORE_MS = 5_000;
export const HONEYPOT_AFTER_MS = 30_000;
/** Clicks are classified once this long has passed, so later hits of the same burst are known. */
export const CLICK_SETTLE_MS = Math.max(CLICK_BURST_MS, HONEYPOT_BEFORE_MS);

// Security gateways and link checkers (matched case-insensitively on the user agent).
const SCANNER_AGENTS = [
  /safelinks/i,
  /microsoft office existence discovery/i,
  /ms-office/i,
  /\bms search\b/i,
  /proofpoint/i,
  /urldefense/i,
  /mimecast/i,
  /barracuda/i,
  /forcepoint/i,
  /trend ?micro/i,
  /symantec|messagelabs|broadcom/i,
  /fireeye|trellix/i,
  /sophos/i,
  /ironport|cisco/i,
  /zscaler/i,
  /checkpoint|check point|avanan/i,
  /bitdefender/i,
  /paloalto|palo alto/i,
  /\bappriver\b|zix/i,
  /headlesschrome|phantomjs|puppeteer|playwright/i,
  /python-requests|python-urllib|aiohttp|go-http-client|okhttp|java\/|libwww-perl|curl\/|wget\//i,
  /\b(bot|crawler|spider|scanner|preview)\b/i,
  /facebookexternalhit|slackbot|linkexpanding|whatsapp|skypeuripreview|discordbot|telegrambot/i,
];

// Image proxies that fetch when the reader opens the message (the open is real, the IP is not).
const OPEN_TIME_PROXIES: [RegExp, string][] = [
  [/googleimageproxy/i, 'google_image_proxy'],
  [/yahoomailproxy/i, 'yahoo_mail_proxy'],
];

export type ScannerReason = 'scanner_agent' | 'no_agent' | 'soon_after_delivery' | 'honeypot' | 'link_burst';
export type ProxyReason = 'apple_mpp' | 'scanner_agent' | 'no_agent' | 'soon_after_delivery';

/** Apple's own address block 17.0.0.0/8 (IPv4 or IPv4-mapped IPv6). */
export function isAppleAddress(ip: string | undefined): boolean {
  if (!ip) return false;
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return /^17\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

export function scannerAgent(userAgent: string | undefined): boolean {
  return userAgent !== undefined && SCANNER_AGENTS.some((pattern) => pattern.test(userAgent));
}

export interface OpenFacts {
  userAgent?: string;
  ip?: string;
  at: Date;
  sentAt?: Date;
}

export type OpenVerdict = { human: true; proxy?: string } | { human: false; reason: ProxyReason };

export function classifyOpen(open: OpenFacts): OpenVerdict {
  const agent = open.userAgent?.trim();
  if (!agent) return { human: false, reason: 'no_agent' };
  // MPP fetches with a bare "Mozilla/5.0" and no platform details, from Apple's network.
  if (agent === 'Mozilla/5.0' || isAppleAddress(open.ip)) return { human: false, reason: 'apple_mpp' };
  if (scannerAgent(agent)) return { human: false, reason: 'scanner_agent' };
  if (open.sentAt && open.at.getTime() - open.sentAt.getTime() < OPEN_PREFETCH_MS) return { human: false, reason: 'soon_after_delivery' };
  const proxy = OPEN_TIME_PROXIES.find(([pattern]) => pattern.test(agent))?.[1];
  return proxy ? { human: true, proxy } : { human: true };
}

export interface ClickHit {
  id: string;
  messageId: string;
  /** A link click, the hidden trap, or a one-click survey score (classified the same way as a click). */
  purpose: 'click' | 'honeypot' | 'survey';
  /** The link followed: a click's URL, a survey score's metric and score (each score link is another link). */
  target?: string;
  at: Date;
  /** Set at request time from the user agent. */
  agent: 'scanner' | 'none' | 'browser';
}

/**
 * Classifies one click (or survey score) against every known hit of its message: null for a person,
 * else why it is a scanner's. `sentAt` is the delivery time when the message is known. Click and score
 * links are links alike: a machine walking the message follows both.
 */
export function classifyClick(hit: ClickHit, messageHits: ClickHit[], sentAt?: Date): ScannerReason | null {
  if (hit.purpose === 'honeypot') return 'honeypot';
  if (hit.agent === 'scanner') return 'scanner_agent';
  if (hit.agent === 'none') return 'no_agent';
  const at = hit.at.getTime();
  if (sentAt && at - sentAt.getTime() < CLICK_AFTER_DELIVERY_MS) return 'soon_after_delivery';
  for (const other of messageHits) {
    if (other.id === hit.id) continue;
    const delta = at - other.at.getTime();
    if (other.purpose === 'honeypot' && delta >= -HONEYPOT_BEFORE_MS && delta <= HONEYPOT_AFTER_MS) return 'honeypot';
    if (other.purpose !== 'honeypot' && other.target !== hit.target && Math.abs(delta) <= CLICK_BURST_MS) return 'link_burst';
  }
  return null;
}
