// The recovery journal `checkpoint --all` writes before a reboot and `restore --all`
// reads after it: one entry per container with what happened to it. Rewritten whole and
// atomically after every change, so a crash half-way leaves the last complete state.
import { readFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { z } from "zod";
import { CkptError, ExitCode } from "../errors.ts";
import { writeFileAtomic } from "../store/atomic-write.ts";
import { isContainerName } from "../store/names.ts";

export const JOURNAL_FORMAT_VERSION = 1;

export const JournalEntrySchema = z.object({
  // A container name: never a path (the entry names a directory of the store).
  name: z.string().refine(isContainerName, { message: "not a container name" }),
  // Before the reboot: pending (not handled yet), checkpointed (in the store), stopped
  // (could not be checkpointed, stopped gracefully; signal says how), left (could not be
  // checkpointed, and --no-stop left it running), lost (the checkpoint failed and the
  // container is not running any more), busy (another ckpt command held it, named in the
  // reason: never signalled). After it: restored, or failed (retried next time).
  state: z.enum(["pending", "checkpointed", "stopped", "left", "lost", "busy", "restored", "failed"]),
  checkpoint: z.string().nullable(),
  signal: z.enum(["SIGTERM", "SIGKILL"]).nullable(),
  reason: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
  updatedAtNs: z.string().regex(/^\d+$/),
});
export type JournalEntry = z.infer<typeof JournalEntrySchema>;

export const JournalSchema = z.object({
  formatVersion: z.literal(JOURNAL_FORMAT_VERSION),
  bootId: z.string(),
  startedAtNs: z.string().regex(/^\d+$/),
  entries: z.array(JournalEntrySchema),
});
export type Journal = z.infer<typeof JournalSchema>;

export function newJournal(names: string[], bootId: string, nowNs: bigint): Journal {
  const at = String(nowNs);
  return { formatVersion: JOURNAL_FORMAT_VERSION, bootId, startedAtNs: at, entries: [...names].sort().map((name) => ({ name, state: "pending", checkpoint: null, signal: null, reason: null, attempts: 0, updatedAtNs: at })) };
}

// Pure: the journal with one entry changed.
export function recordOutcome(journal: Journal, name: string, change: Partial<Omit<JournalEntry, "name">>, nowNs: bigint): Journal {
  if (!journal.entries.some((e) => e.name === name)) throw new CkptError(ExitCode.internal, `the journal has no entry for ${name}`);
  return { ...journal, entries: journal.entries.map((e) => (e.name === name ? { ...e, ...change, updatedAtNs: String(nowNs) } : e)) };
}

export interface RestorePlan {
  restore: JournalEntry[];
  // Nothing to bring back: stopped or left before the reboot, or already restored.
  report: JournalEntry[];
}

// Pure: after a reboot (or a crash of `checkpoint --all`), what `restore --all` does with
// each entry. A container still "pending" was never checkpointed: if the checkpoint
// crashed mid-dump it may be frozen or gone, and it is reported, never guessed at.
export function planRestoreAll(journal: Journal): RestorePlan {
  const restore = journal.entries.filter((e) => (e.state === "checkpointed" || e.state === "failed") && e.checkpoint !== null);
  const report = journal.entries.filter((e) => !restore.includes(e));
  return { restore, report };
}

export async function writeJournal(path: string, journal: Journal): Promise<void> {
  JournalSchema.parse(journal);
  await writeFileAtomic(path, `${JSON.stringify(journal, null, 2)}\n`);
}

// Pure: what is wrong with the checkpoints the journal names, each of which must be one of
// this store's checkpoints of that entry's container (`checkpointsDirOf(name)/STAMP`, or
// STAMP.partial for a dump an interrupted checkpoint --all left): a journal must never
// lead a restore outside the store.
export function journalProblems(journal: Journal, checkpointsDirOf: (name: string) => string): string[] {
  return journal.entries.flatMap((e, i) => {
    if (e.checkpoint === null) return [];
    const inside = dirname(resolve(e.checkpoint)) === resolve(checkpointsDirOf(e.name)) && JOURNAL_CHECKPOINT.test(basename(e.checkpoint));
    return inside ? [] : [`entries.${i}.checkpoint: ${JSON.stringify(e.checkpoint)} is not a checkpoint of "${e.name}" in this store`];
  });
}

const JOURNAL_CHECKPOINT = /^\d{8}T\d{6}\.\d{9}Z(\.partial)?$/;

// Reads and checks the journal; with `checkpointsDirOf`, also that every checkpoint it names
// is in the store. A damaged journal is exit 8, naming the file and what is wrong.
export async function readJournal(path: string, checkpointsDirOf?: (name: string) => string): Promise<Journal> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw damagedJournal(path, `it cannot be read: ${(error as Error).message}`);
    throw new CkptError(ExitCode.notFound, `no recovery journal at ${path}`, { hint: "`ckpt checkpoint --all` writes it before a reboot" });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw damagedJournal(path, `it is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = JournalSchema.safeParse(json);
  if (!parsed.success) throw damagedJournal(path, `${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
  const problems = checkpointsDirOf === undefined ? [] : journalProblems(parsed.data, checkpointsDirOf);
  if (problems.length > 0) throw damagedJournal(path, problems[0]!, problems);
  return parsed.data;
}

function damagedJournal(path: string, what: string, evidence: string[] = []): CkptError {
  return new CkptError(ExitCode.badCheckpoint, `the recovery journal ${path} is damaged: ${what}`, {
    evidence,
    hint: `ckpt restores nothing from it; see what it holds (the checkpoints are in the store: ckpt checkpoints), restore containers by name (ckpt restore NAME), then move it away (mv ${path} ${path}.damaged)`,
  });
}

// A journal on disk that many concurrent workers update: each change is applied to the
// latest state and the rewrites are serialised, so every rewrite sees the one before it.
export class JournalFile {
  readonly path: string;
  private state: Journal;
  private writing: Promise<void> = Promise.resolve();

  constructor(path: string, journal: Journal) {
    this.path = path;
    this.state = journal;
  }

  get journal(): Journal {
    return this.state;
  }

  record(name: string, change: Partial<Omit<JournalEntry, "name">>): Promise<void> {
    this.state = recordOutcome(this.state, name, change, BigInt(Date.now()) * 1_000_000n);
    const snapshot = this.state;
    this.writing = this.writing.then(() => writeJournal(this.path, snapshot));
    return this.writing;
  }

  // Waits for every rewrite so far.
  settled(): Promise<void> {
    return this.writing;
  }
}
