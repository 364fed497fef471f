import { Scalar } from "@scalar/hono-api-reference";
import type { Context, Next } from "hono";
import { bytesToBase64, utf8 } from "../domain/crypto";

const reference = Scalar({ url: "/openapi.json", pageTitle: "Edgehook API" });

async function sha256Base64(text: string): Promise<string> {
  return bytesToBase64(await crypto.subtle.digest("SHA-256", utf8(text)));
}

/**
 * GET /docs: the interactive reference, under a Content-Security-Policy that
 * allows only its own inline scripts (by hash) and the reference's published
 * script; nothing else may run or be framed.
 */
export async function docsPage(c: Context, next: Next): Promise<Response> {
  const res = (await reference(c as never, next)) as Response;
  const html = await res.text();
  const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? "");
  const hashes = await Promise.all(inline.map(async (s) => `'sha256-${await sha256Base64(s)}'`));
  const origins = [...new Set([...html.matchAll(/<script[^>]*\bsrc="(https:\/\/[^/"]+)/g)].map((m) => m[1]))];
  const csp = [
    "default-src 'none'",
    `script-src ${[...hashes, ...origins].join(" ") || "'none'"}`,
    // The reference styles itself at run time.
    `style-src 'unsafe-inline' ${origins.join(" ")}`.trim(),
    `font-src ${origins.join(" ") || "'none'"} data:`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  return new Response(html, {
    status: res.status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "no-referrer",
    },
  });
}
