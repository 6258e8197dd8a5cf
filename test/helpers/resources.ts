// Registry of resources (embedded database, servers) started lazily by tests and stopped after the run.
type Stopper = () => Promise<void>;
const stoppers: Stopper[] = [];

export function registerStopper(stop: Stopper): void {
  stoppers.push(stop);
}

export async function stopTestResources(): Promise<void> {
  while (stoppers.length > 0) {
    const stop = stoppers.pop()!;
    await stop();
  }
}
