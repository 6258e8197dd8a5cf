// The text of one SMS: the variant's template with the recipient's fields (plain text, no HTML escaping),
// the short link where the template says {{link}} (else on a line of its own after the text), and the
// opt-out line. Pure: no I/O.
import type Handlebars from 'handlebars';
import { compileOptions, handlebars } from '../../lib/email-templates';
import { countSmsSegments, type SmsSegmentCount } from '../../lib/sms-segments';

export interface SmsRecipientFields {
  customerId: string;
  phone?: string;
  name?: string;
  locale?: string;
  attributes?: Record<string, unknown>;
}

const MAX_CACHED = 500;
const templates = new Map<string, Handlebars.TemplateDelegate>();

function template(source: string): Handlebars.TemplateDelegate {
  let compiled = templates.get(source);
  if (!compiled) {
    compiled = handlebars.compile(source, compileOptions('plain'));
    if (templates.size >= MAX_CACHED) templates.delete(templates.keys().next().value!);
    templates.set(source, compiled);
  }
  return compiled;
}

export function renderSmsText(source: string, recipient: SmsRecipientFields, link: string, optOut: string): string {
  const context = {
    name: recipient.name ?? '',
    phone: recipient.phone ?? '',
    locale: recipient.locale ?? '',
    customerId: recipient.customerId,
    attributes: recipient.attributes ?? {},
    link,
  };
  const body = template(source)(context).trim();
  return [body.includes(link) ? body : `${body}\n${link}`, optOut].join('\n');
}

/**
 * The segments a variant's message costs as sent: its text (template fields as written, the link in
 * its real length), the short link and the opt-out line of the given locale.
 */
export function estimateSmsSegments(source: string, sampleLink: string, optOut: string): SmsSegmentCount {
  const body = source.includes('{{link}}') ? source.replace(/\{\{\s*link\s*\}\}/g, sampleLink) : `${source.trim()}\n${sampleLink}`;
  return countSmsSegments(`${body}\n${optOut}`);
}
