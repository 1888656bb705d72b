import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// Measurements that print figures, not tests of behaviour: run by hand against what
// `scripts/run` serves (docs/benchmarks.md, "Page weight"), never by scripts/test.
export default defineConfig({ ...base, testDir: "./measure", timeout: 120_000 });
