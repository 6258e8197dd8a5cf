// Where webhook deliveries may go. A webhook is a URL the service POSTs to from inside its network, so
// unless ALLOW_PRIVATE_WEBHOOKS is set it may only reach public unicast addresses: never loopback,
// private, link-local, unique-local, carrier-grade NAT, unspecified, multicast, broadcast, reserved, nor
// an IPv6 form that embeds an IPv4 address of those. In production it must be https, and it never
// carries credentials. The URL is checked when the webhook is registered (its host name resolved), and
// again at every delivery, where the delivery connects to exactly the address that passed the check, so
// a second DNS answer (DNS rebinding) cannot send it elsewhere.
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a host name has (the system resolver, as a connection would use, unless a test answers). */
export type TargetLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export interface TargetPolicy {
  /** Only https URLs (NODE_ENV=production). */
  httpsOnly: boolean;
  /** Loopback, private and other non-public addresses allowed (ALLOW_PRIVATE_WEBHOOKS, on-premise). */
  allowPrivate: boolean;
  lookup?: TargetLookup;
}

export function targetPolicyOf(config: { NODE_ENV: string; ALLOW_PRIVATE_WEBHOOKS: boolean }): TargetPolicy {
  return { httpsOnly: config.NODE_ENV === 'production', allowPrivate: config.ALLOW_PRIVATE_WEBHOOKS };
}

/** A delivery the policy does not allow: nothing was sent, no connection was made. */
export class TargetRefusedError extends Error {
  constructor(readonly reason: string) {
    super(`webhook target refused: ${reason}`);
    this.name = 'TargetRefusedError';
  }
}

const RANGE_NAMES: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  uniqueLocal: 'unique-local',
  deprecatedSiteLocal: 'site-local',
  reserved: 'reserved',
};

/**
 * Why `address` is not a public unicast address (a short description such as "loopback" or
 * "IPv4-mapped private"), or undefined when it is one. Anything that is not an IP address is refused.
 */
export function nonPublicRange(address: string): string | undefined {
  if (!net.isIP(address)) return 'non-IP';
  // IPv6 in the URL standard's form first (hex only): ipaddr.js reads any dotted tail, ::127.0.0.1 too,
  // as IPv4-mapped.
  let ip = ipaddr.parse(net.isIPv6(address) ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address);
  let prefix = '';
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress()) {
    ip = ip.toIPv4Address();
    prefix = 'IPv4-mapped ';
  }
  const range = ip.range();
  if (range !== 'unicast') return `${prefix}${RANGE_NAMES[range] ?? range}`;
  // ::a.b.c.d (IPv4-compatible, deprecated) embeds an IPv4 address; ipaddr.js calls it unicast.
  if (ip instanceof ipaddr.IPv6 && ip.parts.slice(0, 6).every((part) => part === 0)) return 'IPv4-compatible';
  return undefined;
}

/** The host of a URL as an address or name, without the brackets of an IPv6 literal. */
function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

const PRIVATE_HINT = 'webhooks may only reach public addresses (ALLOW_PRIVATE_WEBHOOKS=true allows others, for on-premise receivers)';

/**
 * Why the URL itself may not be a webhook target (its scheme, credentials in it, or a literal
 * non-public address), or undefined. The WHATWG parser has already turned 127.1, 2130706433 and 0x7f.1
 * into 127.0.0.1, so every spelling of an address is classified as the address.
 */
export function urlProblem(raw: string, policy: TargetPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an absolute http(s) URL';
  if (policy.httpsOnly && url.protocol !== 'https:') return 'must be an https URL in production';
  if (url.username !== '' || url.password !== '') return 'must not contain a user name or password';
  const host = hostOf(url);
  if (net.isIP(host) && !policy.allowPrivate) {
    const range = nonPublicRange(host);
    if (range) return `is a ${range} address: ${PRIVATE_HINT}`;
  }
  return undefined;
}

const systemLookup: TargetLookup = async (hostname) =>
  (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

function refusedAddresses(addresses: ResolvedAddress[]): boolean {
  return addresses.some((a) => nonPublicRange(a.address) !== undefined);
}

/** How long registration waits for the resolver before accepting the URL (every delivery checks again). */
const REGISTRATION_LOOKUP_MS = 5000;

/**
 * Why a webhook may not be registered with this URL, or undefined. A host name is resolved, and refused
 * when any of its addresses is not public; one that does not resolve (yet) is accepted, since every
 * delivery resolves and checks it again.
 */
export async function registrationProblem(raw: string, policy: TargetPolicy): Promise<string | undefined> {
  const problem = urlProblem(raw, policy);
  if (problem || policy.allowPrivate) return problem;
  const host = hostOf(new URL(raw));
  if (net.isIP(host)) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const addresses = await Promise.race([
    (policy.lookup ?? systemLookup)(host).catch(() => []),
    new Promise<ResolvedAddress[]>((resolve) => {
      timer = setTimeout(() => resolve([]), REGISTRATION_LOOKUP_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  // Not which address: the range of an internal name's address is nothing the caller needs to know.
  return refusedAddresses(addresses) ? `its host name resolves to a non-public address: ${PRIVATE_HINT}` : undefined;
}

/**
 * The one address a delivery to `url` connects to. Throws TargetRefusedError when the policy refuses the
 * URL or any address its host name resolves to, or the resolver's error (ENOTFOUND...) when it has none.
 */
export async function resolveTarget(url: URL, policy: TargetPolicy): Promise<ResolvedAddress> {
  const problem = urlProblem(url.href, policy);
  if (problem) throw new TargetRefusedError(problem);
  const host = hostOf(url);
  const family = net.isIP(host);
  const addresses = family ? [{ address: host, family: family as 4 | 6 }] : await (policy.lookup ?? systemLookup)(host);
  if (addresses.length === 0) throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' });
  if (!policy.allowPrivate && refusedAddresses(addresses)) throw new TargetRefusedError('the host name resolves to a non-public address');
  return addresses[0];
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export interface TargetRequest {
  headers: Record<string, string>;
  body: string;
  /** Aborts the lookup or the request; the promise then rejects with the signal's reason. */
  signal: AbortSignal;
}

/**
 * POSTs `body` to `raw` and resolves with the response status (the body is not read, and a redirect is
 * not followed: the receiver is the URL that was registered). The host is resolved and checked once,
 * and the connection is made to exactly that address, the URL's host name kept for the Host header and
 * TLS (SNI and certificate check). A fresh connection each time: no pooled socket from an earlier check.
 */
export async function postToTarget(raw: string, request: TargetRequest, policy: TargetPolicy): Promise<number> {
  const url = new URL(raw);
  const target = await abortable(resolveTarget(url, policy), request.signal);
  const host = hostOf(url);
  const pinned: net.LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [target]);
    else callback(null, target.address, target.family);
  };
  const secure = url.protocol === 'https:';
  return new Promise<number>((resolve, reject) => {
    const req = (secure ? https : http).request({
      protocol: url.protocol,
      hostname: host,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { ...request.headers, 'Content-Length': String(Buffer.byteLength(request.body)) },
      agent: false,
      lookup: pinned,
      signal: request.signal,
      ...(secure && !net.isIP(host) ? { servername: host } : {}),
    });
    req.once('response', (response) => {
      resolve(response.statusCode ?? 0);
      response.destroy();
    });
    req.once('error', (error) => reject(request.signal.aborted ? request.signal.reason : error));
    req.end(request.body);
  });
}
