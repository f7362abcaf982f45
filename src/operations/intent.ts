// Intent records: before an operation changes anything on a container, it writes what it
// is about to do (ROOT/containers/NAME/operation.json, atomically): the operation, its
// phase, the ckpt process that owns it and the paths it owns. Each phase updates it;
// success (or a failure ckpt handled) removes it. A record whose owner is gone is an
// interrupted operation: recovery (recover.ts) finishes or undoes it by its phase.
import { readFile, rm, writeFile } from "node:fs/promises";
import { z } from "zod";
import { CkptError, ExitCode } from "../errors.ts";
import { isSameProcess, readProcStat } from "../proc/process.ts";
import { writeFileAtomic } from "../store/atomic-write.ts";
import type { StoreLayout } from "../store/layout.ts";

export const OperationKinds = ["checkpoint", "export", "restore", "import", "migrate"] as const;
export type OperationKind = (typeof OperationKinds)[number];

// The phases, in order, of the operations that change a container.
//   prepared   nothing changed yet beyond the intent and an empty partial directory
//   dumping    the runtime and CRIU are dumping (the container may be frozen)
//   dumped     CRIU finished: the images are complete; ckpt records the checkpoint
//   archiving  an export writes its archive to the destination's temporary file
//   restoring  the runtime and CRIU are restoring (the container may exist, half made)
//   restored   the container runs; ckpt finishes its bookkeeping
export const Phases = ["prepared", "dumping", "dumped", "archiving", "restoring", "restored"] as const;
export type Phase = (typeof Phases)[number];

export const IntentSchema = z.object({
  formatVersion: z.literal(1),
  operation: z.enum(OperationKinds),
  container: z.string(),
  phase: z.enum(Phases),
  // The ckpt process that owns it, with its start time (a reused PID is not the owner).
  owner: z.object({ pid: z.number().int().positive(), startTimeTicks: z.string(), command: z.string() }),
  startedAtMs: z.number(),
  phaseAtMs: z.number(),
  // What it owns: the checkpoint being written (STAMP.partial) and its final name, CRIU's
  // work directory, a staging directory, the destination's temporary file.
  paths: z
    .object({
      partialDir: z.string(),
      finalDir: z.string(),
      workDir: z.string(),
      stagingDir: z.string(),
      destinationTemp: z.string(),
      destination: z.string(),
      checkpoint: z.string(),
    })
    .partial(),
  // A checkpoint that leaves the container running.
  leaveRunning: z.boolean().optional(),
  // What the checkpoint's manifest needs that only the moment before the dump knows.
  manifestDraft: z.record(z.string(), z.unknown()).optional(),
});
export type Intent = z.infer<typeof IntentSchema>;

export function intentPath(layout: StoreLayout, name: string): string {
  return `${layout.containerDir(name)}/operation.json`;
}

// An operation in progress, owned by this process: advance() records each phase,
// done() removes the record.
export interface IntentHandle {
  readonly intent: Intent;
  advance(phase: Phase, extra?: Partial<Pick<Intent, "paths" | "manifestDraft">>): Promise<void>;
  done(): Promise<void>;
}

export async function beginIntent(layout: StoreLayout, name: string, operation: OperationKind, fields: Partial<Pick<Intent, "paths" | "leaveRunning" | "manifestDraft">> = {}): Promise<IntentHandle> {
  // An operation inside another of this process on the same container (an export that
  // restores the container it could not archive) belongs to the outer one's record.
  const outer = await readIntent(layout, name).catch(() => ({ kind: "none" }) as const);
  if (outer.kind === "intent" && outer.intent.owner.pid === process.pid) return { intent: outer.intent, advance: async () => {}, done: async () => {} };
  const now = Date.now();
  const self = await readProcStat(process.pid);
  let intent: Intent = {
    formatVersion: 1,
    operation,
    container: name,
    phase: "prepared",
    owner: { pid: process.pid, startTimeTicks: String(self.startTimeTicks), command: ownCommand() },
    startedAtMs: now,
    phaseAtMs: now,
    paths: fields.paths ?? {},
    ...(fields.leaveRunning === undefined ? {} : { leaveRunning: fields.leaveRunning }),
    ...(fields.manifestDraft === undefined ? {} : { manifestDraft: fields.manifestDraft }),
  };
  const path = intentPath(layout, name);
  await writeFileAtomic(path, `${JSON.stringify(intent, null, 2)}\n`);
  return {
    get intent() {
      return intent;
    },
    async advance(phase, extra = {}) {
      await faultPoint(`${operation}:${phase}`);
      intent = { ...intent, phase, phaseAtMs: Date.now(), paths: { ...intent.paths, ...(extra.paths ?? {}) }, ...(extra.manifestDraft === undefined ? {} : { manifestDraft: extra.manifestDraft }) };
      await writeFileAtomic(path, `${JSON.stringify(intent, null, 2)}\n`);
    },
    async done() {
      await rm(path, { force: true });
    },
  };
}

export type IntentReading = { kind: "none" } | { kind: "intent"; intent: Intent } | { kind: "damaged"; reason: string };

export async function readIntent(layout: StoreLayout, name: string): Promise<IntentReading> {
  const text = await readFile(intentPath(layout, name), "utf8").catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? null : Promise.reject(e)));
  if (text === null) return { kind: "none" };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { kind: "damaged", reason: `not JSON: ${(error as Error).message}` };
  }
  const parsed = IntentSchema.safeParse(json);
  if (!parsed.success) return { kind: "damaged", reason: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") };
  return { kind: "intent", intent: parsed.data };
}

// Whether the process that wrote the intent still runs (the same process: PID and start time).
export async function ownerAlive(intent: Intent): Promise<boolean> {
  return isSameProcess(intent.owner.pid, intent.owner.startTimeTicks);
}

export async function removeIntent(layout: StoreLayout, name: string): Promise<void> {
  await rm(intentPath(layout, name), { force: true });
}

// Refuses to start an operation on a container another live ckpt is operating on.
export async function refuseBusy(layout: StoreLayout, name: string): Promise<void> {
  const reading = await readIntent(layout, name);
  if (reading.kind !== "intent" || !(await ownerAlive(reading.intent))) return;
  const i = reading.intent;
  throw new CkptError(ExitCode.conflict, `container "${name}" is busy: ${i.owner.command} (PID ${i.owner.pid}) is at its ${i.phase} phase since ${((Date.now() - i.phaseAtMs) / 1000).toFixed(1)} s`, {
    hint: "wait for it to finish, then try again",
  });
}

function ownCommand(): string {
  return ["ckpt", ...process.argv.slice(2)].join(" ").slice(0, 300);
}

// Crash-safety tests stop ckpt at a named phase (CKPT_FAULT_PAUSE=operation:phase): it
// writes CKPT_FAULT_READY and waits there to be killed. Never set in production.
export async function faultPoint(point: string): Promise<void> {
  if (process.env["CKPT_FAULT_PAUSE"] !== point) return;
  const ready = process.env["CKPT_FAULT_READY"];
  if (ready !== undefined) await writeFile(ready, `${process.pid}\n`);
  await new Promise(() => setInterval(() => {}, 60_000));
}
