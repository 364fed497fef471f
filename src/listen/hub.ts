import { DurableObject } from "cloudflare:workers";
import { errorResponse } from "../http/errors";
import { redactHeaders } from "../domain/credential-headers";
import { utf8Length } from "../domain/crypto";
import { isNumber, isString, isStringArray, objectOf, oneOf, orNull, orUndefined } from "../domain/guards";
import { iso } from "../domain/time";
import type { Principal } from "../domain/scopes";
import { adminKey } from "../domain/tokens";
import type { Webhook } from "../domain/types";
import type { Env } from "../env";
import { outbound, transforms, type Outbound } from "../pipeline/outbound";
import { deliveryHeaders } from "../pipeline/sign";
import { grantedWebhooks } from "../store/grants";
import type { EventContent } from "../store/content";
import { deliveryContext, eventContents, eventsAfter, eventsUpTo, lastEventSeq, type ListenEvent } from "../store/listen";
import { liveTokenIds } from "../store/tokens";
import { getWebhook, webhooksByUid } from "../store/webhooks";
import { QUIET_MS } from "./announce";
import { admitsContent, hears, principalOf } from "./hears";
import {
  PAGE,
  PAGES_PER_ALARM,
  PAGES_PER_SOCKET,
  RUN_BYTES,
  SIGNING_STEPS_PER_ALARM,
  SILENT_SOCKET_MS,
  SOCKETS_PER_TOKEN,
  TRANSFORM_STEPS_PER_ALARM,
  sendingSteps,
  signingSteps,
  socketRefusal,
} from "./limits";
import { CLOSE_CODES, CONFIG_HEADER, type AckMessage, type AttemptNote, type EventNote, type ListenerConfig, type ListenMessage } from "./protocol";

/** `replay N` looks this far back for matching events, at most. */
const REPLAY_SCAN_ROWS = 2_000;

/** How many sockets hear events (listen and tail) and attempts (tail). */
export interface ListenerCounts {
  events: number;
  attempts: number;
}

/** What a socket keeps across hibernation: its id, the position it has been sent up to, and when it was accepted. */
interface Attachment {
  id: string;
  position: number;
  acceptedAt?: number;
  /** Closed by the hub for silence: it no longer counts toward its token's sockets. */
  swept?: true;
  /** A socket that acks (ListenerConfig.ack): the position it has acked up to. It is sent more only once this reaches `position`. */
  acked?: number;
  /** Passed over by a pump for want of an ack: its ack sets the alarm. */
  held?: true;
}

interface Listener {
  ws: WebSocket;
  at: Attachment;
  config: ListenerConfig;
  principal: Principal;
}

/** An attempt as a delivery scheduler announces it. */
type AttemptFact = Pick<AttemptNote, "deliveryId" | "number" | "status" | "statusCode" | "durationMs" | "error"> & {
  startedAt: number;
};

const isAttachment = objectOf<Attachment>({
  id: isString,
  position: isNumber,
  acceptedAt: orUndefined(isNumber),
  swept: orUndefined(oneOf([true])),
  acked: orUndefined(isNumber),
  held: orUndefined(oneOf([true])),
});

const isAckShape = objectOf<AckMessage>({ type: oneOf(["ack"]), position: isNumber });

/** An ack as docs/security.md writes it: those two keys only, its position a whole number ≥ 0. */
function isAck(v: unknown): v is AckMessage {
  return isAckShape(v) && Object.keys(v).length === 2 && Number.isSafeInteger(v.position) && v.position >= 0;
}

/** Characters of a client message past which it is no ack: `{"type":"ack","position":9007199254740991}` is 42. */
const ACK_CHARS = 100;

/** The attachment as it is now, with `change`: an ack or a close may have written it while a pump awaited. */
function patchAttachment(ws: WebSocket, change: Partial<Attachment>): void {
  const at: unknown = ws.deserializeAttachment();
  if (isAttachment(at)) ws.serializeAttachment({ ...at, ...change });
}

const orNullStrings = orNull(isStringArray);
const isConfig = objectOf<ListenerConfig>({
  mode: oneOf(["listen", "tail"]),
  principal: objectOf<ListenerConfig["principal"]>({
    tokenId: orNull(isString),
    scopes: isStringArray,
    organizationUids: orNullStrings,
    locationUids: orNullStrings,
    adminKey: orUndefined(orNull(isString)),
  }),
  sourceIds: orNullStrings,
  eventTypes: orNullStrings,
  webhookUid: orNull(isString),
  secret: orNull(isString),
  after: orNull(isNumber),
  replay: isNumber,
  ack: orUndefined(oneOf([true])),
});

