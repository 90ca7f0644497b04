/** 32-bit FNV-1a over the UTF-8 bytes, as Go's hash/fnv New32a (Argo's durable and subscription names). */
export function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
