// The crun adapter.
import { isAtLeast } from "../host/version.ts";
import type { RuntimeAdapter } from "./runtime.ts";

// crun's exec has joined the time namespace since 0.14 (containers/crun#318, April 2020).
export const CRUN_EXEC_JOINS_TIMENS_SINCE = "0.14";
// crun has created time namespaces (with linux.timeOffsets) since 0.14.
export const CRUN_CREATES_TIMENS_SINCE = "0.14";

// crun hands CRIU a configuration file (org.criu.config, else /etc/criu/crun.conf, else
// /etc/criu/runc.conf) from 1.26, with libcriu from CRIU >= 4.2; 1.21 names none (its
// src/libcrun/criu.c has no criu_set_config_file call), but the CRIU it starts through
// libcriu reads the file CRIU_CONFIG_FILE names, before crun's own options.
export const CRUN_READS_CRIU_CONFIG_SINCE = "1.26";
// What crun 1.21 always sends CRIU itself (criu.c: criu_set_ext_unix_sk, _shell_job,
// _orphan_pts_master, _manage_cgroups_mode; tcp-established and file-locks ckpt passes as flags).
const CRUN_SETS = ["ext-unix-sk", "shell-job", "orphan-pts-master", "manage-cgroups"];

export const crun: RuntimeAdapter = {
  name: "crun",
  binary: "crun",
  execJoinsTimeNamespaceSince: CRUN_EXEC_JOINS_TIMENS_SINCE,
  createsTimeNamespaceSince: CRUN_CREATES_TIMENS_SINCE,
  restoreJoinsTimeNamespaceVia: "spec-namespace-path",
  // crun 1.21's create fails with "unshare: Invalid argument" when the spec joins a pid
  // namespace and asks for a new time namespace; joining net, ipc or uts works.
  timeNamespaceBreaksJoining: ["pid"],
  // crun 1.21 has no --lazy-pages or --page-server flags.
  lazyPages: false,
  criuConfig(version) {
    return isAtLeast(version, CRUN_READS_CRIU_CONFIG_SINCE)
      ? { via: "annotation", defaults: ["/etc/criu/crun.conf", "/etc/criu/runc.conf"], runtimeSets: [] }
      : { via: "environment", defaults: [], runtimeSets: CRUN_SETS };
  },
  parseVersion(output) {
    // "crun version 1.21" ... "+SYSTEMD +SELINUX ... +CRIU +YAJL"
    return {
      version: /^crun version (\S+)/m.exec(output)?.[1] ?? null,
      checkpointBuilt: /(^|\s)\+CRIU(\s|$)/m.test(output),
    };
  },
  hostBlockers(cgroups) {
    if (cgroups.mode === "hybrid" && cgroups.unifiedControllers.length > 0) {
      return [
        `crun refuses hybrid cgroups while the cgroup2 mount holds controllers (${cgroups.unifiedControllers.join(", ")})`,
      ];
    }
    return [];
  },
};
