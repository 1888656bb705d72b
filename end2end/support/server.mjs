// A Charter server of a test's own, so the test can kill and restart it.
import { spawn } from "node:child_process";

export class OwnServer {
  constructor(port, databaseUrl) {
    this.port = port;
    this.databaseUrl = databaseUrl;
    this.process = null;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    const bin = process.env.CHARTER_BIN;
    if (!bin) throw new Error("CHARTER_BIN is not set; scripts/test sets it");
    if (!this.databaseUrl) throw new Error("no database for the test's own server; scripts/test provides one");
    this.process = spawn(bin, ["serve"], {
      env: { ...process.env, DATABASE_URL: this.databaseUrl, LEPTOS_SITE_ADDR: `127.0.0.1:${this.port}` },
      stdio: "ignore",
    });
    for (let attempt = 0; attempt < 150; attempt++) {
      try {
        if ((await fetch(`${this.url}/healthz`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error("the server did not start");
  }

  /** Kills the server outright (SIGKILL): no graceful shutdown, no flushing. */
  async kill() {
    const running = this.process;
    if (!running) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGKILL");
    await exited;
    this.process = null;
  }
}
