// Whose the deliveries are (migration 0038): `delivery_webhooks` rows, positions packed by key
// (packed.ts), holding for each webhook (names.id) the offsets (seq − first) of the range's
// deliveries to it. A webhook's lists walk them newest first (scan.ts), a bulk retry oldest
// first (delivery-retry.ts): one row written per insert group instead of an index entry by
// (webhook, seq) per delivery.
import { insertPackedSql, type PackedDriver, type Packing } from "./packed";

export const DELIVERY_WEBHOOKS: Packing = { table: "delivery_webhooks", source: "deliveries", columns: [{ stored: "webhooks", key: "webhook" }] };

/**
 * The webhooks of the group the INSERT INTO deliveries just before it stored (?1 deliveries
 * given, stored before or not; one filtered out takes no position): insertPackedSql.
 */
export const INSERT_DELIVERY_WEBHOOKS = insertPackedSql(DELIVERY_WEBHOOKS);

/** A scan.ts driver along the packed rows of these webhooks (names.id the store holds). */
export const byWebhooks = (ids: number[]): PackedDriver => ({ packing: DELIVERY_WEBHOOKS, ids: [ids] });
