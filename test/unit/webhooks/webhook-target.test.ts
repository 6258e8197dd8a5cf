import assert from 'node:assert/strict';
import net from 'node:net';
import { ConfigError, parseConfig } from '../../../config';
import {
  nonPublicRange,
  registrationProblem,
  resolveTarget,
  TargetRefusedError,
  targetPolicyOf,
  urlProblem,
  type TargetLookup,
  type TargetPolicy,
} from '../../../src/modules/webhooks/webhook-target';

const STRICT: TargetPolicy = { httpsOnly: false, allowPrivate: false };
const PRODUCTION: TargetPolicy = { httpsOnly: true, allowPrivate: false };
const ON_PREMISE: TargetPolicy = { httpsOnly: false, allowPrivate: true };

/** A resolver that answers each name with the given addresses (and counts its calls). */
function answering(answers: Record<string, string[]>) {
  const calls: string[] = [];
  const lookup: TargetLookup = async (hostname) => {
    calls.push(hostname);
    const addresses = answers[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: net.isIP(address) as 4 | 6 }));
  };
  return { lookup, calls };
}

const REFUSED: [string, RegExp][] = [
  ['127.0.0.1', /^loopback$/],
  ['127.255.255.254', /^loopback$/],
  ['::1', /^loopback$/],
  ['10.1.2.3', /^private$/],
  ['172.16.0.1', /^private$/],
  ['172.31.255.255', /^private$/],
  ['192.168.1.1', /^private$/],
  ['169.254.169.254', /^link-local$/],
  ['fe80::1', /^link-local$/],
  ['fc00::1', /^unique-local$/],
  ['fd12:3456:789a::1', /^unique-local$/],
  ['0.0.0.0', /^unspecified$/],
  ['0.1.2.3', /^unspecified$/],
  ['::', /^unspecified$/],
  ['224.0.0.251', /^multicast$/],
  ['239.255.255.250', /^multicast$/],
  ['ff02::1', /^multicast$/],
  ['255.255.255.255', /^broadcast$/],
  ['100.64.0.1', /^carrier-grade NAT$/],
  ['100.127.255.254', /^carrier-grade NAT$/],
  ['::ffff:127.0.0.1', /^IPv4-mapped loopback$/],
  ['::ffff:7f00:1', /^IPv4-mapped loopback$/],
  ['::ffff:10.0.0.1', /^IPv4-mapped private$/],
  ['::ffff:169.254.169.254', /^IPv4-mapped link-local$/],
  ['::ffff:100.64.0.1', /^IPv4-mapped carrier-grade NAT$/],
  ['::ffff:0.0.0.0', /^IPv4-mapped unspecified$/],
  ['::ffff:255.255.255.255', /^IPv4-mapped broadcast$/],
  ['::ffff:224.0.0.1', /^IPv4-mapped multicast$/],
  ['::127.0.0.1', /^IPv4-compatible$/],
  ['::7f00:1', /^IPv4-compatible$/],
  ['::8.8.8.8', /^IPv4-compatible$/],
  ['fec0::1', /^site-local$/],
  ['192.0.2.1', /^reserved$/],
  ['64:ff9b::a00:1', /./],
  ['localhost', /^non-IP$/],
];
const PUBLIC = ['8.8.8.8', '93.184.216.34', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '::ffff:8.8.8.8'];

