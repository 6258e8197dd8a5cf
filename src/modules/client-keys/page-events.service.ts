// Exposures and events sent by web pages with a client key (POST /api/events/:clientKey), only for page
// experiments, through the services everything else uses: an exposure is an assignment
// (assignmentsService.assign, after checking that the claimed variant is the one the hash gives), and
// events are stored by eventsService.ingest, so the aggregator counts them exactly as any other event.
//
// Events: an event names one page experiment, or none and then goes to every page experiment the
// customer is assigned to; it is stored once per such experiment, naming it, so a page's event never
// counts in an email experiment. Its eventId is derived from the client key, the customer, the item's
// client-sent id and the experiment, so a retried beacon stores (and counts) nothing twice. Events take
// the time they arrive (a page's clock is not trusted, and its exposure, recorded now, must precede them).
import { createHash } from 'node:crypto';
import { NotFoundError } from '../../lib/errors';
import { assignmentId, assignmentsRepository, assignmentsService, bucketCustomer } from '../assignments';
import { eventsService } from '../events';
import { experimentsService, type ExperimentRecord } from '../experiments';
import { pageItem, type EventItem, type ExposureItem, type ItemResult, type PageEventsOutcome } from './client-keys.schemas';
import type { ResolvedClientKey } from './client-keys.service';

/** The eventId of one page event in one experiment: the same for every retry of the item. */
export function pageEventId(clientKey: string, customerId: string, itemId: string, experiment: string): string {
  return `pg_${createHash('sha256').update(`${clientKey}\n${customerId}\n${itemId}\n${experiment}`).digest('base64url').slice(0, 32)}`;
}

type Refusal = Extract<ItemResult, { status: 'refused' }>;
const refuse = (reason: Refusal['reason'], message: string, extra: Partial<Refusal> = {}): Refusal => ({ status: 'refused', reason, message, ...extra });

/** The page experiment an item names, or why it cannot be used. */
async function pageExperiment(key: string): Promise<{ experiment: ExperimentRecord } | { refused: Refusal }> {
  let experiment: ExperimentRecord;
  try {
    experiment = await experimentsService.getCached(key);
  } catch (error) {
    if (error instanceof NotFoundError) return { refused: refuse('unknown_experiment', `no experiment "${key}"`) };
    throw error;
  }
  if (experiment.assetType !== 'page') return { refused: refuse('not_page_experiment', `"${key}" is not a page experiment; a client key reaches page experiments only`) };
  return { experiment };
}

async function recordExposure(item: ExposureItem): Promise<ItemResult> {
  const found = await pageExperiment(item.experiment);
  if ('refused' in found) return found.refused;
  const record = found.experiment;
  if (record.status !== 'running') {
    const note = record.status === 'rolled_out' && record.rollout ? `: rolled out to "${record.rollout.variant}", nobody is exposed to a test any more` : '';
    return refuse('not_running', `experiment "${record._id}" is ${record.status}${note}`);
  }
  if (!record.variants.some((v) => v.key === item.variant)) return refuse('unknown_variant', `"${item.variant}" is not a variant of experiment "${record._id}"`);
  const customer = { customerId: item.customerId, ...(item.attributes ? { attributes: item.attributes } : {}) };
  const bucket = bucketCustomer(record, customer);
  const expected = 'variant' in bucket ? bucket.variant : null;
  if (expected !== item.variant) {
    const why = expected === null ? `the hash puts customer "${item.customerId}" outside the experiment (${(bucket as { reason: string }).reason})` : `the hash gives customer "${item.customerId}" variant "${expected}"`;
    return refuse('variant_mismatch', `${why}, not "${item.variant}"`, { variant: expected });
  }
  const assignment = await assignmentsService.assign(record._id, customer);
  // An assignment stored before (a forced one, say) sticks, and the page showed something else.
  if (assignment.variant !== item.variant) return refuse('variant_mismatch', `customer "${item.customerId}" is assigned to "${assignment.variant}", not "${item.variant}"`, { variant: assignment.variant });
  return { status: 'accepted', variant: assignment.variant };
}

export const pageEventsService = {
  async record(clientKey: ResolvedClientKey, items: unknown[]): Promise<PageEventsOutcome> {
    const results = new Array<ItemResult | undefined>(items.length);
    const exposures: [number, ExposureItem][] = [];
    const events: [number, EventItem][] = [];
    items.forEach((raw, i) => {
      const parsed = pageItem.safeParse(raw);
      if (!parsed.success) {
        const details = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
        results[i] = refuse('invalid', details[0] ? `${details[0].path || 'item'}: ${details[0].message}` : 'invalid item', { details });
      } else if (parsed.data.type === 'exposure') exposures.push([i, parsed.data]);
      else events.push([i, parsed.data]);
    });

    // Exposures first: the events of the same beacon count only once the customer is assigned.
    await Promise.all(exposures.map(async ([i, item]) => (results[i] = await recordExposure(item))));

    // Which page experiments each event goes to: the one it names, or each the customer is assigned to.
    const pageKeys = (await experimentsService.listWithAssignments()).filter((e) => e.assetType === 'page').map((e) => e._id);
    const targets = new Map<number, string[]>();
    for (const [i, item] of events) {
      if (item.experiment === undefined) {
        targets.set(i, pageKeys);
        continue;
      }
      const found = await pageExperiment(item.experiment);
      if ('refused' in found) results[i] = found.refused;
      else targets.set(i, [found.experiment._id]);
    }
    const lookups = new Set<string>();
    for (const [i, item] of events) for (const key of targets.get(i) ?? []) lookups.add(assignmentId(key, item.customerId));
    const assigned = lookups.size > 0 ? await assignmentsRepository.findMany([...lookups]) : new Map();
    const inputs = [];
    let ignored = 0;
    for (const [i, item] of events) {
      const candidates = targets.get(i);
      if (!candidates) continue;
      const experiments = candidates.filter((key) => assigned.has(assignmentId(key, item.customerId)));
      if (experiments.length === 0) {
        ignored++;
        results[i] = { status: 'ignored', reason: 'not_assigned', message: `customer "${item.customerId}" is not assigned to ${item.experiment ? `page experiment "${item.experiment}"` : 'any page experiment'}: nothing would count the event` };
        continue;
      }
      for (const experiment of experiments) {
        inputs.push({
          eventId: pageEventId(clientKey.key, item.customerId, item.id, experiment),
          customerId: item.customerId,
          name: item.name,
          experiment,
          ...(item.value !== undefined ? { value: item.value } : {}),
          ...(item.properties !== undefined ? { properties: item.properties } : {}),
        });
      }
      results[i] = { status: 'accepted', experiments };
    }
    const stored = inputs.length > 0 ? await eventsService.ingest(inputs) : { accepted: 0, duplicates: 0 };

    const final = results as ItemResult[];
    const exposureResults = exposures.map(([i]) => final[i]);
    return {
      results: final,
      exposures: { accepted: exposureResults.filter((r) => r.status === 'accepted').length, refused: exposureResults.filter((r) => r.status === 'refused').length },
      events: { accepted: stored.accepted, duplicates: stored.duplicates, ignored, refused: events.filter(([i]) => final[i].status === 'refused').length },
    };
  },
};
