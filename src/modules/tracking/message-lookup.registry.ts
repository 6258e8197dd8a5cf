// The campaigns module owns message records; tracking only needs a few facts about a message (when it
// was sent, the recipient's locale), so campaigns registers how to find them instead of being imported.

export interface MessageFacts {
  campaign: string;
  customerId: string;
  sentAt?: Date;
  locale?: string;
}

export type MessageLookup = (messageId: string) => Promise<MessageFacts | null>;

let lookup: MessageLookup | undefined;

/** Sets the lookup (undefined removes it); returns the one it replaces, so a caller can put it back. */
export function registerMessageLookup(fn: MessageLookup | undefined): MessageLookup | undefined {
  const previous = lookup;
  lookup = fn;
  return previous;
}

/** The message's facts, or null when unknown (no lookup registered, not found, or the lookup failed). */
export async function findMessage(messageId: string): Promise<MessageFacts | null> {
  if (!lookup) return null;
  try {
    return await lookup(messageId);
  } catch {
    // Tracking must answer even when the message store is unavailable: timing is then simply unknown.
    return null;
  }
}
