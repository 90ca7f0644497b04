/**
 * IANA time-zone arithmetic on top of Intl (no tz database of our own). Wall times are plain
 * numbers; instants are epoch milliseconds.
 */

export interface WallTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Throws RangeError for an unknown zone. "UTC", "" and "Local" behave as Go's LoadLocation. */
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      weekday: "short",
    });
    formatters.set(zone, f);
  }
  return f;
}

export function normalizeZone(zone: string | undefined): string {
  if (!zone || zone === "UTC" || zone === "Local") return "UTC";
  return zone;
}

export function isValidZone(zone: string): boolean {
  try {
    formatter(normalizeZone(zone));
    return true;
  } catch {
    return false;
  }
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

export function wallTime(instantMs: number, zone: string): WallTime {
  const z = normalizeZone(zone);
  if (z === "UTC") {
    const d = new Date(instantMs);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      weekday: d.getUTCDay(),
    };
  }
  const parts = formatter(z).formatToParts(new Date(instantMs));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "0";
  return {
    year: Number(get("year")),
    month: Number(get("month")),
    day: Number(get("day")),
    hour: Number(get("hour")),
    minute: Number(get("minute")),
    second: Number(get("second")),
    weekday: WEEKDAYS[get("weekday")] ?? 0,
  };
}

/** UTC offset of `zone` at `instantMs`, in ms (east positive). */
export function zoneOffsetMs(instantMs: number, zone: string): number {
  const w = wallTime(instantMs, zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(instantMs / 1000) * 1000;
}

/**
 * The instant(s) at which `zone` shows the given wall time: [] inside a DST gap, two at a repeated
 * hour (earlier first), one otherwise.
 */
export function wallToInstants(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  zone: string,
): number[] {
  const naive = Date.UTC(year, month - 1, day, hour, minute, second);
  const candidates = new Set<number>();
  // Offsets in effect a day either side cover every real transition.
  for (const probe of [naive - 86_400_000, naive, naive + 86_400_000]) {
    candidates.add(naive - zoneOffsetMs(probe, zone));
  }
  return [...candidates]
    .filter((t) => {
      const w = wallTime(t, zone);
      return (
        w.year === year &&
        w.month === month &&
        w.day === day &&
        w.hour === hour &&
        w.minute === minute &&
        w.second === second
      );
    })
    .sort((a, b) => a - b);
}

/**
 * Go's time.Date in a location: a wall time in a DST gap is moved forward by the gap (02:30 in a
 * 02:00->03:00 gap becomes 03:30); a repeated one takes the first (earlier) instant.
 */
export function wallToInstant(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  zone: string,
): number {
  const found = wallToInstants(year, month, day, hour, minute, second, zone);
  if (found.length > 0) return found[0]!;
  const naive = Date.UTC(year, month - 1, day, hour, minute, second);
  // In a gap: use the offset before the transition.
  return naive - zoneOffsetMs(naive - 86_400_000, zone);
}
