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

const watched = new WeakSet<NodeJS.WritableStream>();

// Installed by the commands that stream output as it comes (exec, logs), on the streams
// they write; not for every command: merely creating process.stdout makes the pipe
// non-blocking, which `checkpoint --export -` keeps away from its compressor.
export function endQuietlyOnBrokenPipe(streams: readonly NodeJS.WritableStream[], exit: (code: number) => void = (code) => process.exit(code)): void {
  for (const stream of streams) {
    if (watched.has(stream)) continue;
    watched.add(stream);
    stream.on("error", (error: NodeJS.ErrnoException) => {
      // Writes after the first failure fail too (EPIPE again, or a destroyed stream).
      if (ending) return;
      if (error.code !== "EPIPE") throw error;
      ending = true;
      void Promise.allSettled([...releases].map((release) => release())).then(() => exit(ExitCode.outputClosed));
    });
  }
}
