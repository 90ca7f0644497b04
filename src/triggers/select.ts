export { selectKind } from "../config/kinds.js";
