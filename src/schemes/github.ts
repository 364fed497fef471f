import { defineScheme } from "./scheme";

/** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, no timestamp. */
export const github = defineScheme({ header: "x-hub-signature-256", prefix: "sha256=", encoding: "hex", content: "" });
