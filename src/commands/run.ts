// `ckpt run [-d] [--name NAME] BUNDLE [-- CMD...]`
import { runContainer } from "../container/run.ts";
import { openStore } from "../container/context.ts";
import type { GlobalOptions } from "../global-options.ts";
import { printJson } from "../output/json.ts";
import { colors } from "../output/color.ts";
import { followLogs } from "./logs.ts";
import { formatRestartPolicy, parseRestartPolicy } from "../restart/policy.ts";
import { networkRequest, type NetworkFlags } from "./network-flags.ts";
import { lockContainer } from "../store/locks.ts";
import { chooseRuntime, runtimeSelection } from "../runtimes/choice.ts";

interface RunOptions extends GlobalOptions, NetworkFlags {
  name?: string;
  detach?: boolean;
  restart: string;
}

export async function runCommand(bundle: string, command: string[], options: RunOptions): Promise<void> {
  const { settings } = options;
  const restart = parseRestartPolicy(options.restart, {
    initialMs: settings.backoffInitial.value,
    maxMs: settings.backoffMax.value,
    resetAfterMs: settings.backoffReset.value,
  });
  const store = openStore(options);
  const runtime = await chooseRuntime(runtimeSelection(settings));
  // The name's lock while the container is created, not while its output is followed; a
  // generated name is this run's alone.
  const lock = options.name === undefined ? undefined : await lockContainer(store.layout, options.name, { timeoutMs: options.lockTimeoutMs });
  const result = await runContainer(store, {
    bundle,
    name: options.name,
    runtime,
    command: command.length > 0 ? command : undefined,
    restart,
    network: networkRequest(options),
  }).finally(() => lock?.release());
  for (const w of result.warnings) process.stderr.write(`ckpt: warning: ${w}\n`);
  if (options.verbose) for (const n of result.notes) process.stderr.write(`ckpt: note: ${n}\n`);
  const { record } = result;
  if (options.json) {
    printJson({ name: record.name, id: record.id, runtime: record.runtime, pid: result.pid, ownTimeNamespace: result.ownTimeNamespace, network: record.network ?? null, criuConfig: result.criuConfig, warnings: result.warnings, restart: { policy: formatRestartPolicy(record.restart), ...record.restart.backoff } });
  } else if (options.detach) {
    process.stdout.write(`${record.id}\n`);
  }
  if (!options.detach && !options.json) {
    const c = colors(options, process.stderr);
    process.stderr.write(c.dim(`ckpt: ${record.name} started (PID ${result.pid}); following its output, Ctrl-C detaches\n`));
    await followLogs(options, record.name, { follow: true, exitWithContainer: true });
  }
}
