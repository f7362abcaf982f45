// Progress of long operations on stderr: on a terminal, one line rewritten in place; with
// --json, one JSON object a line (NDJSON) that scripts can follow while stdout waits for
// the final document.
import type { ProgressEvent, ProgressListener } from "../archive/progress.ts";

const mib = (n: number) => (n / 1048576).toFixed(0);

export interface ProgressDisplay {
  listener: ProgressListener | undefined;
  done(): void;
}

export function progressDisplay(options: { json?: boolean | undefined }): ProgressDisplay {
  if (options.json === true) {
    return {
      listener: (event) => process.stderr.write(`${JSON.stringify({ event: "progress", ...event, atNs: String(process.hrtime.bigint()) })}\n`),
      done() {},
    };
  }
  if (!process.stderr.isTTY) return { listener: undefined, done() {} };
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

// One event of a multi-container operation (checkpoint --all, restore --all): a line of
// text, or with --json a line of JSON.
export function containerEvent(options: { json?: boolean | undefined }): (e: { name: string; state: string; detail: string }) => void {
  return (e) => process.stderr.write(options.json === true ? `${JSON.stringify({ event: "container", ...e })}\n` : `${e.name}: ${e.state}: ${e.detail}\n`);
}
