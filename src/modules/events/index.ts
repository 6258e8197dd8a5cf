export { eventsRouter } from './events.router';
export { eventsService } from './events.service';
export { countingService } from './counting.service';
export type { EventRecord, ResponseRecord } from './events.model';
