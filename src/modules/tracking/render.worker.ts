// The entry of the render thread (render.pool.ts): renders a chunk of campaign messages off the sender's
// thread with the same renderCampaignMessage. Each task carries the tracking settings, so the thread signs
// with what the process is configured with now.
import { configureTracking, type TrackingSettings } from './tokens.service';
import { renderCampaignMessage, type RenderedMessage } from './rendering.service';
import type { RenderChunk } from './render.pool';

let configuredWith: string | undefined;

/** One outcome per item, in order: the rendered message, or why it could not be rendered. */
export default function renderChunk(task: { chunk: RenderChunk; tracking: TrackingSettings }): ({ message: RenderedMessage } | { error: string })[] {
  const key = JSON.stringify(task.tracking);
  if (configuredWith !== key) {
    configureTracking(task.tracking);
    configuredWith = key;
  }
  const { campaign, experiment, items } = task.chunk;
  return items.map((item) => {
    try {
      return { message: renderCampaignMessage({ campaign, experiment, ...item }) };
    } catch (error) {
      return { error: (error as Error).message };
    }
  });
}
