import type { Principal } from "../domain/scopes";
import type { Env } from "../env";

export type ApiEnv = { Bindings: Env; Variables: { principal: Principal } };
