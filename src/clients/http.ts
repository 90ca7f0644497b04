/*
 * The one module that knows undici (test/unit/import-rules.test.ts, VENDORS): the http trigger's
 * connection pools and the Bitbucket and Gerrit API clients (which have no maintained Node client
 * of their own) get it from here. Importers that must not load it at start-up (the http trigger,
 * whose runtime `replay` loads to render) import this module dynamically.
 */

export type { Dispatcher } from "undici";
export { Agent, request } from "undici";
