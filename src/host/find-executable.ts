// Locates executables the way a root shell would, even when ckpt runs with a thin PATH
// (systemd units, sudo's secure_path): PATH first, then the usual system directories.
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

const systemDirs = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

// The absolute path of the first executable file called `name`, or null.
export function findExecutable(name: string, pathEnv = process.env["PATH"] ?? ""): string | null {
  if (name.includes("/")) return isExecutableFile(name) ? name : null;
  const dirs = [...pathEnv.split(delimiter).filter((d) => d.startsWith("/")), ...systemDirs];
  for (const dir of new Set(dirs)) {
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
