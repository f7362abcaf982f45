// The part of an OCI runtime spec (config.json) ckpt reads or changes. Everything else is
// kept as it is: the schemas are loose objects.
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { CkptError, ExitCode } from "../errors.ts";

const NamespaceSchema = z.looseObject({ type: z.string(), path: z.string().optional() });
const MountSchema = z.looseObject({ destination: z.string(), type: z.string().optional(), source: z.string().optional(), options: z.array(z.string()).optional() });
export type OciMount = z.infer<typeof MountSchema>;

// A bind mount: type "bind", or "bind"/"rbind" among its options (runc's spelling).
export function isBindMount(mount: OciMount): boolean {
  return mount.type === "bind" || (mount.options ?? []).some((o) => o === "bind" || o === "rbind");
}

// A capability set: names (oci/capabilities.ts reads them to drop unraisable ambient ones;
// a string or a number there crashed run and restore with a TypeError).
const CapabilitySetSchema = z.array(z.string()).nullish();

export const OciSpecSchema = z.looseObject({
  ociVersion: z.string(),
  process: z.looseObject({
    terminal: z.boolean().optional(),
    args: z.array(z.string()).min(1),
    cwd: z.string(),
    capabilities: z
      .looseObject({ bounding: CapabilitySetSchema, effective: CapabilitySetSchema, inheritable: CapabilitySetSchema, permitted: CapabilitySetSchema, ambient: CapabilitySetSchema })
      .optional(),
  }),
  root: z.looseObject({ path: z.string(), readonly: z.boolean().optional() }),
  mounts: z.array(MountSchema).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  linux: z
    .looseObject({
      namespaces: z.array(NamespaceSchema).optional(),
      timeOffsets: z.record(z.string(), z.looseObject({ secs: z.number().optional(), nanosecs: z.number().optional() })).optional(),
    })
    .optional(),
});
export type OciSpec = z.infer<typeof OciSpecSchema>;

// The annotation runc and crun read to find an extra CRIU configuration file.
export const CRIU_CONFIG_ANNOTATION = "org.criu.config";
// In ckpt's copy of a spec: the bundle's own org.criu.config value ("" when the bundle
// turned the runtime's default file off), for the record. ckpt reads the copy of that
// file it made at `run` (src/criu/operator-config.ts), never the path.
export const BUNDLE_CRIU_CONFIG_ANNOTATION = "io.ckpt.bundle-criu-config";

export async function readOciSpec(path: string): Promise<OciSpec> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new CkptError(ExitCode.notFound, `cannot read the OCI spec ${path}: ${(error as Error).message}`, {
      hint: "a bundle is a directory holding config.json and the root filesystem it names; `runc spec` writes a default config.json",
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CkptError(ExitCode.usage, `${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = OciSpecSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CkptError(ExitCode.usage, `${path} is not a usable OCI spec: ${issue?.path.join(".") || "(top)"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

// Whether the spec asks for a time namespace of the container's own (new, not joined).
export function declaresTimeNamespace(spec: OciSpec): boolean {
  return (spec.linux?.namespaces ?? []).some((ns) => ns.type === "time" && ns.path === undefined);
}
