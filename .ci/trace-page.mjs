// Loads pages in headless Chromium (unthrottled, like Lighthouse's simulated runs) with a
// performance trace and prints the renderer's main-thread tasks that Lighthouse, with its 4×
// CPU slowdown, would count as long (over 12.5 ms here), each with what filled it: script
// (wasm and JS calls), wasm functions compiled on first call (V8 compiles wasm lazily, on the
// thread that first calls a function), style and layout, HTML parsing.
// Usage (from .ci/trace-page): node trace-page.mjs BASE COOKIE RUNS PATH...
import { createRequire } from 'node:module';

// puppeteer-core as lighthouse installed it (.ci/trace-page passes where).
const puppeteer = createRequire(`${process.env.HERALD_LIGHTHOUSE_DIR}/`)('puppeteer-core');

const [base, cookie, runs, ...paths] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium', headless: 'new', args: ['--no-sandbox', '--disable-gpu'],
});
const sum = (events, test) => events.filter(test).reduce((t, e) => t + (e.dur || 0) / 1000, 0);
try {
  for (const path of paths) {
    for (let run = 1; run <= Number(runs); run++) {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      await page.setViewport({ width: 412, height: 823 });
      if (cookie !== '-' && !path.startsWith('/sign-in')) {
        const [name, value] = cookie.split('=');
        await page.setCookie({ name, value, domain: new URL(base).hostname, path: '/' });
      }
      const errors = [];
      page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
      await page.tracing.start({
        categories: ['devtools.timeline', 'v8', 'v8.wasm', 'disabled-by-default-v8.wasm.detailed',
          'disabled-by-default-devtools.timeline'],
      });
      await page.goto(base + path, { waitUntil: 'load' });
      // Hydration waits for the first paint and then for the page's chunks.
      await page.waitForFunction(() => document.body.hasAttribute('data-hydrated'), { timeout: 20000, polling: 100 })
        .catch(() => errors.push('not hydrated after 20 s'));
      await new Promise(r => setTimeout(r, 1500));
      const events = JSON.parse(Buffer.from(await page.tracing.stop()).toString('utf8')).traceEvents;
      await context.close();
      // The page's main thread: the renderer thread that ran the bundle's script.
      const calls = {};
      for (const e of events) {
        if (e.name === 'FunctionCall' && JSON.stringify(e.args || {}).includes('/pkg/')) {
          calls[`${e.pid}:${e.tid}`] = (calls[`${e.pid}:${e.tid}`] || 0) + 1;
        }
      }
      const main = Object.entries(calls).sort((a, b) => b[1] - a[1])[0]?.[0];
      const onMain = events.filter(e => `${e.pid}:${e.tid}` === main && e.ph === 'X');
      const start = Math.min(...onMain.map(e => e.ts));
      let blocking = 0, lazy = 0, script = 0;
      const lines = [];
      for (const task of onMain.filter(e => e.name === 'RunTask' && e.dur / 1000 > 12.5)) {
        const inside = onMain.filter(e => e !== task && e.ts >= task.ts && e.ts + (e.dur || 0) <= task.ts + task.dur);
        const ms = task.dur / 1000;
        const parts = {
          script: sum(inside, e => e.name === 'FunctionCall' || e.name === 'EvaluateScript'),
          'wasm compiled on first call': sum(inside, e => e.name === 'wasm.CompileLazy'),
          'style+layout': sum(inside, e => e.name === 'Layout' || e.name === 'UpdateLayoutTree'),
          'HTML parsing': sum(inside, e => e.name === 'ParseHTML'),
        };
        blocking += ms * 4 - 50;
        lazy += parts['wasm compiled on first call'];
        script += parts.script;
        lines.push(`    task at ${((task.ts - start) / 1000).toFixed(0)} ms of the trace: ${ms.toFixed(1)} ms (×4 = ${(ms * 4).toFixed(0)}) — ` +
          Object.entries(parts).filter(([, v]) => v >= 0.5).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', '));
      }
      console.log(`${path} (load ${run}): ${lines.length} long tasks at 4×, blocking ~${blocking.toFixed(0)} ms at 4×`);
      console.log(lines.join('\n'));
      for (const e of errors) console.log(`    console error: ${e}`);
      console.log(`trace page=${path} run=${run} long_tasks=${lines.length} blocking_at_4x_ms=${blocking.toFixed(0)} ` +
        `script_ms=${script.toFixed(1)} wasm_compile_lazy_ms=${lazy.toFixed(1)} console_errors=${errors.length}`);
    }
  }
} finally {
  await browser.close();
}
