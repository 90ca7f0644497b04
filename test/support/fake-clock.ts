import type { Clock } from "../../src/eventsources/types.js";

/** A clock whose time moves only when the test says so; sleepers wake when their time comes. */
export class FakeClock implements Clock {
  private sleepers: Array<{ until: number; wake: (v: boolean) => void }> = [];
  private onSleep: Array<() => void> = [];
  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const entry = { until: this.t + ms, wake: (v: boolean) => resolve(v) };
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== entry);
        resolve(false);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      entry.wake = (v) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(v);
      };
      this.sleepers.push(entry);
      for (const f of this.onSleep.splice(0)) f();
    });
  }

  /** Resolves once `n` sleeps are pending, i.e. every loop is waiting for time to pass. */
  async idle(n = 1): Promise<void> {
    while (this.sleepers.length < n) await new Promise<void>((r) => this.onSleep.push(r));
  }

  /** Someone sleeps until exactly `at`. */
  waitingFor(at: number): boolean {
    return this.sleepers.some((s) => s.until === at);
  }

  /** The earliest pending wake-up time. */
  nextWake(): number {
    return Math.min(...this.sleepers.map((s) => s.until));
  }

  /** Sets the time (never backwards) and wakes every sleeper that is due. */
  advanceTo(t: number): void {
    this.t = Math.max(this.t, t);
    const due = this.sleepers.filter((s) => s.until <= this.t);
    this.sleepers = this.sleepers.filter((s) => s.until > this.t);
    for (const s of due) s.wake(true);
  }

  /** Waits until everything sleeps, then jumps to the first wake-up. */
  async step(): Promise<void> {
    await this.idle();
    this.advanceTo(this.nextWake());
  }
}
