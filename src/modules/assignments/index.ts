export { assignmentsRouter, pageRedirectRouter } from './assignments.router';
export { assignmentsService, bucketCustomer, type Assignment } from './assignments.service';
export { assignmentsRepository, assignmentId } from './assignments.repository';
export type { AssignmentRecord } from './assignments.model';
export { attributes, customerId } from './assignments.schemas';
