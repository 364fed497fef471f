import type { Env } from "../env";

/** The every-minute maintenance run (CONTRACT §6). Forwarding adds its work here. */
export async function runMaintenance(_env: Env, _now = Date.now()): Promise<void> {}
