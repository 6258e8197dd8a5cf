// The entry of the render thread (render.pool.ts): renders a chunk of campaign messages off the sender's
// thread. Each task carries the tracking settings, so the thread signs with what the process is
// configured with now.
import { configureTracking, type TrackingSettings } from './tokens.service';
import { renderChunkHere, type RenderChunk, type RenderOutcome } from './render.pool';

let configuredWith: string | undefined;

/** One outcome per item, in order: the rendered message, or why it could not be rendered. */
export default function renderChunk(task: { chunk: RenderChunk; tracking: TrackingSettings }): RenderOutcome[] {
  const key = JSON.stringify(task.tracking);
  if (configuredWith !== key) {
    configureTracking(task.tracking);
    configuredWith = key;
  }
  return renderChunkHere(task.chunk);
}
