import { randomUUID } from "node:crypto";
import { EventsError } from "../errors.js";
import { validValueEnd } from "../lib/gjson.js";
import { isoMillis } from "../lib/iso-time.js";

/**
 * A CloudEvent 1.0 as sensorbus carries it. `data` is the event data **as text, byte for byte** as
 * the producer wrote it (Argo keeps the raw bytes; parameters that copy a whole object must reproduce
 * its exact spacing), or undefined when the event has no data.
 */
export interface CloudEvent {
  specversion: "1.0";
  /** 32 lower-case hex chars when minted here; an inbound CloudEvent's own id otherwise. */
  id: string;
  /** EventSource name. */
  source: string;
  /** Event name (the key under spec.<type>). */
  subject: string;
  /** EventSource type: webhook, pubsub, calendar, resource. */
  type: string;
  /** RFC 3339 time of dispatch. */
  time: string;
  datacontenttype: string;
  data?: string | undefined;
  /** Extension attributes (sensorbus additions; Argo sets none): correlationid, traceparent, ... */
  extensions?: Record<string, string> | undefined;
}

/** The seven context attributes Argo exposes to sensors (filters, contextKey). */
export interface EventContext {
  id: string;
  source: string;
  specversion: string;
  type: string;
  datacontenttype: string;
  subject: string;
  time: string;
}

/** Argo's event id: the 16 bytes of a random UUID as 32 lower-case hex chars. */
export function newEventId(): string {
  return randomUUID().replaceAll("-", "");
}

/** Current time as RFC 3339 UTC with nanoseconds, as Go's time.RFC3339Nano prints it. */
export function nowRfc3339Nano(date: Date = new Date()): string {
  return rfc3339Millis(date.getTime());
}

let lastIso = "";
let lastText = "";
/** {@link nowRfc3339Nano} of a time in ms since the epoch; formatted once per millisecond. */
export function rfc3339Millis(ms: number): string {
  const iso = isoMillis(ms); // 2024-05-15T12:00:00.120Z
  if (iso !== lastIso) {
    let end = 23;
    while (end > 20 && iso.charCodeAt(end - 1) === 0x30) end--;
    lastText = `${iso.slice(0, end === 20 ? 19 : end)}Z`;
    lastIso = iso;
  }
  return lastText;
}

export function isJsonContentType(ct: string | undefined): boolean {
  if (!ct || ct === "application/json") return true;
  const media = ct.split(";")[0]!.trim().toLowerCase();
  return media === "application/json" || media === "text/json" || media.endsWith("+json");
}

const RESERVED = new Set([
  "specversion",
  "id",
  "source",
  "subject",
  "type",
  "time",
  "datacontenttype",
  "data",
  "data_base64",
  "dataschema",
]);

/**
 * Structured-mode JSON. JSON data is embedded verbatim (no re-encoding, so its bytes survive the
 * bus), anything else travels as data_base64.
 */
export function encodeStructured(ev: CloudEvent): string {
  let out = `{"specversion":"1.0","id":${JSON.stringify(ev.id)},"source":${JSON.stringify(ev.source)},"type":${JSON.stringify(ev.type)},"subject":${JSON.stringify(ev.subject)},"datacontenttype":${JSON.stringify(ev.datacontenttype)},"time":${JSON.stringify(ev.time)}`;
  if (ev.extensions) {
    for (const [k, v] of Object.entries(ev.extensions))
      out += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
  }
  if (ev.data !== undefined) {
    if (isJsonContentType(ev.datacontenttype) && ev.data.length > 0) out += `,"data":${ev.data}`;
    else out += `,"data_base64":"${Buffer.from(ev.data, "utf8").toString("base64")}"`;
  }
  return `${out}}`;
}

/**
 * Parses a structured-mode CloudEvent, keeping the `data` member's text exactly as written.
 * Throws EventsError(SB_ERR_CLOUDEVENT_INVALID) naming the problem.
 */
