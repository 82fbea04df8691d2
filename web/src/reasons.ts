// Reason codes from the API (a denial's details.reasons, a request's reasons) in plain words: what
// happened, and what to do next. Unknown codes fall back to the server's own message.

export interface Explained {
  code: string;
  text: string;
}

const REASONS: Record<string, string> = {
  // activation
  unknown_principal: 'Elevate does not know your account. Ask an administrator to add you.',
  principal_suspended: 'Your account is suspended, so you cannot activate roles. Ask an administrator.',
  groups_cannot_activate: 'A group cannot activate a role; its members do, one by one.',
  unknown_role: 'This role does not exist (any more).',
  not_eligible: 'You are not eligible for this role at this scope. Pick a scope your eligibility covers, or ask an administrator for an eligibility.',
  eligibility_ends_before_start: 'Your eligibility ends before the access would start. Ask for your eligibility to be renewed.',
  assignment_not_active: 'This grant is no longer active, so it cannot be extended. Activate the role again.',
  not_extendable: 'Only grants you activated yourself can be extended.',
  duration_too_short: 'The duration is shorter than Elevate allows. Choose a longer one.',
  duration_exceeds_max: "The duration is longer than this role's maximum. Choose a shorter one.",
  invalid_duration: 'The duration is not valid. Choose one of the offered durations.',
  justification_required: 'A justification is required: say why you need this access.',
  justification_too_weak: 'The justification is too short or says nothing. Say why you need it, for example the incident or change you are working on.',
  ticket_required: 'This role needs a ticket number.',
  ticket_invalid: "The ticket number does not have the form this role expects. Check the role's rules above.",
  outside_activation_window: 'This role cannot be activated at this time of day or week. Try again inside its activation window.',
  start_in_past: 'The start time is in the past.',
  start_too_far_ahead: 'The start time is too far ahead.',
  insufficient_approvers: 'Not enough people can approve this request right now, so it cannot be asked for. Ask an administrator to check who approves this role.',
  device_compliance_unknown: 'Elevate does not know whether your device is compliant. Sign in through your identity provider from a managed device.',
  device_not_compliant: 'Your device is not marked compliant. Use a device your organisation manages.',
  sign_in_risk_unknown: 'Elevate does not know how risky your sign-in is. Sign in through your identity provider.',
  sign_in_risk_too_high: 'Your sign-in was rated too risky. Sign in again from a trusted place.',
  network_not_allowed: 'You are connecting from a network this role does not allow. Connect through an allowed network (for example the VPN).',
  mfa_required: 'This needs a fresh multi-factor verification (a passkey, or an authenticator code where the role accepts one).',
  mfa_too_weak: 'This needs a passkey or security key; an authenticator code is not enough.',
  // approval and the life of a request
  approver_denied: 'An approver denied the request.',
  approval_timeout: 'Nobody decided in time, so the request lapsed. Ask again if you still need it.',
  request_timed_out: 'The request lapsed before it was decided.',
  request_not_pending: 'This request is no longer waiting for a decision.',
  self_approval: 'You cannot decide your own request.',
  not_an_approver: 'You are not one of the approvers of this request.',
  already_decided: 'You have already decided this request.',
  stage_not_reached: 'This request has not reached your approval stage yet.',
  admin_unit_missing: 'This role needs approvers from different administrative units, and your account has none set.',
  admin_unit_already_counted: 'Someone from your administrative unit already approved; the next approval must come from another unit.',
  reason_required: 'Give a reason for your decision.',
  role_deleted: 'The role was deleted, so the request was closed.',
  principal_deleted: 'The account was deleted, so the request was closed.',
  eligibility_removed: 'The eligibility was removed, so the access ended.',
  not_requester: 'Only the person who asked can cancel a request.',
  // renewing an eligibility
  not_yours: 'Only the person who holds an eligibility can ask to renew it. One you hold through a group is renewed by an administrator: ask them.',
  not_expiring: 'This eligibility cannot be renewed now: renewal opens 14 days before it ends, and one with no end date needs none.',
  renewal_pending: 'A renewal of this eligibility is already waiting for an administrator.',
  renewal_not_pending: 'This renewal request has already been decided or withdrawn.',
  // access reviews, standing access, rollout
  self_review: 'You cannot review your own access: another reviewer decides it.',
  not_reviewer: 'You are not a reviewer of this item.',
  review_closed: 'This review has ended, so decisions can no longer be recorded.',
  rollout_enforced: 'This role is enforced just-in-time: new direct assignments are refused. Make the person eligible instead.',
  not_convertible: 'This standing access cannot be converted to an eligibility here.',
  already_converted: 'This standing access was converted already.',
  review_not_started: 'This campaign has not started yet.',
  // alerts
  note_required: 'Write a note: what you found or did.',
  alert_acknowledged: 'Someone has already acknowledged this alert.',
  alert_resolved: 'This alert is already resolved.',
  // SIEM export
  replay_failed: 'The output refused these events again. They stay in the list; check the output (see its last error) and try again later.',
  sink_not_configured: 'This output is no longer configured on this server, so its events cannot be sent again.',
  // sign-in and MFA
  invalid_credentials: 'The user name or password is wrong.',
  mfa_invalid_code: 'That code is wrong. Check your authenticator app and try again.',
  mfa_code_replayed: 'That code was used already. Wait for the next one.',
  mfa_challenge_invalid: 'The passkey check took too long. Try again.',
  mfa_invalid_credential: 'That passkey is not registered to you.',
  mfa_user_not_verified: 'Your authenticator did not verify you (PIN or fingerprint). Try again.',
  webauthn_not_enrolled: 'You have no passkey registered yet. Register one first, or use an authenticator code if this role accepts it.',
  totp_not_enrolled: 'You have no authenticator app set up. Use your passkey instead.',
  mfa_not_enrolled: 'You have no second factor set up yet.',
  session_expired: 'Your session ended. Sign in again.',
  invalid_session: 'You are signed out. Sign in again.',
  csrf_failed: 'The page lost its sign-in. Reload it and try again.',
  unauthenticated: 'You are signed out. Sign in again.',
  not_admin: 'This needs the elevate-admin role.',
  not_found: 'It no longer exists.',
};

export function explain(code: string, fallback?: string): Explained {
  return { code, text: REASONS[code] ?? fallback ?? code.replace(/_/g, ' ') };
}

/** The reasons of an API error (details.reasons, else its code), each in plain words. */
export function explainError(e: { code: string; message: string; details?: Record<string, unknown> }): Explained[] {
  const raw = e.details?.reasons;
  const codes = Array.isArray(raw) && raw.length > 0 ? raw.filter((x): x is string => typeof x === 'string') : [e.code];
  return codes.map((c) => explain(c, codes.length === 1 ? capitalize(e.message) : undefined));
}

const capitalize = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.') : s);

export const STATUS_WORDS: Record<string, string> = {
  pending_approval: 'Waiting for approval',
  approved: 'Approved',
  scheduled: 'Scheduled',
  active: 'Active',
  expired: 'Expired',
  deactivated: 'Ended early',
  revoked: 'Revoked',
  denied: 'Denied',
  cancelled: 'Cancelled',
  timed_out: 'Lapsed',
  activation_failed: 'Could not be activated',
};

export const statusWords = (s: string) => STATUS_WORDS[s] ?? s.replace(/_/g, ' ');
