// The history slider's arithmetic: a slider of `steps` positions spans a device's life from its
// first event to now; each position is an instant the point-in-time API is asked about. Pure.

/** The instant (milliseconds) at slider `position` of `steps`, from `fromMs` to `toMs`. */
export function instantAt(position, steps, fromMs, toMs) {
  if (steps <= 0 || toMs <= fromMs) return toMs;
  const clamped = Math.min(Math.max(position, 0), steps);
  return Math.round(fromMs + ((toMs - fromMs) * clamped) / steps);
}

