// The CRIU options a dump is made with that its restore needs again, as ckpt records them
// in the manifest and passes them on.

export const dumpOptionNames = ["tcpEstablished", "fileLocks", "tcpClose"] as const;
export type DumpOptionName = (typeof dumpOptionNames)[number];
export type DumpOptions = Record<DumpOptionName, boolean>;

export const NO_DUMP_OPTIONS: DumpOptions = { tcpEstablished: false, fileLocks: false, tcpClose: false };

// The option as CRIU, runc, crun and podman spell it.
export const criuOptionName: Readonly<Record<DumpOptionName, string>> = {
  tcpEstablished: "tcp-established",
  fileLocks: "file-locks",
  tcpClose: "tcp-close",
};

// runc and crun take these as flags of checkpoint and restore; neither has --tcp-close,
// which reaches CRIU only through a configuration file the runtime names.
export const RUNTIME_DUMP_OPTION_FLAGS: ReadonlySet<DumpOptionName> = new Set(["tcpEstablished", "fileLocks"]);
