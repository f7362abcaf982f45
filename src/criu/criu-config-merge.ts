// Merges the operator's CRIU configuration files with ckpt's own options into the one
// file ckpt names in org.criu.config. Pure. CRIU reads that file after the options the
// runtime sends over RPC and lets it override them (criu/cr-service.c: "Evaluate
// additional configuration file (e.g., runc.conf) to overwrite all RPC settings"), so
// whatever is in it is final: ckpt keeps the operator's options except where they would
// undo what ckpt must decide, and says which ones it overrode.
import { describeOption, optionKey, type CriuConfigOption } from "./criu-config.ts";

// An operator's file, with what it is in words ("the bundle's CRIU config").
export interface OperatorCriuConfig {
  label: string;
  path: string;
  options: CriuConfigOption[];
}

// An option ckpt gives CRIU itself, why, and the settings it rules out (tcp-established
// and tcp-close exclude each other).
export interface OwnCriuOption {
  name: string;
  value: string | null;
  why: string;
  excludes?: string[];
}

export type CriuPhase = "dump" | "restore";

export interface CriuConfigOverride {
  option: CriuConfigOption;
  label: string;
  // What replaces it, in words: "ckpt's own setting", "ckpt's `file-locks`".
  by: string;
  why: string;
}

export interface MergedCriuConfig {
  options: CriuConfigOption[];
  // The operator's options ckpt replaced with its own: each is worth a warning.
  overrides: CriuConfigOverride[];
  // The operator's options that belong to the other phase, kept for it.
  setAside: { option: CriuConfigOption; label: string; why: string }[];
}

// What the runtime and ckpt set through the runtime's own arguments: an operator's value
// would take the files or the decision away from ckpt.
const RESERVED: Readonly<Record<string, string>> = {
  "log-file": "ckpt reads CRIU's log where the runtime asks CRIU to write it (dump.log, restore.log)",
  "images-dir": "ckpt chooses where the images go",
  "work-dir": "ckpt chooses CRIU's work directory",
  "leave-running": "ckpt decides whether the container keeps running (checkpoint --leave-running)",
  "leave-stopped": "ckpt decides what becomes of the container after the dump",
  root: "the runtime names the container's root",
  pidfile: "the runtime tracks the restored PID",
  "status-fd": "ckpt and the runtime use the status descriptor",
  "lazy-pages": "ckpt decides on post-copy (migrate --lazy)",
  "page-server": "ckpt decides on post-copy (migrate --lazy)",
  address: "ckpt chooses the page server's address",
  port: "ckpt chooses the page server's port",
  "ps-socket": "ckpt decides on post-copy",
  tree: "the runtime names the container's PID 1",
  "restore-detached": "the runtime restores detached",
  daemon: "the runtime restores detached",
  "restore-sibling": "the runtime decides where the restored tasks live",
  config: "ckpt names the one configuration file",
};

// Options that break the other phase: join-ns makes a dump fail with errno 56 (TESTBED
// fact 4), so it goes in for restores only.
const RESTORE_ONLY: Readonly<Record<string, string>> = {
  "join-ns": "join-ns makes CRIU's dump fail (errno 56): it is given to restores only",
};

// `runtimeSets`: options the runtime sends CRIU itself after a file read first (crun 1.21
// through CRIU_CONFIG_FILE), which the operator's file therefore cannot change.
export function mergeCriuConfig(files: readonly OperatorCriuConfig[], own: readonly OwnCriuOption[], phase: CriuPhase, runtimeSets?: { runtime: string; names: readonly string[] }): MergedCriuConfig {
  const ownByKey = new Map<string, OwnCriuOption>();
  for (const o of own) {
    ownByKey.set(optionKey(o), o);
    for (const key of o.excludes ?? []) if (!ownByKey.has(key)) ownByKey.set(key, o);
  }
  const kept: CriuConfigOption[] = [];
  const overrides: CriuConfigOverride[] = [];
  const setAside: MergedCriuConfig["setAside"] = [];
  for (const file of files) {
    for (const option of file.options) {
      const key = optionKey(option);
      const base = key.split(" ")[0]!;
      const reserved = RESERVED[base];
      if (reserved !== undefined) {
        overrides.push({ option, label: file.label, by: "ckpt's own setting", why: reserved });
        continue;
      }
      if (runtimeSets?.names.includes(base)) {
        overrides.push({ option, label: file.label, by: `${runtimeSets.runtime}'s own setting`, why: `${runtimeSets.runtime} sends CRIU its own ${base} after this file is read` });
        continue;
      }
      if (phase === "dump" && RESTORE_ONLY[base] !== undefined) {
        setAside.push({ option, label: file.label, why: RESTORE_ONLY[base] });
        continue;
      }
      const mine = ownByKey.get(key);
      if (mine !== undefined) {
        // The same setting as ckpt's: it is written once, as ckpt's.
        const same = mine.name === option.name && mine.value === option.value;
        if (!same) overrides.push({ option, label: file.label, by: `ckpt's \`${describeOption(mine)}\``, why: mine.why });
        continue;
      }
      kept.push(option);
    }
  }
  const mine = own.map((o) => ({ name: o.name, value: o.value, origin: null }));
  return { options: [...kept, ...mine], overrides, setAside };
}

// The warning for one override, as commands print it.
export function describeOverride(o: CriuConfigOverride): string {
  const where = o.option.origin === null ? o.label : `${o.label} (${o.option.origin.file}:${o.option.origin.line})`;
  return `${o.by} overrides \`${describeOption(o.option)}\` from ${where}: ${o.why}`;
}
