// Reads and writes container records under --root. Knows nothing about runtimes.
import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { CkptError, ExitCode } from "../errors.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import { refuseWhileMounted } from "../host/mounts.ts";
import { ContainerRecordSchema, type ContainerRecord } from "./container-record.ts";
import { StoreLayout } from "./layout.ts";
import { isContainerName } from "./names.ts";

// A container directory: its record, or why the record cannot be read.
export type ContainerEntry = { name: string; record: ContainerRecord } | { name: string; damage: string };

// A container whose record cannot be read or parsed. It is still there (its monitor and
// processes may run): `ckpt ps -a` lists it as damaged and `ckpt rm -f` removes it.
export class DamagedRecordError extends CkptError {
  readonly container: string;
  readonly damage: string;
  constructor(name: string, damage: string) {
    super(ExitCode.badCheckpoint, `the record of container "${name}" is damaged: ${damage}`, { hint: `ckpt ps -a shows whether it still runs; remove it with: ckpt rm -f ${name}` });
    this.container = name;
    this.damage = damage;
  }
}

export class ContainerStore {
  readonly layout: StoreLayout;

  constructor(root: string) {
    this.layout = new StoreLayout(root);
  }

  // The record of `name`, or null when there is none. A record that cannot be read or
  // parsed throws DamagedRecordError (ckpt rm -f removes such a container).
  async find(name: string): Promise<ContainerRecord | null> {
    const entry = await this.entry(name);
    if (entry === null) return null;
    if ("damage" in entry) throw new DamagedRecordError(name, entry.damage);
    return entry.record;
  }

  // The record of `name`, or why it cannot be read; null when there is no such container.
  async entry(name: string): Promise<ContainerEntry | null> {
    let text: string;
    try {
      text = await readFile(this.layout.containerRecord(name), "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") {
        // A directory without its record: a run or restore that is creating it, or one
        // that was killed before it wrote it.
        const dir = await stat(this.layout.containerDir(name)).catch(() => null);
        return dir?.isDirectory() ? { name, damage: "container.json is missing (a run or restore still creating it, or one that was killed)" } : null;
      }
      return { name, damage: `container.json cannot be read: ${(error as Error).message}` };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return { name, damage: `container.json is not valid JSON (${text.length} bytes): ${(error as Error).message}` };
    }
    const parsed = ContainerRecordSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { name, damage: `container.json does not hold a container record: ${issue === undefined ? "invalid" : `${issue.path.join(".") || "(top)"}: ${issue.message}`}` };
    }
    if (parsed.data.name !== name) return { name, damage: `container.json names another container ("${parsed.data.name}")` };
    return { name, record: parsed.data };
  }

  async get(name: string): Promise<ContainerRecord> {
    const record = await this.find(name);
    if (record === null) {
      throw new CkptError(ExitCode.notFound, `no container named "${name}"`, { hint: "list containers with: ckpt ps -a" });
    }
    return record;
  }

  // The records that can be read (damaged ones are left out: see entries).
  async list(): Promise<ContainerRecord[]> {
    return (await this.entries()).flatMap((e) => ("record" in e ? [e.record] : []));
  }

  // Every container directory, sorted by name: its record, or why it cannot be read.
  async entries(): Promise<ContainerEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.layout.containersDir());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const entries = await Promise.all(names.filter(isContainerName).sort().map((n) => this.entry(n)));
    return entries.filter((e): e is ContainerEntry => e !== null);
  }

  // Claims `name` for a new container: fails when it is taken.
  async claim(name: string): Promise<void> {
    await mkdir(this.layout.containersDir(), { recursive: true, mode: 0o700 });
    try {
      await mkdir(this.layout.containerDir(name), { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") {
        throw new CkptError(ExitCode.conflict, `the name "${name}" is already in use`, {
          hint: `choose another with --name, or remove the old one: ckpt rm -f ${name}`,
        });
      }
      throw error;
    }
  }

  async save(record: ContainerRecord): Promise<void> {
    await writeFileAtomic(this.layout.containerRecord(record.name), `${JSON.stringify(record, null, 2)}\n`);
  }

  // Never deletes through a mount: whatever a dead CRIU left mounted below the container's
  // directory is unmounted first, and if anything stays mounted, nothing is deleted.
  async remove(name: string): Promise<void> {
    await refuseWhileMounted(this.layout.containerDir(name), `the directory of container "${name}"`);
    await rm(this.layout.containerDir(name), { recursive: true, force: true });
  }
}
