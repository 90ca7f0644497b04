import { MemoryBus } from "../../src/eventbus/memory.js";
import { runEventBusContract } from "./eventbus.contract.js";

runEventBusContract("memory", async ({ maxMsgs }) => new MemoryBus({ maxPending: maxMsgs }));
