// `ckpt ps [-a] [--json]`
import { containerPid, containerStatus, isActive } from "../container/status.ts";
import { openStore, runtimeFor } from "../container/context.ts";
import { damagedIsAlive, inspectDamaged, type DamagedContainer } from "../container/damaged.ts";
import type { GlobalOptions } from "../global-options.ts";
import { printJson } from "../output/json.ts";
import type { NetworkConfig } from "../store/network-config.ts";
import { renderTable } from "../output/table.ts";
import { humanAge, humanDuration, rfc3339Nano } from "../output/time.ts";
import { restartView } from "../restart/policy.ts";
import { isWaiterOf, readRestartState } from "../restart/restart-state.ts";
import { settleLazyPages } from "../restore/lazy-pages-daemon.ts";
import { ownerAlive, readIntent } from "../operations/intent.ts";
import { containerLockHolder } from "../store/locks.ts";

interface PsOptions extends GlobalOptions {
  all?: boolean;
}

export async function psCommand(options: PsOptions): Promise<void> {
  const store = openStore(options);
  const entries = await store.entries();
  const records = entries.flatMap((e) => ("record" in e ? [e.record] : []));
  const damaged = await Promise.all(entries.flatMap((e) => ("damage" in e ? [inspectDamaged(store, e.name, e.damage)] : [])));
  const nowMs = Date.now();
  const rows = await Promise.all(
    records.map(async (record) => {
      // A runtime that cannot answer (its binary gone or replaced) leaves the status unknown:
      // never "exited" for a container that may well run.
      const asked = await runtimeFor(store, record.runtime, record.runtimePath).state(record.id).then((state) => ({ state, unanswered: null }), (error: unknown) => ({ state: null, unanswered: error instanceof Error ? error.message : String(error) }));
      const state = asked.state;
      const createdAtNs = BigInt(record.createdAtNs);
      const restartState = await readRestartState(store.layout, record.name);
      const restart = restartView(record.restart, restartState, restartState?.waiterPid != null && (await isWaiterOf(restartState.waiterPid, record.name)));
      const status = asked.unanswered === null ? containerStatus(record, state) : "unknown";
      // A lazy restore whose memory is still arriving (settled, and cleaned up, once it has).
      const lazyPages = await settleLazyPages(store.layout, record.name);
      // An operation on it: in progress (its ckpt runs), or interrupted (its ckpt was killed).
      const reading = await readIntent(store.layout, record.name).catch(() => ({ kind: "none" }) as const);
      const operation =
        reading.kind === "intent"
          ? { kind: reading.intent.operation, phase: reading.intent.phase, since: new Date(reading.intent.startedAtMs).toISOString(), ownerPid: reading.intent.owner.pid, interrupted: !(await ownerAlive(reading.intent)) }
          : null;
      // Another ckpt command working on it (it holds the container's lock).
      const holder = await containerLockHolder(store.layout, record.name).catch(() => null);
      const busy = holder === null || holder.pid === process.pid ? null : { pid: holder.pid, command: holder.command, since: new Date(holder.sinceMs).toISOString() };
      return {
        name: record.name,
        id: record.id,
        runtime: record.runtime,
        // A container that waits for its restart is "restarting".
        status: operation?.interrupted ? ("interrupted" as const) : !isActive(status) && restart?.nextRetryAtMs != null ? ("restarting" as const) : status,
        operation,
        busy,
        // Why the runtime could not say how the container is (status unknown), else null.
        runtimeProblem: asked.unanswered,
        pid: containerPid(state),
        createdAt: rfc3339Nano(createdAtNs),
        createdAtNs,
        bundle: record.sourceBundle,
        restoredFrom: record.restoredFrom,
        network: record.network ?? null,
        lazyPages,
        restart: restart === null ? null : { ...restart, nextRetryAt: restart.nextRetryAtMs === null ? null : new Date(restart.nextRetryAtMs).toISOString() },
      };
    }),
  );
  const shown = options.all ? rows : rows.filter((r) => isActive(r.status) || r.status === "restarting" || r.status === "interrupted" || r.runtimeProblem !== null);
  // A damaged record hides nothing: -a shows each, plain ps those of which something runs.
  const damagedShown = damaged.filter((d) => options.all || damagedIsAlive(d));
  if (options.json) {
    printJson([...shown, ...damagedShown.map(damagedJson)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
    return;
  }
  const now = BigInt(nowMs) * 1_000_000n;
  const statusText = (r: (typeof rows)[number]) => {
    if (r.runtimeProblem !== null) return `unknown: ${r.runtimeProblem}`;
    if (r.operation?.interrupted) return `interrupted (${r.operation.kind} at ${r.operation.phase}, ${humanAge(BigInt(Date.parse(r.operation.since)) * 1_000_000n, now)}): ckpt recover ${r.name}`;
    if (r.operation !== null) return `${r.status}, ${r.operation.kind} in progress (PID ${r.operation.ownerPid})`;
    if (r.busy !== null) return `${r.status}, busy: ${r.busy.command} (PID ${r.busy.pid})`;
    const retryAt = r.restart?.nextRetryAtMs;
    if (r.status === "restarting" && retryAt != null) return `restarting in ${humanDuration(BigInt(Math.max(0, retryAt - nowMs)) * 1_000_000n)} (exit ${r.restart?.lastExitCode ?? "?"})`;
    if (r.status === "exited" && r.restart?.lastExitCode != null) return `exited (${r.restart.lastExitCode})`;
    if (r.lazyPages !== null && isActive(r.status)) return `${r.status}, memory arriving from ${r.lazyPages.from}`;
    return r.status;
  };
  const table = [
    ["CONTAINER ID", "NAME", "RUNTIME", "STATUS", "RESTARTS", "PID", "NETWORK", "CREATED"],
    ...[
      ...shown.map((r) => ({ name: r.name, cells: [r.id.slice(0, 12), r.name, r.runtime, statusText(r), r.restart === null ? "-" : `${r.restart.restarts} (${r.restart.policy})`, r.pid === null ? "-" : String(r.pid), networkColumn(r.network), humanAge(r.createdAtNs, now)] })),
      ...damagedShown.map((d) => {
        const j = damagedJson(d);
        return { name: d.name, cells: [j.id?.slice(0, 12) ?? "?", d.name, j.runtime ?? "?", damagedIsAlive(d) ? `damaged (${j.runtimeStatus ?? "monitor alive"})` : "damaged", "-", j.pid === null ? "-" : String(j.pid), "?", "?"] };
      }),
    ]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((r) => r.cells),
  ];
  process.stdout.write(`${renderTable(table).join("\n")}\n`);
  for (const d of damagedShown) process.stderr.write(`ckpt: the record of "${d.name}" is damaged: ${d.damage}; remove it with: ckpt rm -f ${d.name}\n`);
}

// A damaged container in ps --json: what could be found without its record.
function damagedJson(d: DamagedContainer) {
  return {
    name: d.name,
    id: d.runtime?.id ?? null,
    runtime: d.runtime?.name ?? null,
    status: "damaged" as const,
    damage: d.damage,
    // The runtime's view of it ("running", "stopped"...), null when the runtime has no container of it.
    runtimeStatus: d.runtime?.status ?? null,
    pid: d.runtime?.pid ?? null,
    monitorPid: d.monitorPid,
    hint: `ckpt rm -f ${d.name}`,
  };
}

// One word or the addresses: "host", "loopback", "192.0.2.50/24", "ns:/run/netns/blue", "-" (the spec's own).
function networkColumn(network: NetworkConfig | null): string {
  if (network === null) return "-";
  if (network.mode === "host") return "host";
  if (network.mode === "ns") return `ns:${network.path}`;
  const addresses = network.interfaces.flatMap((i) => i.addresses);
  return addresses.length === 0 ? "loopback" : addresses.join(",");
}
