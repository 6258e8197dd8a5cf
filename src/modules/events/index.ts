export { eventsRouter } from './events.router';
export { eventsService } from './events.service';
export { eventsRepository, type ResponseFilter } from './events.repository';
export type { EventRecord, ResponseRecord } from './events.model';
export { observeEvents, type EventObserver } from './event-observers';