/** Whether the message went out (a socket that closed meanwhile throws; its close handler cleans up). */
function send(ws: WebSocket, m: ListenMessage): boolean {
  return sendText(ws, JSON.stringify(m));
}

/** `send` of a message serialised once for all the sockets it goes to. */
function sendText(ws: WebSocket, text: string): boolean {
  try {
    ws.send(text);
    return true;
  } catch {
    return false;
  }
}

/** Stored listener configurations a new socket's sweep reads at most (storage.delete takes 128 keys a call). */
const SWEEP_KEYS = 64;
/** The stored key the next sweep starts after. */
const SWEPT_TO = "sweptTo";

/** A socket the hub could not send an event to is closed with this: the client resumes from what it got. */
const SEND_FAILED = 1011;
/** A socket taken for dead (silent past SILENT_SOCKET_MS) is closed with this, to free its token's place. */
const SILENT = 1001;
/** A client has nothing to say but "ping" (answered without waking the hub): anything else closes its socket. */
const UNEXPECTED_MESSAGE = 1008;

/**
 * One pump's work, in steps counted against two bounds: webhook transformations' evaluation
 * (TRANSFORM_STEPS_PER_ALARM) and the signing of what listeners are sent (SIGNING_STEPS_PER_ALARM).
 * Apart, so a webhook's costly transformations do not hold back the listeners with none.
 */
class AlarmBudget {
  private transformSteps = 0;
  private signedSteps = 0;

  /** What the webhook sends for an event, or null when that needs a run and the budget is spent. */
  async outbound(webhook: Webhook, body: string): Promise<Outbound | null> {
    if (!transforms(webhook)) return outbound(webhook, body);
    if (this.transformSteps >= TRANSFORM_STEPS_PER_ALARM) return null;
    const out = await outbound(webhook, body);
    this.transformSteps += out.steps;
    return out;
  }

  /** Whether a new signed message may start: the one under way when the bound is reached goes to all its listeners. */
  maySign(): boolean {
    return this.signedSteps < SIGNING_STEPS_PER_ALARM;
  }

  /** A message signed (once, however many listeners it goes to) and sent to its first listener. */
  signed(chars: number): void {
    this.signedSteps += signingSteps(chars);
  }

  /** The same message sent to one more listener. */
  sent(chars: number): void {
    this.signedSteps += sendingSteps(chars);
  }
}

/** eventMessage's answer for an event left to the next pump: its transformation, or its signing, would start past the budget. */
const OVER_BUDGET = Symbol("over budget");

/** An event's message as serialised for the listeners that share it; `signed`: the body's length when signed (what each copy costs), else null. */
interface Message {
  text: string;
  signed: number | null;
}

/** The group of `tail` listeners: each hears an event as the same note, with nothing signed. */
const TAILS = Symbol("tails");

/** The tag of a socket's token (or the admin's, null), to count the sockets each token holds. */
function ownerTag(tokenId: string | null): string {
  return tokenId === null ? "owner:admin" : `owner:${tokenId}`;
}

/**
 * Holds the WebSockets of `edgehook listen` and `tail` (hibernating while idle)
 * and streams them events in store order. Each socket remembers the position it
 * was sent up to; on an announcement (or an alarm) the hub reads what was stored
 * after the sockets' positions, a page at a time and a few pages an alarm, and sends
 * each socket what it may hear. Reading from the store rather than trusting announcements keeps the
 * stream gap-free and lets a listener resume from any position within retention.
 */
