import assert from "node:assert/strict";
import { test } from "node:test";
import { planPrune, type PrunePolicy, type StoreEntry } from "./prune-plan.ts";

const S = 1_000_000_000n;
const base = "/var/lib/ckpt/checkpoints";

function entry(container: string | null, kind: StoreEntry["kind"], atS: number, more: Partial<StoreEntry> = {}): StoreEntry {
  const suffix = kind === "checkpoint" || kind === "unreadable" ? "" : `.${kind}`;
  const path = kind === "staging" ? `/dev/shm/ckpt-${more.purpose ?? "export"}-${atS}` : `${base}/${container}/T${String(atS).padStart(4, "0")}${suffix}`;
  return { path, kind, container, atNs: BigInt(atS) * S, completeDump: false, inUse: null, protectedBy: null, ...more };
}

const prune: PrunePolicy = { keep: null, olderThanNs: null, partial: false, failed: "all", leftovers: true };
const retain = (keep: number): PrunePolicy => ({ keep, olderThanNs: null, partial: false, failed: "superseded", leftovers: false });

// "path-tail action" for each decision, in path order.
function outcome(entries: StoreEntry[], policy: PrunePolicy): string[] {
  return planPrune(entries, policy).map((d) => `${d.entry.path.slice(d.entry.path.lastIndexOf("/") + 1)} ${d.action}`);
}

test("--keep N keeps the N newest checkpoints of each container, whatever their order on disk", () => {
  const entries = [entry("web", "checkpoint", 3), entry("web", "checkpoint", 1), entry("web", "checkpoint", 4), entry("web", "checkpoint", 2), entry("db", "checkpoint", 1)];
  assert.deepEqual(outcome(entries, { ...prune, keep: 2 }), ["T0001 keep", "T0001 remove", "T0002 remove", "T0003 keep", "T0004 keep"], "db's one, then web's four, in path order");
  const decisions = planPrune(entries, { ...prune, keep: 2 });
  assert.deepEqual(decisions.filter((d) => d.action === "remove").map((d) => d.entry.path), [`${base}/web/T0001`, `${base}/web/T0002`]);
  assert.match(decisions.find((d) => d.entry.path === `${base}/web/T0001`)!.reason, /older than the 2 newest of web/);
  assert.match(decisions.find((d) => d.entry.path === `${base}/db/T0001`)!.reason, /one of the 2 newest of db/);
});

test("without --keep or --older-than every checkpoint stays; --older-than alone removes what is older", () => {
  const entries = [entry("web", "checkpoint", 10), entry("web", "checkpoint", 20), entry("web", "checkpoint", 30)];
  assert.ok(planPrune(entries, prune).every((d) => d.action === "keep" && /every checkpoint is kept/.test(d.reason)));
  const older = planPrune(entries, { ...prune, olderThanNs: 25n * S });
  assert.deepEqual(older.map((d) => [d.entry.atNs / S, d.action]), [[10n, "remove"], [20n, "remove"], [30n, "keep"]]);
  assert.match(older[2]!.reason, /after the --older-than cutoff/);
  assert.match(older[0]!.reason, /before the --older-than cutoff/);
});

test("--keep with --older-than: a checkpoint goes only when beyond the N newest and older than the cutoff", () => {
  const entries = [1, 2, 3, 4, 5].map((s) => entry("web", "checkpoint", s * 10));
  const d = planPrune(entries, { ...prune, keep: 2, olderThanNs: 25n * S });
  assert.deepEqual(d.map((x) => [x.entry.atNs / S, x.action]), [[10n, "remove"], [20n, "remove"], [30n, "keep"], [40n, "keep"], [50n, "keep"]]);
});

test("what the journal names, what a stopped container's state is and what a live process holds is never removed", () => {
  const entries = [
    entry("web", "checkpoint", 1, { protectedBy: "named by the recovery journal" }),
    entry("web", "checkpoint", 2, { protectedBy: "the state of the checkpointed container web" }),
    entry("web", "checkpoint", 3),
    entry("web", "checkpoint", 4),
    entry("web", "failed", 5, { inUse: "held by PID 77 (criu)" }),
    entry("web", "partial", 6, { inUse: "changed 3 s ago: it may belong to a command still running" }),
  ];
  const d = planPrune(entries, { ...prune, keep: 1, partial: true, olderThanNs: 100n * S });
  assert.deepEqual(d.map((x) => x.action), ["keep", "keep", "remove", "keep", "keep", "keep"]);
  assert.equal(d[0]!.reason, "named by the recovery journal");
  assert.match(d[4]!.reason, /^in use: held by PID 77/);
  assert.match(d[5]!.reason, /^in use: changed 3 s ago/);
});

