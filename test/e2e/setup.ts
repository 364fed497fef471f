// Each file of the projects that start the local stack: whatever stack it started and did not
// stop (a hook that timed out while wrangler started, a test that threw first) ends with it.
// Registered before the file's own hooks, so this afterAll runs after theirs.
import { afterAll } from "vitest";
import { endStragglers } from "./stack";

afterAll(endStragglers);
