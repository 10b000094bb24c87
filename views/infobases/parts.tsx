import type { Infobase, LockState } from '../../src/models/infobases.js';
import type { PageContext } from '../page-context.js';

function LockIcon(props: { state: LockState }) {
  const { state } = props;
  // A closed padlock when in force, an open one when not, a clock when waiting for its start.
  if (state === 'scheduled') {
    return (
      <svg class="lock-icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
        <circle cx="8" cy="8" r="6.2" fill="none" stroke="currentColor" stroke-width="1.6" />
        <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" stroke-width="1.6" />
      </svg>
    );
  }
  const closed = state === 'active';
  return (
    <svg class="lock-icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
      <rect x="3" y="7" width="10" height="7.5" rx="1.2" fill="currentColor" />
      <path d={closed ? 'M5 7V5a3 3 0 0 1 6 0v2' : 'M5 7V5a3 3 0 0 1 5.8-1'} fill="none" stroke="currentColor" stroke-width="1.6" />
    </svg>
  );
}

/**
 * The lock state as an icon and words, coloured by how much it matters: in force, waiting, over, none.
 * A lock that refuses only background jobs (denySessions off) lets users in: it says so, in amber, not red.
 */
export function LockBadge(props: { ctx: PageContext; infobase: { lock: (Pick<NonNullable<Infobase['lock']>, 'state'> & { denySessions?: boolean }) | null } }) {
  const { t } = props.ctx;
  const state: LockState = props.infobase.lock?.state ?? 'none';
  const jobsOnly = props.infobase.lock?.denySessions === false && (state === 'active' || state === 'scheduled');
  return (
    <span class={`lock-badge lock-${state}${jobsOnly ? ' lock-background' : ''}`}>
      <LockIcon state={state} />
      {t(jobsOnly ? `infobases.lock_state.${state as 'active' | 'scheduled'}_background` : `infobases.lock_state.${state}`)}
    </span>
  );
}
