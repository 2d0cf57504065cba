// Slot clock: the current slot is always derived from the wall clock, the genesis system
// start and the node's clock offset — never by counting timer ticks, which drift under load.
// Slots skipped because the event loop was late are reported, not silently forged late.

export interface SlotClockOptions {
  systemStartMs: number;
  slotLengthS: number;
  offsetMs?: number;
  now?: () => number;
}

export class SlotClock {
  readonly systemStartMs: number;
  readonly slotLengthMs: number;
  offsetMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private lastSlot = -1;
  private stopped = false;

  constructor(o: SlotClockOptions) {
    this.systemStartMs = o.systemStartMs;
    this.slotLengthMs = o.slotLengthS * 1000;
    this.offsetMs = o.offsetMs ?? 0;
    this.now = o.now ?? Date.now;
  }

  nowMs(): number {
    return this.now() + this.offsetMs;
  }

  /** Current slot; negative before system start. */
  currentSlot(): number {
    return Math.floor((this.nowMs() - this.systemStartMs) / this.slotLengthMs);
  }

  slotStartMs(slot: number): number {
    return this.systemStartMs + slot * this.slotLengthMs;
  }

  /** Seconds since system start (trace time base). */
  elapsedS(): number {
    return (this.nowMs() - this.systemStartMs) / 1000;
  }

  /**
   * Call `onSlot(slot, missed)` at each slot boundary. `missed` counts the slots that went by
   * without a call because the loop was late.
   */
  start(onSlot: (slot: number, missed: number) => void): void {
    const tick = () => {
      if (this.stopped) return;
      const slot = this.currentSlot();
      if (slot >= 0 && slot > this.lastSlot) {
        const missed = this.lastSlot < 0 ? 0 : slot - this.lastSlot - 1;
        this.lastSlot = slot;
        onSlot(slot, missed);
      }
      const next = this.slotStartMs(Math.max(slot + 1, 0));
      this.timer = setTimeout(tick, Math.max(1, next - this.nowMs() + 1));
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
