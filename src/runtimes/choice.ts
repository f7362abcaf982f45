// Which runtime binary a command uses. One host may keep several of a kind (runc 1.1.5
// from Debian beside a runc 1.3 of its own): the operator names them in the `runtimes`
// setting and picks one with --runtime NAME, or gives a binary with --runtime-path.
// A binary's kind (runc or crun) is read from its `--version`, never from its name.
import type { Settings } from "../config/resolve.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { probeCommand } from "../host/probe-command.ts";
import { runtimeKindOf, type ConfiguredRuntime } from "./index.ts";
import { runtimeNames, type RuntimeName } from "./runtime.ts";

// What a command asks for: a kind, and the binary (undefined: the kind's, on PATH).
export interface RuntimeChoice {
  name: RuntimeName;
  path: string | undefined;
}

// The runtime settings as a command has them (config/settings.ts).
export interface RuntimeSelection {
  // runc, crun or a key of `runtimes`.
  runtime: string;
  // Whether --runtime (or CKPT_RUNTIME, or the file) named it, rather than the default.
  runtimeGiven: boolean;
  // --runtime-path; "" when not given.
  runtimePath: string;
  runtimes: Readonly<Record<string, string>>;
}

// Pure: the binary a selection names, and the kind it must turn out to be (null: any).
export interface PlannedChoice {
  path: string | undefined;
  mustBe: RuntimeName | null;
  // How the operator named it, for messages.
  asked: string;
}

export function isRuntimeKind(name: string): name is RuntimeName {
  return (runtimeNames as readonly string[]).includes(name);
}

export function planRuntimeChoice(s: RuntimeSelection): PlannedChoice {
  if (s.runtimePath !== "") {
    return { path: s.runtimePath, mustBe: s.runtimeGiven && isRuntimeKind(s.runtime) ? s.runtime : null, asked: `--runtime-path ${s.runtimePath}` };
  }
  const configured = Object.hasOwn(s.runtimes, s.runtime) ? s.runtimes[s.runtime] : undefined;
  if (configured !== undefined) return { path: configured, mustBe: isRuntimeKind(s.runtime) ? s.runtime : null, asked: `runtime ${s.runtime} (${configured})` };
  if (isRuntimeKind(s.runtime)) return { path: undefined, mustBe: s.runtime, asked: s.runtime };
  const known = [...new Set([...runtimeNames, ...Object.keys(s.runtimes)])];
  throw new CkptError(ExitCode.usage, `unknown runtime "${s.runtime}"`, {
    hint: `use one of ${known.join(", ")}, name its binary in the runtimes setting of the config file ({"runtimes": {"${s.runtime}": "/path/to/runc"}}), or give the binary with --runtime-path`,
  });
}

// The kind of the binary at `path`, from its `--version`; a usage error when it is not a
// runtime ckpt knows, or not the kind the operator named.
export async function probeRuntimeKind(path: string, mustBe: RuntimeName | null, asked: string): Promise<RuntimeName> {
  const r = await probeCommand(path, ["--version"]);
  if (!r.started) throw new CkptError(ExitCode.usage, `${asked}: ${path} cannot be run`, { hint: "give the absolute path of an executable runc or crun" });
  if (r.timedOut) throw new CkptError(ExitCode.usage, `${asked}: ${path} did not answer --version in time`, { hint: "give the path of a runc or crun binary" });
  const kind = runtimeKindOf(r.stdout);
  if (kind === null) {
    throw new CkptError(ExitCode.usage, `${asked}: ${path} is not runc or crun (its --version says "${r.stdout.split("\n")[0] ?? ""}")`, { hint: "give the path of a runc or crun binary" });
  }
  if (mustBe !== null && kind !== mustBe) {
    throw new CkptError(ExitCode.usage, `${asked}: ${path} is ${kind}, not ${mustBe}`, { hint: `say --runtime ${kind}, or leave --runtime out: the binary's kind is read from its --version` });
  }
  return kind;
}

// The runtime a selection names, its kind checked against the binary.
export async function chooseRuntime(s: RuntimeSelection): Promise<RuntimeChoice> {
  const planned = planRuntimeChoice(s);
  if (planned.path === undefined) return { name: planned.mustBe!, path: undefined };
  return { name: await probeRuntimeKind(planned.path, planned.mustBe, planned.asked), path: planned.path };
}

// Every runtime binary the settings name, by name: the kinds on PATH unless configured
// otherwise, every entry of `runtimes`, and --runtime-path. For `ckpt doctor`.
export function configuredRuntimes(s: RuntimeSelection): ConfiguredRuntime[] {
  const out = new Map<string, string | undefined>();
  for (const kind of runtimeNames) out.set(kind, undefined);
  for (const [name, path] of Object.entries(s.runtimes)) out.set(name, path);
  if (s.runtimePath !== "") out.set(s.runtimeGiven && !isRuntimeKind(s.runtime) ? s.runtime : "--runtime-path", s.runtimePath);
  return [...out].map(([name, path]) => ({ name, path }));
}

// The runtime settings of a run (config/settings.ts).
export function runtimeSelection(settings: Pick<Settings, "runtime" | "runtimePath" | "runtimes">): RuntimeSelection {
  return { runtime: settings.runtime.value, runtimeGiven: settings.runtime.source !== "default", runtimePath: settings.runtimePath.value, runtimes: settings.runtimes.value };
}

// Whether the operator chose a runtime (by name or binary) rather than leaving it to the
// default: a restore otherwise uses the binary the container was created with.
export function runtimeChosen(s: RuntimeSelection): boolean {
  return s.runtimeGiven || s.runtimePath !== "";
}

// The binary the settings give a kind when no runtime was chosen: runtimes' entry of that
// name, else the kind on PATH.
export function configuredPathOf(kind: RuntimeName, runtimes: Readonly<Record<string, string>>): string | undefined {
  return Object.hasOwn(runtimes, kind) ? runtimes[kind] : undefined;
}
