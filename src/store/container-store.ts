// Reads and writes container records under --root. Knows nothing about runtimes.
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { CkptError, ExitCode } from "../errors.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import { refuseWhileMounted } from "../host/mounts.ts";
import { ContainerRecordSchema, type ContainerRecord } from "./container-record.ts";
import { StoreLayout } from "./layout.ts";

export class ContainerStore {
  readonly layout: StoreLayout;

  constructor(root: string) {
    this.layout = new StoreLayout(root);
  }

  // The record of `name`, or null when there is none.
  async find(name: string): Promise<ContainerRecord | null> {
    let text: string;
    try {
      text = await readFile(this.layout.containerRecord(name), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    const parsed = ContainerRecordSchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      throw new CkptError(ExitCode.badCheckpoint, `the record of container "${name}" is damaged: ${parsed.error.issues[0]?.message ?? "invalid"}`, {
        hint: `remove it with: ckpt rm -f ${name}`,
      });
    }
    return parsed.data;
  }

  async get(name: string): Promise<ContainerRecord> {
    const record = await this.find(name);
    if (record === null) {
      throw new CkptError(ExitCode.notFound, `no container named "${name}"`, { hint: "list containers with: ckpt ps -a" });
    }
    return record;
  }

  async list(): Promise<ContainerRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.layout.containersDir());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const records = await Promise.all(names.sort().map((n) => this.find(n).catch(() => null)));
    return records.filter((r): r is ContainerRecord => r !== null);
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
