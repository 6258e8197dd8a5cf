// The tests wire the modules as the service does (src/server.ts → src/wiring.ts), from the test
// configuration that test/setup.ts fixes: the same settings, given to the modules the same way.
import { getConfig } from '../../config';
import { resolveSecrets } from '../../src/lib/dev-secrets';
import { configureModules, serviceSettings, type ServiceSettings } from '../../src/wiring';

let settings: ServiceSettings | undefined;

/** The test service's settings; the first call gives them to the modules (the root beforeAll hook makes it). */
export function testSettings(): ServiceSettings {
  if (!settings) {
    const config = getConfig();
    settings = serviceSettings(config, resolveSecrets(config));
    configureModules(settings);
  }
  return settings;
}
