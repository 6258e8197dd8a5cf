export { changesService, followChangesDuty } from './changes.service';
export type { ChangeScope } from './changes.repository';
