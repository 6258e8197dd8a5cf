// Keeps the aggregates the results are computed from, as events and answers arrive, and rebuilds them
// from the raw records on demand. Idempotency comes from the unit records: one per experiment, metric
// and customer, created once (unique _id); only their creation or change moves an aggregate.
import {
  aggregateId,
  aggregatesRepository,
  ASSIGNED,
  DeltaAccumulator,
  unitId,
  type AggregateRecord,
  type UnitRecord,
} from '../aggregates';
import { assignmentId, assignmentsRepository, type AssignmentRecord } from '../assignments';
import { experimentsService, metricsByEvent, type ExperimentRecord, type MetricDefinition } from '../experiments';
import type { EventRecord, ResponseRecord } from './events.model';
import { eventsRepository } from './events.repository';

async function candidates(named: string | undefined): Promise<ExperimentRecord[]> {
  const active = await experimentsService.listWithAssignments();
  return named === undefined ? active : active.filter((e) => e._id === named);
}

/** Which unit each event feeds: the experiments the customer was assigned to before the event. */
async function unitsForEvents(events: EventRecord[]) {
  const active = await experimentsService.listWithAssignments();
  const metricMaps = new Map(active.map((e) => [e._id, metricsByEvent(e.metrics.custom)]));
  const pairs: { event: EventRecord; experiment: ExperimentRecord; metrics: MetricDefinition[] }[] = [];
  for (const event of events) {
    for (const experiment of active) {
      if (event.experiment !== undefined && event.experiment !== experiment._id) continue;
      const metrics = metricMaps.get(experiment._id)!.get(event.name);
      if (metrics) pairs.push({ event, experiment, metrics });
    }
  }
  const assignments = await assignmentsRepository.findMany([...new Set(pairs.map((p) => assignmentId(p.experiment._id, p.event.customerId)))]);
  // Values per unit, summed within the batch so each unit is written once.
  const units = new Map<string, { record: UnitRecord; kind: MetricDefinition['kind'] }>();
  for (const { event, experiment, metrics } of pairs) {
    const assignment = assignments.get(assignmentId(experiment._id, event.customerId));
    if (!assignment || assignment.assignedAt.getTime() > event.timestamp.getTime()) continue;
    for (const metric of metrics) {
      const id = unitId(experiment._id, metric.key, event.customerId);
      const value = metric.kind === 'mean' ? (event.value ?? 0) : 1;
      const existing = units.get(id);
      if (existing) {
        if (metric.kind === 'mean') existing.record.value += value;
        if (existing.record.at > event.timestamp) existing.record.at = event.timestamp;
        continue;
      }
      units.set(id, {
        kind: metric.kind,
        record: { _id: id, experiment: experiment._id, variant: assignment.variant, metric: metric.key, customerId: event.customerId, value, at: event.timestamp },
      });
    }
  }
  return [...units.values()];
}

