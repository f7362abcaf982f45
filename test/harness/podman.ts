// podman, the reference peer, with an image of its own made from the tests' busybox root
// filesystem; the image and the container named `tag` are removed after the test.
import { join } from "node:path";
import { execa } from "execa";
import { createBusyboxBundle } from "./bundle.ts";
import { testResourcePrefix } from "./owner.ts";
import type { Sandbox } from "./sandbox.ts";

export interface PodmanImage {
  // The container's name (and the image's), unique to this test process.
  tag: string;
  image: string;
  // The image's root filesystem, as `restore --rootfs` takes it.
  rootfs: string;
}

export async function podmanBusyboxImage(sandbox: Sandbox, label = ""): Promise<PodmanImage> {
  const tag = `${testResourcePrefix}${label}${process.pid}`.replace(/[^a-z0-9-]/g, "-");
  const image = `localhost/${tag}:latest`;
  const bundle = await createBusyboxBundle(sandbox.path(`podman-bundle${label}`), { args: ["/bin/true"] });
  const rootfs = join(bundle, "rootfs");
  const tarball = sandbox.path(`podman-rootfs${label}.tar`);
  await execa("tar", ["-C", rootfs, "-cf", tarball, "."]);
  sandbox.defer(async () => {
    await execa("podman", ["rm", "-f", tag], { reject: false });
    await execa("podman", ["rmi", "-f", image], { reject: false });
  });
  await execa("podman", ["import", tarball, image]);
  return { tag, image, rootfs };
}
