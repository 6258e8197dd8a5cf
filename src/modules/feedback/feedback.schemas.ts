import { z } from 'zod';

/** The largest report read (a report with the whole original message stays far below it). */
export const MAX_ARF_BYTES = 1024 * 1024;

/** Media types an ARF report may come as: the whole message, or its multipart body with the type in the header. */
export const ARF_MEDIA_TYPES = ['message/rfc822', 'multipart/report', 'text/plain', 'application/octet-stream'] as const;

// Answers (the API reference, src/lib/openapi.ts).

export const arfResult = z.object({
  recorded: z.boolean().meta({ description: 'true: a complaint was recorded and the customer suppressed; false: the feedback type is not a complaint (not-spam, auth-failure, ...)' }),
  feedbackType: z.string().meta({ description: 'the report\'s Feedback-Type, lowercased' }),
  duplicate: z.boolean().optional().meta({ description: 'true: a complaint of this customer in this experiment was recorded before (counted once)' }),
  customerId: z.string().optional(),
  experiment: z.string().optional(),
  variant: z.string().optional(),
  messageId: z.string().optional().meta({ description: 'the message record the report is about' }),
  foundBy: z.enum(['signed_link', 'message_id']).optional().meta({ description: 'how the reported message was found: a signed link (List-Unsubscribe, or one in the included body), or its Message-ID' }),
  reason: z.string().optional().meta({ description: 'why nothing was recorded' }),
});
