// The events indexes by location and organization (migrations 0024, 0025), as the drivers a
// bounded scan walks: the lists by location or organization, and a limited token's events.
import type { BlockDriver } from "./scan";

export const byLocation = (id: number): BlockDriver => ({ index: "events_location_block", where: `location = ${id}` });
export const byOrganization = (id: number): BlockDriver => ({ index: "events_organization_block", where: `organization = ${id}` });
