// CPU time of a process group from /proc, by program: what `wrangler dev`'s Node process and its
// runtime (workerd) each spent during a bench round. Linux only; elsewhere it reads nothing.
import { readdirSync, readFileSync } from "node:fs";

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** Milliseconds of CPU (user + system) so far, per program name, of the processes in `group`. */
export function groupCpu(group: number): Map<string, number> {
  const byProgram = new Map<string, number>();
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return byProgram;
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces, so fields count from its closing parenthesis.
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    if (Number(fields[2]) !== group) continue;
    const ticks = Number(fields[11]) + Number(fields[12]);
    byProgram.set(comm, (byProgram.get(comm) ?? 0) + ticks * TICK_MS);
  }
  return byProgram;
}

/** What each program of `group` spent between two readings. */
export function cpuSince(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)]));
}
