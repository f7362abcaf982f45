import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planRestoreClock, timeModes, type DumpedClocks, type HostClocks, type RestoreClockPlan } from "./restore-plan.ts";

const S = 1_000_000_000n;

// A container dumped on boot "A" about ten minutes after boot (figures in the range
// this machine's clocks showed), with 2 s of realtime difference between its clocks.
const dumped: DumpedClocks = {
  declaredTimeNamespace: false,
  monotonicNs: 598n * S + 9_266_156n,
  boottimeNs: 598n * S + 9_266_274n,
  hostRealtimeNs: 1_795_332_152n * S + 86_649_416n,
  bootId: "boot-a",
};

// The same host 30 s later, same boot.
const sameBootLater: HostClocks = {
  realtimeNs: dumped.hostRealtimeNs + 30n * S,
  monotonicNs: dumped.monotonicNs + 30n * S,
  boottimeNs: dumped.boottimeNs + 30n * S,
  bootId: "boot-a",
  timeNamespaces: true,
};

// After a reboot: two hours of realtime later, the host's clocks restarted 45 s ago.
const afterReboot: HostClocks = {
  realtimeNs: dumped.hostRealtimeNs + 7200n * S,
  monotonicNs: 45n * S,
  boottimeNs: 45n * S,
  bootId: "boot-b",
  timeNamespaces: true,
};

