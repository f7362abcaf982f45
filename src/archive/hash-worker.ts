// A worker thread that hashes the files matching a pattern in one directory while this
// process's main thread is still writing them (GrowingFileHasher), so an import's
// hashing overlaps its unpacking instead of following it.
import { parentPort, workerData } from "node:worker_threads";
import { GrowingFileHasher } from "./growing-file-hasher.ts";

const { dir, pattern } = workerData as { dir: string; pattern: string };
const hasher = new GrowingFileHasher(dir, new RegExp(pattern));
hasher.start();
parentPort?.once("message", () => {
  hasher.finish().then(
    (digests) => parentPort?.postMessage({ digests }),
    (error: unknown) => parentPort?.postMessage({ error: String(error) }),
  );
});