export function decodeStructured(text: string): CloudEvent {
  const members = scanTopLevelMembers(text);
  const attr = (name: string): unknown => {
    const span = members.get(name);
    return span === undefined ? undefined : parseJson(text.slice(span[0], span[1]));
  };
  const str = (name: string, required: boolean): string | undefined => {
    const v = attr(name);
    if (v === undefined || v === null) {
      if (required) throw invalid(`missing required attribute '${name}'`);
      return undefined;
    }
    if (typeof v !== "string") throw invalid(`attribute '${name}' must be a string`);
    return v;
  };
  const specversion = str("specversion", true);
  if (specversion !== "1.0") throw invalid(`unsupported specversion '${specversion}'`);
  const datacontenttype = str("datacontenttype", false) ?? "application/json";
  let data: string | undefined;
  const dataSpan = members.get("data");
  const b64 = str("data_base64", false);
  let checked = false;
  if (dataSpan) {
    const raw = text.slice(dataSpan[0], dataSpan[1]);
    if (raw === "null") data = undefined;
    else if (!isJsonContentType(datacontenttype) && raw.startsWith('"'))
      data = parseJson(raw) as string;
    else {
      data = raw;
      checked = true; // the scan validated it
    }
  } else if (b64 !== undefined) {
    data = Buffer.from(b64, "base64").toString("utf8");
  }
  // No prototype: an extension named `__proto__` is kept as an ordinary attribute.
  const extensions = Object.create(null) as Record<string, string>;
  let hasExt = false;
  for (const key of members.keys()) {
    if (RESERVED.has(key)) continue;
    const v = attr(key);
    if (v === undefined || v === null) continue;
    extensions[key] = typeof v === "string" ? v : JSON.stringify(v);
    hasExt = true;
  }
  const event: CloudEvent = {
    specversion: "1.0",
    id: str("id", true)!,
    source: str("source", true)!,
    subject: str("subject", false) ?? "",
    type: str("type", true)!,
    time: str("time", false) ?? "",
    datacontenttype,
    data,
    extensions: hasExt ? extensions : undefined,
  };
  if (checked) markJsonData(event);
  return event;
}

/** Events whose `data` text is known to be valid JSON, with the text that was checked. */
const jsonData = new WeakMap<CloudEvent, string>();

/** Records that `ev.data` is valid JSON (parsed once already), so it need not be parsed again. */
export function markJsonData(ev: CloudEvent): void {
  if (ev.data !== undefined) jsonData.set(ev, ev.data);
}

/** Whether `ev.data` (as it is now) was recorded as valid JSON by {@link markJsonData}. */
export function isKnownJsonData(ev: CloudEvent): boolean {
  return ev.data !== undefined && jsonData.get(ev) === ev.data;
}

export function eventContext(ev: CloudEvent): EventContext {
  return {
    id: ev.id,
    source: ev.source,
    specversion: ev.specversion,
    type: ev.type,
    datacontenttype: ev.datacontenttype,
    subject: ev.subject,
    time: ev.time,
  };
}

/** JSON.parse whose SyntaxError becomes SB_ERR_CLOUDEVENT_INVALID (found by fuzzing). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalid(`malformed JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function invalid(msg: string): EventsError {
  return new EventsError("SB_ERR_CLOUDEVENT_INVALID", `invalid CloudEvent: ${msg}`);
}

/**
 * Finds the value span [start, end) of every member of a top-level JSON object without building
 * the values: each value is validated in the same pass (gjson's validator, RFC 8259), so `data`
 * is known to be JSON without a JSON.parse; the attribute values are then parsed one by one.
 */
export function scanTopLevelMembers(text: string): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  let i = skipWs(text, 0);
  if (text[i] !== "{") throw invalid("not a JSON object");
  i = skipWs(text, i + 1);
  if (text[i] === "}") return out;
  for (;;) {
    if (text[i] !== '"') throw invalid(`expected a member name at offset ${i}`);
    const keyEnd = skipString(text, i);
    const key = memberName(text, i, keyEnd);
    i = skipWs(text, keyEnd);
    if (text[i] !== ":") throw invalid(`expected ':' at offset ${i}`);
    i = skipWs(text, i + 1);
    const valueEnd = validValueEnd(text, i);
    if (valueEnd < 0) throw invalid(`malformed JSON: member '${key}' at offset ${i}`);
    out.set(key, [i, valueEnd]);
    i = skipWs(text, valueEnd);
    if (text[i] === ",") {
      i = skipWs(text, i + 1);
      continue;
    }
    if (text[i] === "}") {
      if (skipWs(text, i + 1) !== text.length)
        throw invalid("trailing characters after the object");
      return out;
    }
    throw invalid(`expected ',' or '}' at offset ${i}`);
  }
}

/** The attribute names encodeStructured writes, by length: read without parsing when plain. */
const KNOWN_NAMES = new Map<number, string[]>();
for (const name of [...RESERVED, "correlationid", "traceparent", "tracestate"])
  KNOWN_NAMES.set(name.length, [...(KNOWN_NAMES.get(name.length) ?? []), name]);

/** The member name quoted at [start, end): a known name as its constant, others via JSON.parse. */
function memberName(text: string, start: number, end: number): string {
  const candidates = KNOWN_NAMES.get(end - start - 2);
  if (candidates) for (const name of candidates) if (text.startsWith(name, start + 1)) return name;
  return parseJson(text.slice(start, end)) as string;
}

function skipWs(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

function skipString(s: string, i: number): number {
  i++;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) i += 2;
    else if (c === 0x22) return i + 1;
    else i++;
  }
  throw invalid("unterminated string");
}
