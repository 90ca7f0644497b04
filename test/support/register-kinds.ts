// Every test file sees the kinds registered, as the CLI does (src/app/kinds.ts).
import "../../src/app/kinds.js";
