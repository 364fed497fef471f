import type { z } from "@hono/zod-openapi";
import type { DeadLetterSchema } from "../../api/routes/dead-letters";
import { QUEUES } from "../../pipeline/queues";
import { legible } from "../../domain/legible";
import { isPastRetention } from "../../domain/delivery";
import { ASK } from "../confirm";
import { Action, Blank, ConfirmAction, Time, Scroll } from "../layout";
import { PageLinks } from "../list-pages";

type DeadLetterJson = z.infer<typeof DeadLetterSchema>;

/**
 * What reached a dead-letter queue, newest first, a page at a time, with a button to replay each
 * and one to delete one handled otherwise. Not the messages themselves: an event's body can be
 * 256 KiB, and a page shows 100. A delivery's event is stored, so it links to its page; an event
 * the ingest could not store has none.
 */
export function DeadLetterList(props: { letters: DeadLetterJson[]; nextCursor: string | null; open: boolean; cursor?: string; horizon: number }) {
  // Where this page is, carried through a delete's confirm page (without JavaScript) to come back here.
  const place = { ...(props.open ? { open: "true" } : {}), ...(props.cursor ? { cursor: props.cursor } : {}) };
  return (
    <div class="stack">
      <form method="get" action="/dashboard/dead-letters" class="filters" aria-label="Filter dead letters">
        <label class="check">
          <input type="checkbox" name="open" value="true" checked={props.open} /> Only those not replayed yet
        </label>
        <button type="submit" class="secondary">
          Show
        </button>
      </form>
      {props.letters.length === 0 ? (
        <p class="muted">{props.open ? "No open dead letter." : "No dead letter."}</p>
      ) : (
        <Scroll label="Dead letters">
          <table>
            <thead>
              <tr>
                {/* Every column on a phone too (a narrower table scrolls in its box): hidden, the id and time were nowhere on the page. */}
                <th scope="col">Dead letter</th>
                <th scope="col">Received</th>
                <th scope="col">What</th>
                <th scope="col">Reason</th>
                <th scope="col">Attempts</th>
                <th scope="col">Replayed</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {props.letters.map((d) => {
                const ingest = d.queue === QUEUES.ingestDead;
                // A delivery's letter whose event is past the retention: its replay could only answer 409 past_retention.
                const past = d.deliveryId !== null && d.eventReceivedAt !== null && isPastRetention(Date.parse(d.eventReceivedAt), props.horizon);
                return (
                  <tr>
                    <td class="mono">{d.id}</td>
                    <td>
                      <Time iso={d.receivedAt} />
                    </td>
                    <td class="word">
                      {ingest ? "event not stored" : "delivery failed for good"}
                      {d.eventId && (
                        <>
                          <br />
                          {ingest ? <span class="mono">{d.eventId}</span> : <a href={`/dashboard/events/${encodeURIComponent(d.eventId)}`} class="mono">{d.eventId}</a>}
                        </>
                      )}
                      {d.deliveryId && (
                        <>
                          <br />
                          <span class="muted mono">{d.deliveryId}</span>
                        </>
                      )}
                    </td>
                    <td>{d.reason === null ? <Blank /> : legible(d.reason)}</td>
                    <td>{d.attempts}</td>
                    <td>{d.replayedAt ? <Time iso={d.replayedAt} /> : <b>open</b>}</td>
                    <td>
                      <div class="actions">
                        {/* A closed letter is not replayed again (the API answers 409 already_replayed): its event's page retries the delivery on purpose. */}
                        {!d.replayedAt && past && <span class="muted">Its event is past the retention: not sent again</span>}
                        {!d.replayedAt && !past && <Action action={`/dashboard/dead-letters/${d.id}/replay`} label="Replay" name={`Replay dead letter ${d.id}`} kind="secondary" />}
                        <ConfirmAction action={`/dashboard/dead-letters/${d.id}/delete`} label="Delete" name={`Delete dead letter ${d.id}`} confirm={ASK.deleteDeadLetter(String(d.id))} fields={place} />
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </Scroll>
      )}
      <PageLinks path="/dashboard/dead-letters" name="cursor" at={props.cursor} cursor={props.nextCursor} label="Older dead letters →" query={props.open ? { open: "true" } : {}} />
    </div>
  );
}
