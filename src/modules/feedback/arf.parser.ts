// Reads an Abuse Reporting Format report (RFC 5965), as mailbox providers' feedback loops send them: a
// multipart/report; report-type=feedback-report message whose parts are a human-readable text, the
// machine-readable message/feedback-report (header-like fields: Feedback-Type, User-Agent, Version,
// Original-Rcpt-To, Arrival-Date, ...) and the original message (message/rfc822) or its headers
// (text/rfc822-headers). Only what finding the reported message needs is read. Pure: no I/O.

export type Headers = Map<string, string[]>;

export interface FeedbackReport {
  /** Lowercased: abuse, fraud, virus, other, not-spam, auth-failure, ... */
  feedbackType: string;
  userAgent?: string;
  originalRcptTo?: string;
  arrivalDate?: string;
  /** Headers of the reported message (empty when the report left them out). */
  original: Headers;
  /** The reported message's body as included (often redacted or absent), for signed links. */
  originalBody: string;
}

interface Part {
  headers: Headers;
  body: string;
}

/** Nested messages and multiparts deeper than this are not followed (a report is two levels deep). */
const MAX_DEPTH = 5;

/** Splits at the first empty line; unfolds continuation lines (RFC 5322 §2.2.3). */
export function parseHeaderBlock(text: string): Headers {
  const headers: Headers = new Map();
  let current: { name: string; value: string } | undefined;
  const flush = () => {
    if (!current) return;
    const list = headers.get(current.name) ?? [];
    list.push(current.value.trim());
    headers.set(current.name, list);
    current = undefined;
  };
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && current) {
      current.value += ` ${line.trim()}`;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current = { name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1) };
  }
  flush();
  return headers;
}

function splitMessage(text: string): Part {
  const match = /\r?\n\r?\n/.exec(text);
  if (!match) return { headers: parseHeaderBlock(text), body: '' };
  return { headers: parseHeaderBlock(text.slice(0, match.index)), body: text.slice(match.index + match[0].length) };
}

export function first(headers: Headers, name: string): string | undefined {
  return headers.get(name.toLowerCase())?.[0];
}

/** "multipart/report; boundary=\"x\"; report-type=feedback-report" → type and parameters (lowercased names). */
function contentType(headers: Headers): { type: string; params: Map<string, string> } {
  const raw = first(headers, 'content-type') ?? 'text/plain';
  const [type = 'text/plain', ...rest] = raw.split(';');
  const params = new Map<string, string>();
  for (const param of rest) {
    const eq = param.indexOf('=');
    if (eq <= 0) continue;
    params.set(param.slice(0, eq).trim().toLowerCase(), param.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  return { type: type.trim().toLowerCase(), params };
}

function decodeBody(part: Part): string {
  const encoding = (first(part.headers, 'content-transfer-encoding') ?? '7bit').toLowerCase();
  if (encoding === 'base64') return Buffer.from(part.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = part.body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return part.body;
}

function multipartParts(body: string, boundary: string): Part[] {
  const delimiter = `--${boundary}`;
  const parts: Part[] = [];
  let current: string[] | undefined;
  for (const line of body.split(/\r?\n/)) {
    if (line.startsWith(delimiter)) {
      if (current) parts.push(splitMessage(current.join('\n')));
      // The close delimiter ends the multipart; anything after it is the epilogue.
      if (line.slice(delimiter.length).startsWith('--')) return parts;
      current = [];
      continue;
    }
    current?.push(line);
  }
  if (current) parts.push(splitMessage(current.join('\n')));
  return parts;
}

/** Every leaf part, depth first, following multiparts and the (non-reported) messages that wrap a report. */
function leaves(part: Part, depth: number, out: Part[]): void {
  const { type, params } = contentType(part.headers);
  const boundary = params.get('boundary');
  if (type.startsWith('multipart/') && boundary && depth < MAX_DEPTH) {
    for (const child of multipartParts(part.body, boundary)) leaves(child, depth + 1, out);
    return;
  }
  out.push(part);
}

/** The report, or the reason the text is not one. */
export function parseArf(raw: string): FeedbackReport | { problem: string } {
  const parts: Part[] = [];
  leaves(splitMessage(raw), 0, parts);
  const report = parts.findIndex((p) => contentType(p.headers).type === 'message/feedback-report');
  // A report forwarded as an attachment (message/rfc822 holding the multipart/report): look inside once.
  if (report < 0) {
    for (const part of parts.filter((p) => contentType(p.headers).type === 'message/rfc822')) {
      const inner = parseArf(decodeBody(part));
      if (!('problem' in inner)) return inner;
    }
    return { problem: 'no message/feedback-report part (RFC 5965): send the whole report, with its MIME headers' };
  }
  const fields = parseHeaderBlock(decodeBody(parts[report]));
  const feedbackType = first(fields, 'feedback-type')?.toLowerCase();
  if (!feedbackType) return { problem: 'the message/feedback-report part has no Feedback-Type field' };
  const originalPart = parts.slice(report + 1).find((p) => ['message/rfc822', 'text/rfc822-headers'].includes(contentType(p.headers).type));
  const original = originalPart ? splitMessage(decodeBody(originalPart)) : { headers: new Map<string, string[]>(), body: '' };
  const userAgent = first(fields, 'user-agent');
  const originalRcptTo = first(fields, 'original-rcpt-to');
  const arrivalDate = first(fields, 'arrival-date') ?? first(fields, 'received-date');
  return {
    feedbackType,
    ...(userAgent !== undefined ? { userAgent } : {}),
    ...(originalRcptTo !== undefined ? { originalRcptTo } : {}),
    ...(arrivalDate !== undefined ? { arrivalDate } : {}),
    original: original.headers,
    originalBody: original.body,
  };
}

/** Tokens of Verdict's signed links (/u/…, /t/o/…, /t/c/…, /s/…) in a text, List-Unsubscribe first. */
export function signedLinkTokens(report: FeedbackReport): string[] {
  const pattern = /\/(?:u|t\/o|t\/c|s)\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/g;
  const texts = [...(report.original.get('list-unsubscribe') ?? []), report.originalBody.replace(/=\r?\n/g, '')];
  const tokens: string[] = [];
  for (const text of texts) for (const match of text.matchAll(pattern)) if (!tokens.includes(match[1])) tokens.push(match[1]);
  return tokens;
}
