export { eventsRouter } from './events.router';
export { eventsService } from './events.service';
export { eventsRepository } from './events.repository';
export type { EventRecord, ResponseRecord } from './events.model';