describe('webhooks: where deliveries may go', () => {
  it('when an address is loopback, private, link-local, unique-local, unspecified, multicast, broadcast, CGNAT or an IPv4-mapped form of one, then it is named as such', () => {
    for (const [address, range] of REFUSED) assert.match(nonPublicRange(address) ?? 'public', range, address);
  });

  it('when an address is public unicast (IPv4, IPv6, or IPv4-mapped public), then it is allowed', () => {
    for (const address of PUBLIC) assert.equal(nonPublicRange(address), undefined, address);
  });

  it('when the url is http in production, then it is refused; https in production and http elsewhere are allowed', () => {
    assert.match(urlProblem('http://hooks.example/x', PRODUCTION) ?? '', /https/);
    assert.equal(urlProblem('https://hooks.example/x', PRODUCTION), undefined);
    assert.equal(urlProblem('http://hooks.example/x', STRICT), undefined);
    assert.match(urlProblem('http://10.0.0.1/x', { httpsOnly: true, allowPrivate: true }) ?? '', /https/, 'on-premise installs still need https in production');
  });

  it('when the url carries a user name or password, then it is refused, whatever the setting', () => {
    for (const url of ['https://user:secret@hooks.example/x', 'https://user@hooks.example/x', 'https://:secret@hooks.example/x']) {
      for (const policy of [STRICT, PRODUCTION, ON_PREMISE]) assert.match(urlProblem(url, policy) ?? '', /user name or password/, url);
    }
  });

  it('when the url names a non-public address in any spelling, then it is refused unless private addresses are allowed', () => {
    const urls = [
      'http://127.0.0.1:8080/x',
      'http://127.1/x',
      'http://2130706433/x',
      'http://0x7f000001/x',
      'http://0177.0.0.1/x',
      'http://[::1]/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://[0:0:0:0:0:ffff:7f00:1]/x',
      'http://10.0.0.5/x',
      'http://[::ffff:192.168.1.10]/x',
      'http://169.254.169.254/latest/meta-data/',
      'http://[fe80::1]/x',
      'http://[fd00::1]/x',
      'http://100.64.0.1/x',
      'http://0.0.0.0/x',
      'http://0/x',
      'http://[::]/x',
      'http://224.0.0.1/x',
      'http://[ff02::1]/x',
      'http://255.255.255.255/x',
    ];
    for (const url of urls) {
      assert.match(urlProblem(url, STRICT) ?? '', /address: webhooks may only reach public addresses/, url);
      assert.equal(urlProblem(url, ON_PREMISE), undefined, `${url} with ALLOW_PRIVATE_WEBHOOKS`);
    }
    assert.equal(urlProblem('https://93.184.216.34/x', STRICT), undefined);
    assert.equal(urlProblem('https://[2606:4700:4700::1111]/x', STRICT), undefined);
  });

  it('when a host name resolves to any non-public address at registration, then it is refused; all public or not resolving, then allowed', async () => {
    const { lookup, calls } = answering({
      'public.test': ['93.184.216.34', '2606:4700:4700::1111'],
      'mixed.test': ['93.184.216.34', '10.0.0.7'],
      'internal.test': ['192.168.0.10'],
      'mapped.test': ['::ffff:127.0.0.1'],
    });
    assert.equal(await registrationProblem('https://public.test/x', { ...STRICT, lookup }), undefined);
    assert.match((await registrationProblem('https://mixed.test/x', { ...STRICT, lookup })) ?? '', /resolves to a non-public address/);
    assert.match((await registrationProblem('https://internal.test/x', { ...STRICT, lookup })) ?? '', /resolves to a non-public address/);
    assert.match((await registrationProblem('https://mapped.test/x', { ...STRICT, lookup })) ?? '', /resolves to a non-public address/);
    assert.doesNotMatch((await registrationProblem('https://internal.test/x', { ...STRICT, lookup })) ?? '', /192\.168/, 'the address it resolves to is not told');
    assert.equal(await registrationProblem('https://nowhere.test/x', { ...STRICT, lookup }), undefined, 'checked again at every delivery');
    calls.length = 0;
    assert.equal(await registrationProblem('https://internal.test/x', { ...ON_PREMISE, lookup }), undefined);
    assert.deepEqual(calls, [], 'nothing to refuse, nothing resolved');
    assert.match((await registrationProblem('https://user:pw@public.test/x', { ...STRICT, lookup })) ?? '', /user name or password/);
  });

  it('when a delivery resolves its target, then every address is checked and the first one is the one to connect to', async () => {
    const { lookup, calls } = answering({ 'public.test': ['93.184.216.34', '1.1.1.1'], 'rebound.test': ['93.184.216.34', '127.0.0.1'] });
    assert.deepEqual(await resolveTarget(new URL('https://public.test/x'), { ...STRICT, lookup }), { address: '93.184.216.34', family: 4 });
    await assert.rejects(resolveTarget(new URL('https://rebound.test/x'), { ...STRICT, lookup }), TargetRefusedError);
    await assert.rejects(resolveTarget(new URL('http://[::ffff:10.0.0.1]:8080/x'), { ...STRICT, lookup }), TargetRefusedError);
    await assert.rejects(resolveTarget(new URL('http://public.test/x'), { ...PRODUCTION, lookup }), TargetRefusedError);
    await assert.rejects(resolveTarget(new URL('https://nowhere.test/x'), { ...STRICT, lookup }), (error: Error & { code?: string }) => error.code === 'ENOTFOUND' && !(error instanceof TargetRefusedError));
    assert.deepEqual(await resolveTarget(new URL('http://rebound.test/x'), { ...ON_PREMISE, lookup }), { address: '93.184.216.34', family: 4 });
    assert.deepEqual(await resolveTarget(new URL('http://[::1]:9/x'), { ...ON_PREMISE, lookup }), { address: '::1', family: 6 });
    assert.deepEqual(calls, ['public.test', 'rebound.test', 'nowhere.test', 'rebound.test'], 'one lookup per resolution, none for literal addresses or refused URLs');
  });

  it('when ALLOW_PRIVATE_WEBHOOKS is unset, then private targets are refused; "true" allows them; production requires https; a wrong value stops the service', () => {
    const base = { NODE_ENV: 'development' };
    assert.deepEqual(targetPolicyOf(parseConfig(base)), { httpsOnly: false, allowPrivate: false });
    assert.deepEqual(targetPolicyOf(parseConfig({ ...base, ALLOW_PRIVATE_WEBHOOKS: 'true' })), { httpsOnly: false, allowPrivate: true });
    assert.deepEqual(targetPolicyOf(parseConfig({ ...base, ALLOW_PRIVATE_WEBHOOKS: 'false' })), { httpsOnly: false, allowPrivate: false });
    const production = { NODE_ENV: 'production', ADMIN_API_KEY: 'a'.repeat(32), TRACKING_SECRET: 's'.repeat(40), PUBLIC_BASE_URL: 'https://verdict.example' };
    assert.deepEqual(targetPolicyOf(parseConfig(production)), { httpsOnly: true, allowPrivate: false });
    assert.throws(() => parseConfig({ ...base, ALLOW_PRIVATE_WEBHOOKS: 'yes' }), (error: unknown) => error instanceof ConfigError && error.message.includes('ALLOW_PRIVATE_WEBHOOKS'));
  });
});
