// Keys of an OCI spec spelled so that runc reads what ckpt does not. runc decodes
// config.json with Go's encoding/json, which matches an object's keys to its fields
// without regard to case, folds U+212A (KELVIN SIGN) to k and U+017F (LONG S) to s, and
// lets the later of two keys that fold alike win. ckpt reads the exact spelling, so a
// spec holding "Hooks" beside (or instead of) "hooks" would show ckpt no hooks while runc
// runs them. Pure.

// Every field name of the OCI runtime spec's Linux and common parts (config.md,
// config-linux.md), at any depth.
const SPEC_KEYS = [
  "ociVersion", "process", "root", "hostname", "domainname", "mounts", "hooks", "annotations", "linux", "solaris", "windows", "vm", "zos",
  "path", "readonly", "destination", "type", "source", "options", "uidMappings", "gidMappings",
  "terminal", "consoleSize", "height", "width", "cwd", "env", "args", "commandLine", "rlimits", "soft", "hard", "apparmorProfile",
  "capabilities", "effective", "bounding", "inheritable", "permitted", "ambient", "noNewPrivileges", "oomScoreAdj", "scheduler",
  "policy", "nice", "priority", "flags", "runtime", "deadline", "period", "selinuxLabel", "ioPriority", "class", "execCPUAffinity",
  "initial", "final", "user", "uid", "gid", "umask", "additionalGids", "username",
  "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", "timeout",
  "devices", "major", "minor", "fileMode", "containerID", "hostID", "size", "timeOffsets", "monotonic", "boottime", "secs", "nanosecs",
  "sysctl", "cgroupsPath", "resources", "rootfsPropagation", "seccomp", "namespaces", "maskedPaths", "readonlyPaths", "mountLabel",
  "intelRdt", "closID", "l3CacheSchema", "memBwSchema", "schemata", "enableCMT", "enableMBM", "enableMonitoring", "personality", "domain",
  "netDevices", "name", "memoryPolicy", "mode", "nodes",
  "allow", "access", "memory", "limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness", "disableOOMKiller", "useHierarchy",
  "checkBeforeUpdate", "cpu", "shares", "quota", "burst", "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle", "pids",
  "blockIO", "weight", "leafWeight", "weightDevice", "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice",
  "throttleWriteIOPSDevice", "rate", "hugepageLimits", "pageSize", "network", "classID", "priorities", "rdma", "unified",
  "hcaHandles", "hcaObjects", "defaultAction", "defaultErrnoRet", "architectures", "listenerPath", "listenerMetadata", "syscalls",
  "names", "action", "errnoRet", "index", "value", "valueTwo", "op", "hypervisor", "parameters", "initrd", "image", "format",
];

// Objects whose keys are data, not field names (annotation keys, sysctl names, ...).
const FREE_FORM = new Set(["annotations", "sysctl", "unified", "rdma", "netDevices"]);

// Go's case folding of a key, as encoding/json compares them.
export function goFold(key: string): string {
  return key.replace(/\u212a/g, "k").replace(/\u017f/g, "s").toLowerCase();
}

const canonical = new Map(SPEC_KEYS.map((k) => [goFold(k), k]));

// Each key (dotted path) that runc would take for a field of another spelling.
export function disguisedSpecKeys(spec: unknown): { path: string; readAs: string }[] {
  const found: { path: string; readAs: string }[] = [];
  const walk = (value: unknown, at: string) => {
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${at}[${i}]`));
    if (value === null || typeof value !== "object") return;
    for (const [key, child] of Object.entries(value)) {
      const path = at === "" ? key : `${at}.${key}`;
      const field = canonical.get(goFold(key));
      if (field !== undefined && field !== key) found.push({ path, readAs: field });
      if (!FREE_FORM.has(field ?? key)) walk(child, path);
    }
  };
  walk(spec, "");
  return found;
}
