// Test resources carry the PID of the test process that made them (ckpt-test-<pid>-...),
// so a later run can tell leftovers of a killed run from resources still in use.
export const testResourcePrefix = `ckpt-test-${process.pid}-`;
const ownerPattern = /^ckpt-test-(\d+)-/;

// True when `name` belongs to a test process that no longer exists.
export function isStaleTestResource(name: string): boolean {
  const owner = ownerPattern.exec(name)?.[1];
  return owner !== undefined && !processExists(Number(owner));
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