export class ListenerHub extends DurableObject<Env> {
  private configs = new Map<string, ListenerConfig>();
  /** The ADMIN_TOKEN's fingerprint: a secret changes with a new deployment, which starts a new instance. */
  private adminKey: Promise<string | null> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Keep-alives are answered without waking the hub.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** The route hands over an authorised WebSocket upgrade with the listener's configuration. */
  async fetch(request: Request): Promise<Response> {
    let config: unknown = null;
    try {
      config = JSON.parse(request.headers.get(CONFIG_HEADER) ?? "null");
    } catch {
      // refused below
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket" || !isConfig(config)) {
      return new Response("expected a listener upgrade from the API", { status: 400 });
    }
    const refused = this.refusal(config);
    if (refused) return refused;
    const principal = principalOf(config);
    const webhook = config.webhookUid ? await getWebhook(this.env.DB, config.webhookUid) : null;
    const head = await lastEventSeq(this.env.DB);
    let position = head;
    const notices: ListenMessage[] = [];
    if (config.after !== null) {
      position = Math.min(config.after, head);
      if (config.after > head) {
        notices.push({ type: "notice", code: "position_ahead", message: "The store has nothing that far; listening from now." });
      }
    } else if (config.replay > 0) {
      position = await this.replayStart(config, principal, webhook, head);
    }

    // Counted again with no await before accepting: connections of one token racing each other all count.
    const full = this.refusal(config);
    if (full) return full;
    const { 0: client, 1: server } = new WebSocketPair();
    const at: Attachment = { id: crypto.randomUUID(), position, acceptedAt: Date.now(), ...(config.ack && { acked: position }) };
    this.ctx.acceptWebSocket(server, [config.mode, ownerTag(config.principal.tokenId)]);
    server.serializeAttachment(at);
    // Known before any await: a pump meanwhile closes an open socket it has no configuration of.
    this.configs.set(at.id, config);
    try {
      await this.ctx.storage.put(`listener:${at.id}`, config);
      await this.sweepListeners();
      send(server, {
        type: "hello",
        listenerId: at.id,
        mode: config.mode,
        position,
        secret: config.secret,
        webhookUid: config.webhookUid,
        ...(config.ack && { acks: true as const }),
      });
      for (const n of notices) send(server, n);
      // Pump now (replay or resume), and once more after isolates that thought nobody listened have asked again.
      await this.ctx.storage.put("catchUpAt", Date.now() + QUIET_MS + 500);
      await this.ctx.storage.setAlarm(Date.now());
    } catch (err) {
      // No client will hold it: closed, and counted toward no cap (its close is never answered).
      server.serializeAttachment({ ...at, swept: true });
      // (Storage may be what failed: the first error is the one thrown.)
      await this.forget(server, SEND_FAILED).catch(() => {});
      // Its other end too: left open, the close it waits on held the hub in memory.
      client.accept();
      client.close(SEND_FAILED);
      throw err;
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  /** The ingest consumer stored events. */
  async eventsStored(): Promise<ListenerCounts> {
    const counts = this.counts();
    if (counts.events > 0) await this.ctx.storage.setAlarm(Date.now());
    return counts;
  }

  /** A delivery scheduler recorded attempts; `tail` shows them (best effort, live only). */
  async attemptsRecorded(attempts: AttemptFact[]): Promise<ListenerCounts> {
    const counts = this.counts();
    if (counts.attempts > 0) {
      this.sendAttempts(attempts).catch((err) => console.error("tail: attempts not sent", { error: String(err) }));
    }
    return counts;
  }

  /** The API revoked a token: its sockets are closed now (one read of it), those waiting for an ack too. */
  async tokenRevoked(tokenId: string): Promise<ListenerCounts> {
    await this.stillAuthorised(await this.listeners(ownerTag(tokenId)));
    return this.counts();
  }

  /** The API deleted a webhook: the sockets listening as it are closed now (one read of it). */
  async webhookDeleted(uid: string): Promise<ListenerCounts> {
    await this.webhooksOf((await this.listeners()).filter((l) => l.config.webhookUid === uid));
    return this.counts();
  }

  async alarm(): Promise<void> {
    // More to read: the next alarm at once (after whatever announced meanwhile), the catch-up kept for later.
    if (await this.pump()) return this.ctx.storage.setAlarm(Date.now());
    // Read as what storage holds, not typed by get<number>: only a time is set as the alarm.
    const catchUpAt: unknown = await this.ctx.storage.get("catchUpAt");
    if (catchUpAt === undefined) return;
    if (typeof catchUpAt !== "number" || catchUpAt <= Date.now()) {
      await this.ctx.storage.delete("catchUpAt");
      return;
    }
    // One set while this ran (events stored, an ack) comes first and is kept: the catch-up, still stored, follows it.
    const set = await this.ctx.storage.getAlarm();
    if (set === null || set > catchUpAt) await this.ctx.storage.setAlarm(catchUpAt);
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (await this.acked(ws, message)) return;
    send(ws, { type: "notice", code: "unexpected_message", message: 'A listener sends nothing but "ping", and an ack if it asked to.' });
    await this.forget(ws, UNEXPECTED_MESSAGE);
  }

  /**
   * Takes a socket's ack of what it was sent up to a position (at most its position): one the
   * pump passed over for want of it is pumped at once. False when the message is no ack this
   * socket may send (it did not ask for acks, or acks past what it was sent).
   */
  private async acked(ws: WebSocket, message: string | ArrayBuffer): Promise<boolean> {
    const at: unknown = ws.deserializeAttachment();
    if (typeof message !== "string" || message.length > ACK_CHARS || !isAttachment(at) || at.acked === undefined) return false;
    let ack: unknown = null;
    try {
      ack = JSON.parse(message);
    } catch {
      return false;
    }
    if (!isAck(ack) || ack.position > at.position) return false;
    const held = at.held === true && ack.position >= at.position;
    patchAttachment(ws, { acked: Math.max(at.acked, ack.position), held: held ? undefined : at.held });
    if (held) await this.ctx.storage.setAlarm(Date.now());
    return true;
  }

  async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    await this.forget(ws, code === 1005 || code === 1006 ? 1000 : code);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    await this.forget(ws, 1011);
  }

  /**
   * Deletes up to SWEEP_KEYS stored configurations of sockets no longer open, going on from where the
   * last sweep stopped. A deploy disconnects every socket without a close event reaching the new code,
   * so their configurations would stay in storage for good, a listener's at each deploy.
   */
  private async sweepListeners(): Promise<void> {
    // Kept in storage, not memory: a hub woken from hibernation for each new socket would sweep the same first keys.
    const from: unknown = await this.ctx.storage.get(SWEPT_TO);
    const stored = await this.ctx.storage.list({ prefix: "listener:", startAfter: typeof from === "string" ? from : undefined, limit: SWEEP_KEYS });
    const open = new Set(this.ctx.getWebSockets().flatMap((ws) => {
      const at: unknown = ws.deserializeAttachment();
      return isAttachment(at) ? [`listener:${at.id}`] : [];
    }));
    const gone = [...stored.keys()].filter((k) => !open.has(k));
    if (gone.length > 0) await this.ctx.storage.delete(gone);
    const last = [...stored.keys()].at(-1);
    if (stored.size === SWEEP_KEYS && last !== undefined) await this.ctx.storage.put(SWEPT_TO, last);
    else if (from !== undefined) await this.ctx.storage.delete(SWEPT_TO); // (a write: only when there is one)
  }

  /** Closes a socket (before any await, so a caller may count again at once) and drops its configuration. */
  private async forget(ws: WebSocket, code: number, reason?: string): Promise<void> {
    try {
      ws.close(code, reason);
    } catch {
      // already closed
    }
    const at: unknown = ws.deserializeAttachment();
    if (isAttachment(at)) {
      this.configs.delete(at.id);
      await this.ctx.storage.delete(`listener:${at.id}`);
    }
  }

  /**
   * A 429 when the token, or the hub, holds as many sockets as it may. A token at its cap first
   * loses its sockets that have shown no life for SILENT_SOCKET_MS: a client that lost its network
   * reconnects without the old socket ever closing, and must not lock itself out.
   */
  private refusal(config: ListenerConfig): Response | null {
    const tag = ownerTag(config.principal.tokenId);
    if (this.ofToken(tag) >= SOCKETS_PER_TOKEN) {
      for (const ws of this.ctx.getWebSockets(tag)) {
        const at: unknown = ws.deserializeAttachment();
        if (ws.readyState !== WebSocket.OPEN || !isAttachment(at) || !this.silent(ws, at)) continue;
        ws.serializeAttachment({ ...at, swept: true });
        void this.forget(ws, SILENT, "no ping");
      }
    }
    // Every socket listed counts toward the hub's bound, closing ones too: a peer that never
    // answers a close (one closed for a message other than ping) keeps its socket listed.
    const inAll = this.ctx.getWebSockets().length;
    const refused = socketRefusal({ ofToken: this.ofToken(tag), inAll }, config.principal.tokenId === null);
    return refused && errorResponse(refused);
  }

  /**
   * What a token's sockets count for: all it has listed, closing ones included, but for those the
   * hub closed for silence (a dead peer never answers their close, and its token must be able to
   * connect again); those too past its own cap, so no token holds more than twice its cap of the
   * hub's 1,000 (one reconnecting silently every minute would otherwise fill it for everyone).
   */
  private ofToken(tag: string): number {
    const listed = this.ctx.getWebSockets(tag);
    const counted = listed.filter((ws) => {
      const at: unknown = ws.deserializeAttachment();
      return ws.readyState === WebSocket.OPEN || !(isAttachment(at) && at.swept);
    }).length;
    return Math.max(counted, listed.length - SOCKETS_PER_TOKEN);
  }

  /** Whether a socket has neither pinged nor been accepted within SILENT_SOCKET_MS (one from before acceptedAt was kept counts as alive). */
  private silent(ws: WebSocket, at: Attachment): boolean {
    const accepted = at.acceptedAt ?? Date.now();
    const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    return Date.now() - Math.max(accepted, pinged) > SILENT_SOCKET_MS;
  }

  private counts(): ListenerCounts {
    return { events: this.ctx.getWebSockets().length, attempts: this.ctx.getWebSockets("tail").length };
  }

  private async listeners(tag?: string): Promise<Listener[]> {
    const out: Listener[] = [];
    for (const ws of this.ctx.getWebSockets(tag)) {
      const at: unknown = ws.deserializeAttachment();
      if (!isAttachment(at)) continue;
      let config = this.configs.get(at.id);
      if (!config) {
        const stored = await this.ctx.storage.get(`listener:${at.id}`);
        if (!isConfig(stored)) {
          // Open without what it asked for (its acceptance failed part-way): closed, not left holding a place.
          if (ws.readyState === WebSocket.OPEN) {
            ws.serializeAttachment({ ...at, swept: true }); // counted toward no cap while its close is unanswered
            await this.forget(ws, SEND_FAILED);
          }
          continue;
        }
        config = stored;
        this.configs.set(at.id, config);
      }
      out.push({ ws, at, config, principal: principalOf(config) });
    }
    return out;
  }

  /**
   * The listeners whose token still stands (read afresh); one whose token was revoked,
   * or the admin's after ADMIN_TOKEN changed, is told and closed.
   */
  private async stillAuthorised(listeners: Listener[]): Promise<Listener[]> {
    const tokenIds = listeners.flatMap((l) => (l.config.principal.tokenId === null ? [] : [l.config.principal.tokenId]));
    const live = await liveTokenIds(this.env.DB, [...new Set(tokenIds)]);
    const admin = listeners.some((l) => l.config.principal.tokenId === null) ? await (this.adminKey ??= adminKey(this.env)) : null;
    const out: Listener[] = [];
    for (const l of listeners) {
      const { tokenId, adminKey: connectedAs } = l.config.principal;
      // (A listener from before fingerprints were kept has none: it stays.)
      const stands = tokenId === null ? connectedAs === undefined || connectedAs === admin : live.has(tokenId);
      if (stands) {
        out.push(l);
        continue;
      }
      send(l.ws, { type: "notice", code: "token_revoked", message: "The token this listener connected with was revoked or changed." });
      await this.forget(l.ws, CLOSE_CODES.tokenRevoked);
    }
    return out;
  }

  /** The webhooks listeners act as, read afresh; a listener whose webhook is gone is told and closed. */
  private async webhooksOf(listeners: Listener[]): Promise<{ live: Listener[]; webhooks: Map<string, Webhook> }> {
    // One read for them all, however many webhooks the sockets listen as.
    const uids = [...new Set(listeners.flatMap((l) => (l.config.webhookUid === null ? [] : [l.config.webhookUid])))];
    const webhooks = new Map((await webhooksByUid(this.env.DB, uids)).map((w) => [w.uid, w]));
    const live: Listener[] = [];
    for (const l of listeners) {
      const uid = l.config.webhookUid;
      if (uid === null || webhooks.has(uid)) {
        live.push(l);
      } else {
        send(l.ws, { type: "notice", code: "webhook_gone", message: `The webhook ${uid} was deleted.` });
        await this.forget(l.ws, CLOSE_CODES.webhookGone);
      }
    }
    return { live, webhooks };
  }

  /**
   * Sends listeners what was stored after their positions, in store order, a page at a
   * time: at most PAGES_PER_ALARM pages an alarm, the listeners least behind first (those
   * within a page of each other sharing a read), each
   * sent at most PAGES_PER_SOCKET pages, so a catch-up from far back never holds up the
   * live listeners. A listener stops before an event whose webhook transformation, or whose
   * signing, would start past the alarm's budget (AlarmBudget); one that acks, after the message
   * that took its run to RUN_BYTES. Answers whether some listener has more to read.
   */
  private async pump(): Promise<boolean> {
    // Every socket checked, those waiting for an ack too: a revocation the API failed to tell the hub of closes them here.
    const checked = await this.webhooksOf(await this.stillAuthorised(await this.listeners()));
    const all = checked.live;
    // A socket that acks is sent a run of pages only once it acked the last: the others wait for their ack.
    const listeners = all.filter((l) => l.at.acked === undefined || l.at.acked >= l.at.position);
    // Marked held as the attachment is now (no await between the read and the write): one whose
    // ack came while this pump read its listeners saw no mark, so it is pumped by the next alarm.
    let ackedMeanwhile = false;
    for (const l of all) {
      if (listeners.includes(l)) continue;
      const now: unknown = l.ws.deserializeAttachment();
      if (isAttachment(now) && now.acked !== undefined && now.acked >= now.position) ackedMeanwhile = true;
      else patchAttachment(l.ws, { held: true });
    }
    const started = new Map(listeners.map((l) => [l, l.at.position]));
    const pages = new Map<Listener, number>();
    const atEnd = new Set<Listener>();
    const closed = new Set<Listener>();
    const stopped = new Set<Listener>();
    const budget = new AlarmBudget();
    /** What each socket that acks was sent in this run (its pump), in bytes. */
    const runBytes = new Map<Listener, number>();
    /** What the first page goes by: just checked above. */
    let fresh: Map<string, Webhook> | null = checked.webhooks;
    try {
      for (let reads = 0; reads < PAGES_PER_ALARM; ) {
        const waiting = listeners.filter((l) => !closed.has(l) && !atEnd.has(l) && !stopped.has(l) && (pages.get(l) ?? 0) < PAGES_PER_SOCKET);
        if (waiting.length === 0) break;
        // The listeners within a page of the one least behind share one read from the lowest of them:
        // a full page then takes each of them past its position, so none waits behind the others.
        const top = Math.max(...waiting.map((l) => l.at.position));
        const due = waiting.filter((l) => top - l.at.position < PAGE);
        // Read afresh before each page: a token revoked, or a webhook deleted, during a catch-up is closed before the next page.
        const { live, webhooks } = fresh ? { live: due, webhooks: fresh } : await this.webhooksOf(await this.stillAuthorised(due));
        fresh = null;
        const stands = new Set(live);
        for (const l of due) if (!stands.has(l)) closed.add(l);
        if (live.length === 0) continue;
        const page = await eventsAfter(this.env.DB, Math.min(...live.map((l) => l.at.position)), PAGE);
        reads++;
        for (const l of live) {
          pages.set(l, (pages.get(l) ?? 0) + 1);
          if (page.length < PAGE) atEnd.add(l);
        }
        if (page.length === 0) continue;
        const webhookOf = (l: Listener) => (l.config.webhookUid === null ? null : (webhooks.get(l.config.webhookUid) ?? null));
        const heard = live.map((l) => ({ l, events: page.filter((e) => e.seq > l.at.position && hears(l.config, l.principal, e, webhookOf(l))) }));
        const withBodies = new Set(heard.flatMap(({ l, events }) => (l.config.mode === "listen" ? events.map((e) => e.id) : [])));
        const bodies = await eventContents(this.env.DB, [...withBodies]);
        const ended = await this.sendPage(page, heard, bodies, webhookOf, budget, runBytes);
        for (const l of ended.closed) closed.add(l);
        for (const l of ended.stopped) stopped.add(l);
      }
    } finally {
      // Told even when the alarm throws part-way: a socket that acks (the CLI's) acks only a
      // position, and is sent nothing more until it does.
      for (const l of listeners) {
        if (!closed.has(l) && l.at.position !== started.get(l)) send(l.ws, { type: "position", position: l.at.position });
      }
    }
    return ackedMeanwhile || listeners.some((l) => !closed.has(l) && (stopped.has(l) || !atEnd.has(l)));
  }

  /**
   * Sends listeners the events each hears of a page, event by event in store order, and moves
   * each one's position on past each event as it is done with it (sent, or not for it), so an
   * alarm that throws part-way (D1, a signing error) keeps what went out and the next sends none
   * of it again. The listeners that would be sent the same message of an event share it: those as
   * one webhook (its transformation run once, signed once with its secret, at one timestamp), those
   * with one secret of their own, and every `tail` listener. Once the alarm's budget is spent, a
   * group whose message would need a new run, or a signature, stops there, each of its listeners
   * just before the event (`stopped`); the message under way when it is spent goes to its whole
   * group, so no listener of a webhook is sent another run of its transformation for that event by
   * the next alarm. A socket that acks whose run reached RUN_BYTES with a message (`runBytes`,
   * carried from page to page) stops just after it (`stopped`, its position that event's): the rest
   * waits for its ack. One whose send fails is closed with its position left where the page began
   * (`closed`), so it is never past an event it did not get: the client resumes from what it received.
   */
  private async sendPage(
    page: ListenEvent[],
    heard: { l: Listener; events: ListenEvent[] }[],
    bodies: Map<string, EventContent>,
    webhookOf: (l: Listener) => Webhook | null,
    budget: AlarmBudget,
    runBytes: Map<Listener, number>,
  ): Promise<{ closed: Set<Listener>; stopped: Set<Listener> }> {
    const closed = new Set<Listener>();
    const stopped = new Set<Listener>();
    const upTo = new Map(heard.map(({ l }) => [l, l.at.position]));
    const going = (l: Listener) => !closed.has(l) && !stopped.has(l);
    const hearing = heard.map(({ l, events }) => ({ l, ids: new Set(events.map((e) => e.id)) }));
    // What decides a listener's message of an event (a listen one without a secret hears nothing: alone).
    const groupOf = (l: Listener) => (l.config.mode === "tail" ? TAILS : (webhookOf(l) ?? (l.config.secret === null ? l : `secret ${l.config.secret}`)));
    try {
      for (const e of page) {
        const groups = new Map<Webhook | Listener | string | typeof TAILS, Listener[]>();
        for (const { l, ids } of hearing) {
          if (!ids.has(e.id) || !going(l)) continue;
          const key = groupOf(l);
          const members = groups.get(key);
          if (members) members.push(l);
          else groups.set(key, [l]);
        }
        for (const group of groups.values()) {
          const first = group[0]!;
          const message = await this.eventMessage(first, e, bodies.get(e.id), webhookOf(first), budget);
          /** The message's size as sent, measured once for the sockets of the group that ack. */
          let bytes: number | undefined;
          for (const l of group) {
            if (message === OVER_BUDGET) {
              // Positions are whole numbers: the next read, after this one, starts at this event.
              upTo.set(l, e.seq - 1);
              stopped.add(l);
              continue;
            }
            if (message !== null && l !== first && message.signed !== null) budget.sent(message.signed);
            if (message !== null && !sendText(l.ws, message.text)) {
              closed.add(l);
              await this.forget(l.ws, SEND_FAILED);
            } else {
              upTo.set(l, e.seq);
              if (message === null || l.at.acked === undefined) continue;
              bytes ??= utf8Length(message.text);
              const sent = (runBytes.get(l) ?? 0) + bytes;
              runBytes.set(l, sent);
              // Its run is full: the rest, after this event, once it acks.
              if (sent >= RUN_BYTES) stopped.add(l);
            }
          }
        }
        // Done with this event: those that do not hear it are past it too.
        for (const [l, at] of upTo) if (going(l)) upTo.set(l, Math.max(at, e.seq));
      }
    } finally {
      for (const [l, position] of upTo) {
        if (closed.has(l)) continue;
        l.at.position = position;
        // Written over the attachment as it is now: an ack taken meanwhile stays. (A socket closed
        // meanwhile keeps the attachment its close wrote: whether it was swept.)
        if (l.ws.readyState === WebSocket.OPEN) patchAttachment(l.ws, { position });
      }
    }
    return { closed, stopped };
  }

  /** What `l`, and every listener in its group (sendPage), is sent of an event; null: nothing. */
  private async eventMessage(
    l: Listener,
    e: ListenEvent,
    content: EventContent | undefined,
    webhook: Webhook | null,
    budget: AlarmBudget,
  ): Promise<Message | null | typeof OVER_BUDGET> {
    const note: EventNote = {
      type: "event",
      position: e.seq,
      id: e.id,
      eventType: e.eventType,
      sourceId: e.sourceId,
      locationUid: e.locationUid,
      organizationUid: e.organizationUid,
      receivedAt: iso(e.receivedAt),
    };
    const unsigned = (m: EventNote): Message => ({ text: JSON.stringify(m), signed: null });
    if (l.config.mode === "tail") return unsigned(note);
    if (content === undefined) return null; // purged meanwhile
    if (!admitsContent(webhook, e, content)) return null;
    const body = content.body;
    const secret = webhook?.secret ?? l.config.secret;
    if (!secret) return null;
    // Asked before the transformation: one it ran would be run again by the next alarm.
    if (!budget.maySign()) return OVER_BUDGET;
    // As a webhook: what its delivery would send, transformed and signed as sent.
    const out = webhook ? await budget.outbound(webhook, body) : { ok: true as const, body, headers: {} };
    if (out === null) return OVER_BUDGET;
    if (!out.ok) return unsigned({ ...note, transformError: out.reason });
    budget.signed(out.body.length);
    const headers = await deliveryHeaders({ secret, previousSecret: webhook?.previousSecret, eventId: e.id, eventType: e.eventType, body: out.body, attempt: 1 }, Date.now());
    // A credential header's value is for the webhook's endpoint, not for whoever listens.
    return { text: JSON.stringify({ ...note, headers: { ...redactHeaders(out.headers), ...headers }, body: out.body }), signed: out.body.length };
  }

  /** Finds the position before the last `replay` events the listener hears, looking back a bounded way. */
  private async replayStart(c: ListenerConfig, p: Principal, webhook: Webhook | null, head: number): Promise<number> {
    let upTo = head;
    let found = 0;
    let start = head;
    for (let scanned = 0; scanned < REPLAY_SCAN_ROWS && upTo > 0; ) {
      const page = await eventsUpTo(this.env.DB, upTo, 100);
      const oldest = page[page.length - 1];
      if (!oldest) break;
      const heard = page.filter((e) => hears(c, p, e, webhook));
      // As a webhook, those stored before it existed count only if its filter admits them (what the pump sends).
      const unrouted = webhook?.filter ? heard.filter((e) => e.receivedAt < webhook.createdAt) : [];
      const contents = c.mode === "listen" ? await eventContents(this.env.DB, unrouted.map((e) => e.id)) : new Map<string, EventContent>();
      for (const e of heard) {
        const content = contents.get(e.id);
        if (content && !admitsContent(webhook, e, content)) continue;
        start = e.seq - 1;
        if (++found === c.replay) return start;
      }
      scanned += page.length;
      upTo = oldest.seq - 1;
    }
    return start;
  }

  private async sendAttempts(attempts: AttemptFact[]): Promise<void> {
    const tails = (await this.webhooksOf(await this.stillAuthorised(await this.listeners("tail")))).live;
    if (tails.length === 0) return;
    const context = await deliveryContext(this.env.DB, [...new Set(attempts.map((a) => a.deliveryId))]);
    // A limited token hears only the attempts of webhooks inside its grant, as the API shows them.
    const webhooks = [...context.values()].map((c) => c.webhook);
    const granted = new Map(
      await Promise.all(tails.map(async (l) => [l, new Set((await grantedWebhooks(this.env.DB, l.principal, webhooks)).map((w) => w.uid))] as const)),
    );
    for (const a of attempts) {
      const ctx = context.get(a.deliveryId);
      if (!ctx) continue;
      const note: AttemptNote = {
        type: "attempt",
        deliveryId: a.deliveryId,
        eventId: ctx.event.id,
        eventType: ctx.event.eventType,
        webhookUid: ctx.webhook.uid,
        number: a.number,
        status: a.status,
        statusCode: a.statusCode,
        durationMs: a.durationMs,
        error: a.error,
        startedAt: iso(a.startedAt),
      };
      for (const l of tails) {
        if (l.config.webhookUid !== null && l.config.webhookUid !== ctx.webhook.uid) continue;
        if (!granted.get(l)?.has(ctx.webhook.uid)) continue;
        if (hears(l.config, l.principal, ctx.event, null)) send(l.ws, note);
      }
    }
  }
}
