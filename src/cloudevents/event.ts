import { randomUUID } from "node:crypto";
import { EventsError } from "../errors.js";

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
  const iso = date.toISOString(); // 2024-05-15T12:00:00.123Z
  const ms = iso.slice(20, 23).replace(/0+$/, "");
  return `${iso.slice(0, 19)}${ms ? `.${ms}` : ""}Z`;
}

export function isJsonContentType(ct: string | undefined): boolean {
  if (!ct) return true;
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
      // The scan parsed objects, arrays and scalars (not strings, whose escapes it only skips).
      checked = !raw.startsWith('"');
    }
  } else if (b64 !== undefined) {
    data = Buffer.from(b64, "base64").toString("utf8");
  }
  const extensions: Record<string, string> = {};
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
 * the values. Validates structure only as far as needed to skip values; the attribute values are
 * then parsed with JSON.parse, and `data` is kept as text.
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
    const key = parseJson(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    if (text[i] !== ":") throw invalid(`expected ':' at offset ${i}`);
    i = skipWs(text, i + 1);
    const valueEnd = skipValue(text, i);
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

function skipValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return skipString(s, i);
  if (c === "{" || c === "[") {
    const start = i;
    let depth = 0;
    while (i < s.length) {
      const ch = s[i];
      if (ch === '"') {
        i = skipString(s, i);
        continue;
      }
      if (ch === "{" || ch === "[") depth++;
      else if (ch === "}" || ch === "]") {
        depth--;
        if (depth === 0) {
          const end = i + 1;
          parseJson(s.slice(start, end)); // validate once; cheap compared to transport
          return end;
        }
      }
      i++;
    }
    throw invalid("unterminated object or array");
  }
  let j = i;
  while (j < s.length && !",}] \n\r\t".includes(s[j]!)) j++;
  if (j === i) throw invalid(`expected a value at offset ${i}`);
  parseJson(s.slice(i, j));
  return j;
}