export const countingService = {
  async countEvents(events: EventRecord[]): Promise<void> {
    const units = await unitsForEvents(events);
    const existed = await aggregatesRepository.insertUnits(units.map((u) => u.record));
    const deltas = new DeltaAccumulator();
    for (const { record, kind } of units) {
      const base = { experiment: record.experiment, variant: record.variant, metric: record.metric };
      if (!existed.has(record._id)) {
        deltas.add({ ...base, units: 1, sum: record.value, sumSquares: record.value * record.value });
      } else if (kind === 'mean' && record.value !== 0) {
        const total = await aggregatesRepository.incrementUnitValue(record._id, record.value);
        if (total === null) continue;
        const before = total - record.value;
        deltas.add({ ...base, sum: record.value, sumSquares: total * total - before * before });
      }
    }
    await aggregatesRepository.applyDeltas(deltas);
  },

  async countResponse(response: ResponseRecord): Promise<number> {
    const experiments = (await candidates(response.experiment)).filter((e) => e.status !== 'draft');
    const assignments = await assignmentsRepository.findMany(experiments.map((e) => assignmentId(e._id, response.customerId)));
    const deltas = new DeltaAccumulator();
    let counted = 0;
    for (const experiment of experiments) {
      const assignment = assignments.get(assignmentId(experiment._id, response.customerId));
      if (!assignment || assignment.assignedAt.getTime() > response.timestamp.getTime()) continue;
      counted++;
      const id = unitId(experiment._id, response.metric, response.customerId);
      const base = { experiment: experiment._id, variant: assignment.variant, metric: response.metric };
      const score = response.score;
      const record: UnitRecord = { ...base, _id: id, customerId: response.customerId, value: score, responseId: response._id, at: response.timestamp };
      const existed = await aggregatesRepository.insertUnits([record]);
      if (!existed.has(id)) {
        deltas.add({ ...base, units: 1, sum: score, sumSquares: score * score, histogram: { [score]: 1 } });
        continue;
      }
      const replaced = await aggregatesRepository.replaceAnswer(id, score, response._id, response.timestamp);
      if (!replaced || replaced.responseId === response._id) continue;
      const old = replaced.value;
      deltas.add({ ...base, sum: score - old, sumSquares: score * score - old * old, histogram: old === score ? {} : { [old]: -1, [score]: 1 } });
    }
    await aggregatesRepository.applyDeltas(deltas);
    return counted;
  },

  /**
   * Rebuilds an experiment's aggregates from its assignments, raw events and answers, replacing the
   * live ones. The live counting rules are applied to the same records, so the result is identical.
   */
  async rebuild(experimentKey: string): Promise<{ assigned: number; units: number; aggregates: number }> {
    const experiment = await experimentsService.getRecord(experimentKey);
    const assigned = new Map<string, Pick<AssignmentRecord, 'variant' | 'assignedAt'>>();
    for await (const a of assignmentsRepository.cursorForExperiment(experimentKey)) {
      assigned.set(a.customerId as string, { variant: a.variant as string, assignedAt: a.assignedAt as Date });
    }
    const byEvent = metricsByEvent(experiment.metrics.custom);
    const units = new Map<string, UnitRecord>();
    for await (const raw of eventsRepository.eventsCursor(experimentKey)) {
      const event = raw as unknown as EventRecord;
      const metrics = byEvent.get(event.name);
      const assignment = metrics && assigned.get(event.customerId);
      if (!metrics || !assignment || assignment.assignedAt.getTime() > event.timestamp.getTime()) continue;
      for (const metric of metrics) {
        const id = unitId(experimentKey, metric.key, event.customerId);
        const value = metric.kind === 'mean' ? (event.value ?? 0) : 1;
        const unit = units.get(id);
        if (unit) {
          if (metric.kind === 'mean') unit.value += value;
          if (unit.at > event.timestamp) unit.at = event.timestamp;
        } else {
          units.set(id, { _id: id, experiment: experimentKey, variant: assignment.variant, metric: metric.key, customerId: event.customerId, value, at: event.timestamp });
        }
      }
    }
    for await (const raw of eventsRepository.responsesCursor(experimentKey)) {
      const response = raw as unknown as ResponseRecord;
      const assignment = assigned.get(response.customerId);
      if (!assignment || assignment.assignedAt.getTime() > response.timestamp.getTime()) continue;
      const id = unitId(experimentKey, response.metric, response.customerId);
      const current = units.get(id);
      // Same rule as live counting: a later answer (by its timestamp) replaces the earlier one.
      if (current && current.at.getTime() > response.timestamp.getTime()) continue;
      units.set(id, { _id: id, experiment: experimentKey, variant: assignment.variant, metric: response.metric, customerId: response.customerId, value: response.score, responseId: response._id, at: response.timestamp });
    }

    const aggregates = new Map<string, AggregateRecord>();
    const aggregate = (variant: string, metric: string) => {
      const id = aggregateId(experimentKey, variant, metric);
      let record = aggregates.get(id);
      if (!record) {
        record = { _id: id, experiment: experimentKey, variant, metric, units: 0, sum: 0, sumSquares: 0, histogram: {} };
        aggregates.set(id, record);
      }
      return record;
    };
    for (const a of assigned.values()) aggregate(a.variant, ASSIGNED).units++;
    for (const unit of units.values()) {
      const record = aggregate(unit.variant, unit.metric);
      record.units++;
      record.sum += unit.value;
      record.sumSquares += unit.value * unit.value;
      if (unit.responseId !== undefined) record.histogram[unit.value] = (record.histogram[unit.value] ?? 0) + 1;
    }
    await aggregatesRepository.deleteForExperiment(experimentKey);
    await aggregatesRepository.insertUnitsUnchecked([...units.values()]);
    await aggregatesRepository.insertAggregates([...aggregates.values()]);
    return { assigned: assigned.size, units: units.size, aggregates: aggregates.size };
  },
};
