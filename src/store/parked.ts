/**
 * Dead letters that D1 could not take wait in R2 (the BODIES bucket), one object
 * per queue message at `dead-letters/<queue>/<message id>`, until the maintenance
 * run records or re-ingests them. R2 is the one store here that does not share
 * D1's failure.
 */
import { isIndexable } from "../domain/guards";
const PREFIX = "dead-letters/";
/** How many parked letters a count lists at most (one R2 list call). */
const PARKED_COUNT_LIMIT = 1000;

/** A dead-letter queue message, as parked. */
export interface ParkedLetter {
  queue: string;
  messageId: string;
  /** How often the queue had delivered it to the dead-letter consumer. */
  attempts: number;
  parkedAt: number;
  /** The message body as it was queued. */
  body: unknown;
}

function isParkedLetter(v: unknown): v is ParkedLetter {
  if (!isIndexable(v)) return false;
  const o: Record<string, unknown> = { ...v };
  return (
    typeof o.queue === "string" &&
    typeof o.messageId === "string" &&
    typeof o.attempts === "number" &&
    typeof o.parkedAt === "number" &&
    "body" in o
  );
}

const keyOf = (queue: string, messageId: string) => `${PREFIX}${queue}/${messageId}`;

/** Writes one dead letter to R2; resolves once R2 has it. */
export async function park(bucket: R2Bucket, letter: ParkedLetter): Promise<void> {
  await bucket.put(keyOf(letter.queue, letter.messageId), JSON.stringify(letter), {
    httpMetadata: { contentType: "application/json" },
  });
}

/** How many letters are parked, counted up to PARKED_COUNT_LIMIT. */
export async function countParked(bucket: R2Bucket): Promise<number> {
  const listed = await bucket.list({ prefix: PREFIX, limit: PARKED_COUNT_LIMIT });
  return listed.objects.length;
}

/** Where a parked object that cannot be taken back is moved: out of the list, which it would block, kept for a look by hand. */
const SET_ASIDE = "dead-letters-set-aside/";

/** Moves a parked object to SET_ASIDE (logged): the next lists go past it. */
export async function setAside(bucket: R2Bucket, key: string, why: string): Promise<void> {
  const obj = await bucket.get(key);
  if (!obj) return;
  const to = `${SET_ASIDE}${key.slice(PREFIX.length)}`;
  await bucket.put(to, await obj.arrayBuffer(), { httpMetadata: obj.httpMetadata });
  await bucket.delete(key);
  console.error("parked dead letter set aside", { key, to, why });
}

/** Up to `limit` parked letters, oldest key order; an object that is not a letter is set aside, not returned. */
export async function listParked(
  bucket: R2Bucket,
  limit: number,
  /** `of`: one queue's letters alone; `notOf`: every queue's but that one's, whose keys are passed over unread. */
  which: { of: string } | { notOf: string },
): Promise<{ key: string; letter: ParkedLetter }[]> {
  const listed = await bucket.list({ prefix: "of" in which ? keyOf(which.of, "") : PREFIX, limit });
  const out: { key: string; letter: ParkedLetter }[] = [];
  for (const { key } of listed.objects) {
    if ("notOf" in which && key.startsWith(keyOf(which.notOf, ""))) continue;
    const obj = await bucket.get(key);
    if (!obj) continue; // taken by a concurrent run
    // A failed read throws (the letter stays for the next run); only what was read and is no letter is set aside.
    const text = await obj.text();
    let letter: unknown = null;
    try {
      letter = JSON.parse(text);
    } catch {
      // not JSON: no letter
    }
    if (isParkedLetter(letter)) out.push({ key, letter });
    else await setAside(bucket, key, "not a parked letter");
  }
  return out;
}

/** Deletes parked letters, once what they carried is safe elsewhere. */
export async function unpark(bucket: R2Bucket, keys: string[]): Promise<void> {
  if (keys.length > 0) await bucket.delete(keys);
}