test("failed dumps: prune removes each; the retention after a checkpoint only those older than every checkpoint it keeps", () => {
  const entries = [entry("web", "failed", 1), entry("web", "checkpoint", 2), entry("web", "failed", 3), entry("web", "checkpoint", 4), entry("web", "failed", 5), entry("db", "failed", 1)];
  assert.deepEqual(outcome(entries, prune).filter((o) => /\.failed/.test(o)), ["T0001.failed remove", "T0001.failed remove", "T0003.failed remove", "T0005.failed remove"]);
  const after = planPrune(entries, retain(1));
  assert.deepEqual(after.map((x) => `${x.entry.container}/${x.entry.atNs / S}:${x.action}`), ["db/1:keep", "web/1:remove", "web/2:remove", "web/3:remove", "web/4:keep", "web/5:keep"]);
  assert.match(after[0]!.reason, /newer than the oldest checkpoint kept/, "no checkpoint of db: its failure stays");
  assert.match(after[3]!.reason, /older than every checkpoint kept/);
});

test("partial dumps are reported and removed only with --partial; a complete one newer than every checkpoint is kept even then", () => {
  const entries = [
    entry("web", "partial", 1),
    entry("web", "partial", 2, { completeDump: true }),
    entry("web", "checkpoint", 3),
    entry("web", "partial", 4, { completeDump: true }),
    entry("web", "partial", 5),
  ];
  const reported = planPrune(entries, prune);
  assert.deepEqual(reported.map((x) => x.action), ["keep", "keep", "keep", "keep", "keep"]);
  assert.match(reported[0]!.reason, /incomplete dump .*--partial removes it/);
  assert.match(reported[1]!.reason, /complete dump, older than the checkpoint T0003; --partial removes it/);
  assert.match(reported[3]!.reason, /complete dump newer than every checkpoint of web: it may be the container's latest state .*checkpoints rm web@T0004\.partial/);
  const removed = planPrune(entries, { ...prune, partial: true });
  assert.deepEqual(removed.map((x) => x.action), ["remove", "remove", "keep", "keep", "remove"]);
});

test("leftovers (partial, work, staging) are left alone by the retention after a checkpoint", () => {
  const entries = [entry("web", "checkpoint", 1), entry("web", "checkpoint", 2), entry("web", "partial", 3), entry("web", "work", 4), entry(null, "staging", 5, { purpose: "import" })];
  const d = planPrune(entries, retain(1));
  assert.deepEqual(d.map((x) => x.action), ["keep", "remove", "keep", "keep", "keep"]);
  assert.ok(d.filter((x) => x.entry.kind !== "checkpoint").every((x) => /pruned by ckpt checkpoints prune/.test(x.reason)));
});

test("work directories and staging: imports and exports without a complete dump go; an export holding a dump needs --partial", () => {
  const entries = [
    entry("web", "work", 1),
    entry(null, "staging", 2, { purpose: "import" }),
    entry(null, "staging", 3, { purpose: "export" }),
    entry(null, "staging", 4, { purpose: "export", completeDump: true }),
    entry(null, "staging", 6, { purpose: "export", completeDump: true, protectedBy: "the state of the checkpointed container web" }),
  ];
  const byPath = (d: ReturnType<typeof planPrune>) => Object.fromEntries(d.map((x) => [x.entry.path.slice(x.entry.path.lastIndexOf("/") + 1), `${x.action}: ${x.reason}`]));
  const d = byPath(planPrune(entries, prune));
  assert.match(d["T0001.work"]!, /^remove: a lazy dump's CRIU work files/);
  assert.match(d["ckpt-import-2"]!, /^remove: an import's unpacked archive/);
  assert.match(d["ckpt-export-3"]!, /^remove: an export's staging without a complete dump/);
  assert.match(d["ckpt-export-4"]!, /^keep: an export's staging holding a complete dump; --partial removes it/);
  assert.match(d["ckpt-export-6"]!, /^keep: the state of the checkpointed container web/);
  const withPartial = byPath(planPrune(entries, { ...prune, partial: true }));
  assert.match(withPartial["ckpt-export-4"]!, /^remove/);
  assert.match(withPartial["ckpt-export-6"]!, /^keep/);
});

test("a checkpoint without a readable manifest is never removed automatically", () => {
  const d = planPrune([entry("web", "unreadable", 1), entry("web", "checkpoint", 2)], { ...prune, keep: 1, olderThanNs: 10n * S, partial: true });
  assert.equal(d[0]!.action, "keep");
  assert.match(d[0]!.reason, /no readable manifest.*checkpoints rm web@STAMP/);
});

test("a stamp reads back as the instant it names", async () => {
  const { checkpointStamp, stampNs } = await import("./checkpoint-store.ts");
  const ns = 1_795_329_878_949_067_023n;
  assert.equal(stampNs(checkpointStamp(ns)), ns);
  assert.equal(stampNs("20261122T080438.949067023Z.partial"), null);
  assert.equal(stampNs("20261399T080438.949067023Z"), null, "no 99th of a 13th month");
  assert.equal(stampNs("yesterday"), null);
});
