// Decides which of CRIU's dump options a restore gives CRIU again. Pure: it takes what the
// checkpoint was made with (its manifest, and what its images hold) and what the operator
// asked for on the command line, and returns the options, where each came from, and
// what the operator should know; or a refusal.
//
// A checkpoint made with an option needs it again: without --file-locks CRIU drops the
// locks its tasks held (two holders of one lock then run at once); without
// --tcp-established it cannot restore the connections; a --tcp-close dump can only be
// restored with --tcp-close. The checkpoint's options apply unless a flag says otherwise,
// and a flag that would lose what the checkpoint holds is refused.
import { criuOptionName, dumpOptionNames, RUNTIME_DUMP_OPTION_FLAGS, type DumpOptionName, type DumpOptions } from "../criu/dump-options.ts";

// What the checkpoint was made with, and how ckpt knows it (for messages).
export interface RecordedDumpOptions {
  options: DumpOptions;
  evidence: Partial<Record<DumpOptionName, string>>;
}

// What the restore command was given: true for --X, false for --no-X, absent for neither.
export type RequestedRestoreOptions = Partial<Record<DumpOptionName, boolean>>;

export interface AppliedRestoreOption {
  option: DumpOptionName;
  name: string;
  from: "checkpoint" | "flag";
  detail: string;
}

export type RestoreOptionsPlan =
  | { kind: "ok"; options: DumpOptions; applied: AppliedRestoreOption[]; warnings: string[] }
  | { kind: "refused"; reason: string; hint: string };

// What the manifest says, completed by what the images hold (a checkpoint another tool
// made, or one whose manifest predates an option, still says what it needs).
export function recordedDumpOptions(manifest: Partial<DumpOptions>, images: { fileLocks: number; establishedTcp: number; tcpClose: boolean }): RecordedDumpOptions {
  const evidence: RecordedDumpOptions["evidence"] = {};
  const options = { tcpEstablished: false, fileLocks: false, tcpClose: false };
  for (const name of dumpOptionNames) {
    if (manifest[name] === true) {
      options[name] = true;
      evidence[name] = `it was made with --${criuOptionName[name]}`;
    }
  }
  if (images.fileLocks > 0) {
    options.fileLocks = true;
    evidence.fileLocks = `its images hold ${images.fileLocks} file lock${images.fileLocks === 1 ? "" : "s"}`;
  }
  if (images.establishedTcp > 0) {
    options.tcpEstablished = true;
    evidence.tcpEstablished = `its images hold ${images.establishedTcp} established TCP connection${images.establishedTcp === 1 ? "" : "s"}`;
  }
  if (images.tcpClose) {
    options.tcpClose = true;
    evidence.tcpClose = "CRIU dumped it with --tcp-close (its inventory says so)";
  }
  return { options, evidence };
}

export function planRestoreOptions(recorded: RecordedDumpOptions, requested: RequestedRestoreOptions): RestoreOptionsPlan {
  const had = recorded.options;
  const why = (name: DumpOptionName) => recorded.evidence[name] ?? `it was made with --${criuOptionName[name]}`;
  if (requested.tcpEstablished === true && requested.tcpClose === true) {
    return { kind: "refused", reason: "--tcp-established and --tcp-close contradict each other", hint: "give --tcp-close to restore the connections closed, --tcp-established to restore them open" };
  }
  if (had.fileLocks && requested.fileLocks === false) {
    return {
      kind: "refused",
      reason: `the checkpoint needs --file-locks (${why("fileLocks")}): without it CRIU drops the locks, and another process could take a lock the restored one believes it holds`,
      hint: "restore without --no-file-locks",
    };
  }
  if (had.tcpClose && requested.tcpClose === false) {
    return { kind: "refused", reason: `the checkpoint needs --tcp-close (${why("tcpClose")}): its connections were not dumped, and CRIU refuses to restore it without`, hint: "restore without --no-tcp-close" };
  }
  if (had.tcpClose && requested.tcpEstablished === true) {
    return { kind: "refused", reason: `--tcp-established cannot bring back connections the checkpoint does not hold (${why("tcpClose")})`, hint: "restore without --tcp-established: the connections are restored closed" };
  }
  if (had.tcpEstablished && !had.tcpClose && requested.tcpEstablished === false && requested.tcpClose !== true) {
    return {
      kind: "refused",
      reason: `the checkpoint holds established TCP connections (${why("tcpEstablished")}): CRIU cannot restore it without --tcp-established`,
      hint: "restore without --no-tcp-established to restore them open, or with --tcp-close to restore them closed",
    };
  }

  const applied: AppliedRestoreOption[] = [];
  const warnings: string[] = [];
  const options: DumpOptions = { tcpEstablished: false, fileLocks: false, tcpClose: false };
  const apply = (option: DumpOptionName, from: "checkpoint" | "flag", detail: string) => {
    options[option] = true;
    applied.push({ option, name: criuOptionName[option], from, detail });
  };

  if (had.fileLocks) apply("fileLocks", "checkpoint", why("fileLocks"));
  else if (requested.fileLocks === true) apply("fileLocks", "flag", "--file-locks (the checkpoint holds no file locks: it changes nothing)");

  if (had.tcpClose) apply("tcpClose", "checkpoint", why("tcpClose"));
  else if (requested.tcpClose === true) {
    apply("tcpClose", "flag", "--tcp-close");
    if (had.tcpEstablished) warnings.push(`--tcp-close: the checkpoint's established TCP connections (${why("tcpEstablished")}) are restored closed; their peers see them reset`);
  } else if (had.tcpEstablished) apply("tcpEstablished", "checkpoint", why("tcpEstablished"));
  else if (requested.tcpEstablished === true) apply("tcpEstablished", "flag", "--tcp-established (the checkpoint holds no established connections: it changes nothing)");

  return { kind: "ok", options, applied, warnings };
}

// The options `options` sets that reach CRIU neither as a flag of the runtime nor through
// a CRIU configuration file it has CRIU read.
export function unpassableOptions(options: DumpOptions, readsCriuConfig: boolean): DumpOptionName[] {
  return dumpOptionNames.filter((n) => options[n] && !RUNTIME_DUMP_OPTION_FLAGS.has(n) && !readsCriuConfig);
}

// The options a checkpoint command was given, as they are dumped: --tcp-close and
// --tcp-established contradict each other.
export function checkDumpRequest(o: DumpOptions): string | null {
  return o.tcpEstablished && o.tcpClose ? "--tcp-established and --tcp-close contradict each other: give one (--tcp-close: established connections are not dumped, and restored closed)" : null;
}