function expectKind<K extends RestoreClockPlan["kind"]>(plan: RestoreClockPlan, kind: K): Extract<RestoreClockPlan, { kind: K }> {
  assert.equal(plan.kind, kind, JSON.stringify(plan, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
  return plan as Extract<RestoreClockPlan, { kind: K }>;
}

describe("auto", () => {
  test("no time namespace of its own, same boot: the host's clocks", () => {
    const plan = expectKind(planRestoreClock("auto", dumped, sameBootLater), "host-namespace");
    assert.match(plan.reason, /same boot/);
    assert.deepEqual(plan.warnings, []);
  });

  test("a container that declared its own time namespace keeps it: continue", () => {
    const plan = expectKind(planRestoreClock("auto", { ...dumped, declaredTimeNamespace: true }, sameBootLater), "new-namespace");
    assert.equal(plan.monotonicNs, dumped.monotonicNs);
    assert.match(plan.reason, /its own time namespace/);
  });

  test("after a reboot: continue, so monotonic does not fall from ten minutes to 45 s", () => {
    const plan = expectKind(planRestoreClock("auto", dumped, afterReboot), "new-namespace");
    assert.equal(plan.monotonicNs, dumped.monotonicNs);
    assert.equal(plan.boottimeNs, dumped.boottimeNs);
    assert.equal(plan.offsets.monotonicNs, dumped.monotonicNs - 45n * S, "a positive offset lifts the restarted host clock");
    assert.ok(plan.offsets.monotonicNs > 0n);
    assert.match(plan.reason, /another boot/);
  });

  test("same boot but the host's clocks are behind the dumped ones (restored before on another host): continue", () => {
    const behind = { ...sameBootLater, monotonicNs: dumped.monotonicNs - S };
    const plan = expectKind(planRestoreClock("auto", dumped, behind), "new-namespace");
    assert.match(plan.reason, /behind/);
  });
});

describe("continue", () => {
  test("both clocks resume from their dumped values; offsets are container minus host", () => {
    const plan = expectKind(planRestoreClock("continue", dumped, sameBootLater), "new-namespace");
    assert.equal(plan.monotonicNs, dumped.monotonicNs);
    assert.equal(plan.boottimeNs, dumped.boottimeNs);
    assert.deepEqual(plan.offsets, { monotonicNs: -30n * S, boottimeNs: -30n * S });
  });
});

describe("suspend", () => {
  test("monotonic resumes; boottime advances by exactly the realtime elapsed since the dump", () => {
    const host = { ...sameBootLater, realtimeNs: dumped.hostRealtimeNs + 30n * S + 123n };
    const plan = expectKind(planRestoreClock("suspend", dumped, host), "new-namespace");
    assert.equal(plan.monotonicNs, dumped.monotonicNs);
    assert.equal(plan.boottimeNs, dumped.boottimeNs + 30n * S + 123n);
    assert.deepEqual(plan.offsets, { monotonicNs: -30n * S, boottimeNs: 123n });
  });

  test("after a reboot: boottime counts the two hours away", () => {
    const plan = expectKind(planRestoreClock("suspend", dumped, afterReboot), "new-namespace");
    assert.equal(plan.boottimeNs - dumped.boottimeNs, 7200n * S);
    assert.equal(plan.monotonicNs, dumped.monotonicNs);
  });

  test("a realtime clock set back since the dump adds nothing and says so", () => {
    const plan = expectKind(planRestoreClock("suspend", dumped, { ...sameBootLater, realtimeNs: dumped.hostRealtimeNs - 5n * S }), "new-namespace");
    assert.equal(plan.boottimeNs, dumped.boottimeNs);
    assert.match(plan.warnings[0] ?? "", /realtime clock is 5000000000 ns behind/);
  });
});

describe("host", () => {
  test("allowed on the same boot, where both host clocks are ahead of the dumped ones", () => {
    expectKind(planRestoreClock("host", dumped, sameBootLater), "host-namespace");
  });

  test("refused after a reboot, naming both clocks, the other boot and the alternatives", () => {
    const plan = expectKind(planRestoreClock("host", dumped, afterReboot), "refused");
    assert.match(plan.reason, /monotonic by \d+ ns, boottime by \d+ ns/);
    assert.match(plan.reason, /another boot/);
    assert.match(plan.hint, /--time-mode continue/);
  });

  test("refused when only boottime would go back", () => {
    const plan = expectKind(planRestoreClock("host", dumped, { ...sameBootLater, boottimeNs: dumped.boottimeNs - 1n }), "refused");
    assert.match(plan.reason, /\(boottime by 1 ns\)/);
  });

  test("allowed at exactly the dumped values: equal is not backwards", () => {
    expectKind(planRestoreClock("host", dumped, { ...sameBootLater, monotonicNs: dumped.monotonicNs, boottimeNs: dumped.boottimeNs }), "host-namespace");
  });
});

describe("a kernel without time namespaces", () => {
  test("every mode restores on the host's clocks and warns, naming a clock that goes back", () => {
    for (const mode of timeModes) {
      const plan = expectKind(planRestoreClock(mode, dumped, { ...afterReboot, timeNamespaces: false }), "host-namespace");
      assert.match(plan.warnings[0] ?? "", /no time namespaces/);
      assert.ok(plan.warnings.some((w) => /monotonic clock goes back/.test(w)), mode);
    }
  });

  test("on the same boot it warns only that there is no time namespace", () => {
    const plan = expectKind(planRestoreClock("continue", dumped, { ...sameBootLater, timeNamespaces: false }), "host-namespace");
    assert.equal(plan.warnings.length, 1);
  });
});

test("no plan that is carried out moves monotonic backwards without a warning (grid of readings)", () => {
  const hostMonos = [0n, 45n * S, dumped.monotonicNs - 1n, dumped.monotonicNs, dumped.monotonicNs + 1n, dumped.monotonicNs + 86_400n * S];
  for (const mode of timeModes)
    for (const declaredTimeNamespace of [false, true])
      for (const bootId of ["boot-a", "boot-b"])
        for (const monotonicNs of hostMonos)
          for (const timeNamespaces of [true, false]) {
            const host: HostClocks = { ...sameBootLater, bootId, monotonicNs, boottimeNs: monotonicNs, timeNamespaces };
            const plan = planRestoreClock(mode, { ...dumped, declaredTimeNamespace }, host);
            const restoredMono = plan.kind === "new-namespace" ? plan.monotonicNs : plan.kind === "host-namespace" ? host.monotonicNs : null;
            if (restoredMono === null) continue;
            const where = `${mode} declared=${declaredTimeNamespace} ${bootId} mono=${monotonicNs} timens=${timeNamespaces}`;
            if (plan.kind === "new-namespace") assert.equal(plan.offsets.monotonicNs, plan.monotonicNs - host.monotonicNs, where);
            if (restoredMono < dumped.monotonicNs) {
              assert.ok(plan.kind === "host-namespace" && plan.warnings.some((w) => /goes back/.test(w)), `silent backwards jump: ${where}`);
            }
          }
});
