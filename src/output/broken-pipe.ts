// A reader that goes away early (`ckpt exec web -- cat big | head`) makes ckpt's next
// write fail with EPIPE. coreutils die by SIGPIPE there; ckpt ends the same way, quietly
// with the shell's code for it (128 + SIGPIPE), once the running command has let go of
// what it holds (an exec'd process, a scratch directory).
import { ExitCode } from "../errors.ts";

type Release = () => Promise<void>;
const releases = new Set<Release>();
let ending = false;

// Runs `release` before ckpt ends because its output was closed; returns the undo.
export function onOutputClosed(release: Release): () => void {
  releases.add(release);
  return () => {
    releases.delete(release);
  };
}

// Whether ckpt is ending because its output was closed: whatever it still relays is lost.
export function outputClosed(): boolean {
  return ending;
}

// Installed once, by the top-level handler, on stdout and stderr.
export function endQuietlyOnBrokenPipe(streams: readonly NodeJS.WritableStream[], exit: (code: number) => void = (code) => process.exit(code)): void {
  for (const stream of streams) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      // Writes after the first failure fail too (EPIPE again, or a destroyed stream).
      if (ending) return;
      if (error.code !== "EPIPE") throw error;
      ending = true;
      void Promise.allSettled([...releases].map((release) => release())).then(() => exit(ExitCode.outputClosed));
    });
  }
}
