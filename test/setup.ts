// Mocha root hooks: shared test resources are started lazily by test/helpers and stopped here once.
import { stopTestResources } from './helpers/resources';

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await stopTestResources();
  },
};
