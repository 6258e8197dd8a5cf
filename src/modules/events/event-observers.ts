// Modules that must act on an event as it is stored (a spam complaint suppresses the address, like an
// unsubscribe) register here through the composition root (src/wiring.ts): they import events, so
// events cannot import them.
import type { EventInput } from './events.schemas';

export type EventObserver = (events: EventInput[]) => Promise<void>;

const observers = new Map<string, EventObserver>();

/** Calls `observer` with every stored batch's events of this name (undefined removes it). */
export function observeEvents(name: string, observer: EventObserver | undefined): void {
  if (observer) observers.set(name, observer);
  else observers.delete(name);
}

/**
 * Runs the observers of a stored batch, duplicates included (an observer is idempotent, and a retry
 * after a failure between storing and observing must still reach it); awaited, so the caller's answer
 * means both are done.
 */
export async function notifyObservers(events: EventInput[]): Promise<void> {
  if (observers.size === 0) return;
  for (const [name, observer] of observers) {
    const matching = events.filter((e) => e.name === name);
    if (matching.length > 0) await observer(matching);
  }
}
