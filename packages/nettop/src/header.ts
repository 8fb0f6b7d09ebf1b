// The header above the table: where the numbers come from and what was lost.
import type { Colors } from './color.js';
import { formatBytes, truncate } from './format.js';
import { anyLost } from './losses.js';
import type { SampleDoc } from './sample.js';

/** "accuracy: ±0 B sent, ±0 B received over 3 sockets", or "accuracy: n/a" without ss. */
export function accuracyText(a: SampleDoc['accuracy']): string {
  if (a === null) return 'accuracy: n/a (no ss)';
  if (a.sockets === 0) return 'accuracy: no socket to compare';
  return `accuracy: ±${formatBytes(a.maxSentDiffBytes)} sent, ±${formatBytes(a.maxRecvDiffBytes)} recv (worst of ${a.sockets} TCP)`;
}

/** Two lines, each cut to `width`: the tracer's setup, then its losses, map fill and accuracy. */
export function renderHeader(s: SampleDoc, width: number, c: Colors): string[] {
  const t = s.tracer;
  const l = s.losses;
  const fill = l.mapCapacity > 0 ? (100 * l.mapEntries) / l.mapCapacity : 0;
  const first = `nettop  kernel ${t.kernel}  backend ${t.backend}  transport ${t.transport}  offsets ${t.offsets}  ${s.connections.length} connection${s.connections.length === 1 ? '' : 's'} over ${s.intervalSeconds}s`;
  const lost =
    `lost: close records ${l.closedLost + 4 * l.closedLostSamples}, reader queue ${l.closedQueueDropped}, ` +
    `map full ${l.connStatsFull}/${l.sockStateFull}, failed reads ${l.readFailed}`;
  const second = `${lost}  map ${l.mapEntries}/${l.mapCapacity} (${fill.toFixed(1)}%)  ${accuracyText(s.accuracy)}`;
  const cut = (x: string) => truncate(x, width);
  const lostShown = cut(second);
  // Colour the loss part only, after cutting (escape codes have no width).
  const coloured = lostShown.startsWith(lost) ? (anyLost(l) ? c.red(lost) : c.green(lost)) + lostShown.slice(lost.length) : lostShown;
  return [c.bold(cut(first)), coloured];
}
