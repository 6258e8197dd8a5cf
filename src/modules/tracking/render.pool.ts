// Campaign messages are rendered on a thread of their own (piscina), so the sender's thread spends its
// time on SMTP and outcome records: rendering (templates, signed links, the text part) was the largest
// part of what the sender did beside nodemailer. The pool is made on first use and its idle thread does
// not keep the process alive; closeRenderPool ends it. Should the thread fail (it cannot start, it
// crashed), the chunk is rendered on the caller's thread and the failure is logged.
import path from 'node:path';
import { Piscina } from 'piscina';
import { logger } from '../../lib/logger';
import { renderCampaignMessage, type RenderInput, type RenderedMessage } from './rendering.service';
import { readTrackingSettings } from './tokens.service';

/** A chunk's messages: one experiment and campaign, one item per message. */
export interface RenderChunk {
  campaign: RenderInput['campaign'];
  experiment: RenderInput['experiment'];
  items: Omit<RenderInput, 'campaign' | 'experiment'>[];
}

export type RenderOutcome = { message: RenderedMessage } | { error: string };

let pool: Piscina | undefined;

function renderPool(): Piscina {
  // From src/ under tsx the thread needs tsx's loader too; compiled, it runs the .js next to this file.
  const typescript = __filename.endsWith('.ts');
  pool ??= new Piscina({
    filename: path.join(__dirname, `render.worker${typescript ? '.ts' : '.js'}`),
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: 30_000,
    ...(typescript ? { execArgv: [...process.execArgv.filter((arg) => !arg.startsWith('--cpu-prof')), '--require', 'tsx/cjs'] } : {}),
  });
  return pool;
}

/** Renders a chunk's messages on this thread; one outcome per item, in order (the render thread runs this too). */
export function renderChunkHere(chunk: RenderChunk): RenderOutcome[] {
  return chunk.items.map((item) => {
    try {
      return { message: renderCampaignMessage({ campaign: chunk.campaign, experiment: chunk.experiment, ...item }) };
    } catch (error) {
      return { error: (error as Error).message };
    }
  });
}

/** Renders a chunk's messages on the render thread; one outcome per item, in order. */
export async function renderMessages(chunk: RenderChunk): Promise<RenderOutcome[]> {
  if (chunk.items.length === 0) return [];
  try {
    return (await renderPool().run({ chunk, tracking: readTrackingSettings() })) as RenderOutcome[];
  } catch (error) {
    logger.error({ err: error }, 'the render thread failed; rendering on the sender thread');
    return renderChunkHere(chunk);
  }
}

/** Ends the render thread (the service's shutdown). */
export async function closeRenderPool(): Promise<void> {
  const closing = pool;
  pool = undefined;
  await closing?.destroy();
}
