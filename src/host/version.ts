// Version arithmetic for the tools ckpt drives (runc "1.1.5+ds1", crun "1.21", CRIU "4.1.1").

// The numeric dotted prefix of a version string: "1.1.5+ds1" -> [1, 1, 5].
export function versionParts(version: string): number[] {
  const m = /^v?(\d+(?:\.\d+)*)/.exec(version.trim());
  return m ? m[1]!.split(".").map(Number) : [];
}

// A pre-release ("1.3.0-rc.1") comes before its release: a fix that came "in 1.3.0" may
// not be in its release candidates. Distribution suffixes ("+ds1", "~bpo12") are not
// pre-releases.
export function isPrerelease(version: string): boolean {
  return /^v?\d+(?:\.\d+)*-/.test(version.trim());
}

// Negative, zero or positive as a is older than, equal to or newer than b.
export function compareVersions(a: string, b: string): number {
  const pa = versionParts(a);
  const pb = versionParts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return Number(isPrerelease(b)) - Number(isPrerelease(a));
}

export function isAtLeast(version: string, minimum: string): boolean {
  return versionParts(version).length > 0 && compareVersions(version, minimum) >= 0;
}
