// The runc adapter.
import { prepareRuncExecInTimeNamespace } from "./runc-exec-shim.ts";
import type { RuntimeAdapter } from "./runtime.ts";

// runc 1.2.7 (and 1.3.0) made `runc exec` join the container's time namespace; older
// runc puts exec'd processes in the host's (opencontainers/runc#4636, backported in #4649).
export const RUNC_EXEC_JOINS_TIMENS_SINCE = "1.2.7";
// runc learned to create time namespaces in 1.2.0; 1.1.5 rejects `{"type": "time"}`.
export const RUNC_CREATES_TIMENS_SINCE = "1.2.0";

// The CRIU configuration runc names when a spec has no org.criu.config annotation.
export const RUNC_DEFAULT_CRIU_CONFIG = "/etc/criu/runc.conf";

export const runc: RuntimeAdapter = {
  name: "runc",
  binary: "runc",
  execJoinsTimeNamespaceSince: RUNC_EXEC_JOINS_TIMENS_SINCE,
  createsTimeNamespaceSince: RUNC_CREATES_TIMENS_SINCE,
  restoreJoinsTimeNamespaceVia: "criu-config",
  timeNamespaceBreaksJoining: [],
  // runc checkpoint --lazy-pages --page-server ADDR:PORT --status-fd FD; restore --lazy-pages.
  lazyPages: true,
  // runc's docs/checkpoint-restore.md: the annotation's file, or /etc/criu/runc.conf
  // without one (an empty annotation: none).
  criuConfig() {
    return { via: "annotation", defaults: [RUNC_DEFAULT_CRIU_CONFIG], runtimeSets: [] };
  },
  parseVersion(output) {
    // "runc version 1.1.5+ds1"; runc calls CRIU as a binary, so it is always able to try.
    return { version: /^runc version (\S+)/m.exec(output)?.[1] ?? null, checkpointBuilt: true };
  },
  hostBlockers() {
    return [];
  },
  prepareExecInTimeNamespace: prepareRuncExecInTimeNamespace,
};
