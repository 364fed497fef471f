import { vi } from "vitest";
import { HOUR_MS } from "../../src/domain/time";

/**
 * Sets `Date.now` (the code under test's clock too: it runs in this isolate, as listen.test.ts's
 * hub does) to read `at` from now on, going on as the real clock goes; the returned function
 * puts the real clock back. For a test of counts kept per clock hour (store/rejections.ts), so that
 * no hour ends while it runs.
 */
export function clockFrom(at: number): () => void {
  const real = Date.now.bind(Date);
  const offset = at - real();
  const clock = vi.spyOn(Date, "now").mockImplementation(() => real() + offset);
  return () => clock.mockRestore();
}

/** The middle of the current clock hour: half an hour from either end. */
export function midHour(now = Date.now()): number {
  return Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS / 2;
}
