// Lets runc before 1.2.7 exec into a restored container's time namespace.
//
// Such a runc starts exec'd processes in its own time namespace, so ckpt runs it under
// `nsenter --time=/proc/PID1/ns/time`. runc then refuses with "cannot exec in a stopped
// container": it checks that PID 1 is still the process it started by comparing the
// start time in /proc/PID/stat with the one in its state.json, and the kernel shows that
// start time shifted by the reader's boottime offset. So the exec gets a copy of the
// state directory whose recorded start time is the one seen from inside the namespace.
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { parseProcStat } from "../proc/process.ts";
import { writeFileAtomic } from "../store/atomic-write.ts";
import type { ExecInTimeNamespaceRequest } from "./runtime.ts";

export async function prepareRuncExecInTimeNamespace(request: ExecInTimeNamespaceRequest): Promise<string> {
  const state = JSON.parse(await readFile(join(request.stateRoot, request.id, "state.json"), "utf8")) as Record<string, unknown>;
  const seen = await execa("nsenter", [`--time=/proc/${request.pid1}/ns/time`, "--", "cat", `/proc/${request.pid1}/stat`]);
  state["init_process_start"] = Number(parseProcStat(String(seen.stdout)).startTimeTicks);
  const dir = join(request.scratchDir, request.id);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(dir, "state.json"), JSON.stringify(state));
  return request.scratchDir;
}
