// What the audit page's Action filter suggests: every event name core writes (core's own list, imported as it is,
// so a new one is suggested without touching the console), then the permissions refusals are recorded under.

import { AUDITED_ACTIONS, PERMISSION_NAMES } from '../../src/core/audit-actions.ts';

export const ACTION_SUGGESTIONS: readonly string[] = [...[...AUDITED_ACTIONS].sort(), ...[...PERMISSION_NAMES].sort()];
