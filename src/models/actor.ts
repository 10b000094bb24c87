import type { Role, StaffRole } from '../db/schema.js';

/** Who is acting: a signed-in person or an API token. Carries what audit and scoping need. */
export type Actor =
  | { type: 'user'; id: number; name: string; role: Role; clientId: number | null; ip: string | null }
  | { type: 'token'; id: number; name: string; role: StaffRole; clientId: null; ip: string | null };

export const isStaff = (a: Pick<Actor, 'role'>) => a.role === 'admin' || a.role === 'support';

/** The client a viewer is confined to, or null for staff who see every client. */
export const scopeClientId = (a: Pick<Actor, 'role' | 'clientId'>): number | null =>
  a.role === 'client' ? a.clientId : null;
