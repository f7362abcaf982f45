// Renders transfer progress on a terminal: one line on stderr, rewritten in place.
import type { ProgressEvent, ProgressListener } from "../archive/progress.ts";

const mib = (n: number) => (n / 1048576).toFixed(0);

export function terminalProgress(enabled: boolean): { listener: ProgressListener | undefined; done(): void } {
  if (!enabled || !process.stderr.isTTY) return { listener: undefined, done() {} };
  let shown = false;
  return {
    listener(event: ProgressEvent) {
      const total = event.totalBytes === null ? "" : ` of ${mib(event.totalBytes)} MiB`;
      process.stderr.write(`\r\x1b[2K${event.phase}: ${mib(event.bytes)} MiB${total}`);
      shown = true;
    },
    done() {
      if (shown) process.stderr.write("\r\x1b[2K");
    },
  };
}
