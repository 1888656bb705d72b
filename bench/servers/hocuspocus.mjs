// Hocuspocus as the benchmark runs it: defaults, in memory, on PORT.
import { Server } from "@hocuspocus/server";

const server = new Server({ port: Number(process.env.PORT), address: "127.0.0.1", quiet: true, stopOnSignals: true });
await server.listen();
