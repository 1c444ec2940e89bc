import { DEMO_SCRIPT } from './demo-script.js';

/** The demo page's stylesheet, served inline under a CSP hash. */
export const DEMO_STYLE = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #667085; --bg: #f6f7f9; --card: #fff; --line: #e3e6eb; --accent: #3b5bdb; --ok: #2b8a3e; --warn: #e67700; --bad: #c92a2a; --flash: #fff3bf; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e8ee; --muted: #98a2b3; --bg: #14171c; --card: #1d2128; --line: #2e343e; --accent: #748ffc; --flash: #4a3f10; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 44rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1rem; margin-bottom: 1rem; }
h1 { font-size: 1.35rem; margin: 0; }
h1 code { color: var(--accent); }
.pill { display: inline-block; padding: .05rem .6rem; border-radius: 1rem; font-size: .8rem; font-weight: 600; color: #fff; background: var(--muted); }
.pill[data-state="live"] { background: var(--ok); }
.pill[data-state="connecting"], .pill[data-state="loading"], .pill[data-state="offline"] { background: var(--warn); }
.pill[data-state="error"] { background: var(--bad); }
.stats { color: var(--muted); font-size: .85rem; font-variant-numeric: tabular-nums; }
section { background: var(--card); border: 1px solid var(--line); border-radius: .6rem; padding: .75rem 1rem; margin-bottom: 1rem; }
#records { list-style: none; margin: 0; padding: 0; }
#records li { display: flex; justify-content: space-between; gap: 1rem; padding: .45rem .25rem; border-bottom: 1px solid var(--line); }
#records li:last-child { border-bottom: 0; }
#records .title { overflow-wrap: anywhere; }
#records .meta { color: var(--muted); font-size: .75rem; font-family: ui-monospace, monospace; white-space: nowrap; }
#records li.flash { animation: flash 1.2s ease-out; }
@keyframes flash { from { background: var(--flash); } to { background: transparent; } }
.muted { color: var(--muted); }
.error { color: var(--bad); margin: 0 0 1rem; }
form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: 0; }
input { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: .4rem; background: var(--bg); color: var(--fg); min-width: 0; flex: 1 1 10rem; }
button { font: inherit; padding: .35rem .9rem; border: 0; border-radius: .4rem; background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); }
h2 { font-size: .95rem; margin: 0 0 .5rem; }
footer { color: var(--muted); font-size: .8rem; }
`;

/**
 * A static page that keeps a live list of a collection's records
 * (`/demo/?collection=name`, default `demo`). Everything is inline and
 * nothing is fetched from elsewhere; the CSP of demo-routes.ts allows exactly
 * this script and this stylesheet.
 */
export const DEMO_PAGE = {
  script: DEMO_SCRIPT,
  style: DEMO_STYLE,
  html: `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Sigil live list</title>
<style>${DEMO_STYLE}</style>
</head>
<body>
<main>
  <header>
    <h1>Live list of <code id="collection-name"></code></h1>
    <span id="status" class="pill" data-state="loading">loading…</span>
    <span class="stats"><span id="count">0</span> records · seq <span id="seq">0</span></span>
  </header>
  <p id="error" class="error" role="alert" hidden></p>
  <section aria-label="records">
    <ul id="records"></ul>
    <p id="empty" class="muted">No records yet.</p>
    <p id="note" class="muted" hidden>Showing the first 200 records, plus every change since.</p>
  </section>
  <section aria-label="add a record">
    <h2>Add a record</h2>
    <form id="add-form" autocomplete="off">
      <input id="add-title" name="title" placeholder="title" maxlength="500" required>
      <button type="submit">Add</button>
    </form>
    <p id="add-result" class="muted" role="status"></p>
  </section>
  <section aria-label="account">
    <form id="signin-form">
      <input id="username" name="username" placeholder="username" autocomplete="username" required>
      <input id="password" name="password" type="password" placeholder="password" autocomplete="current-password" required>
      <button type="submit">Sign in</button>
    </form>
    <p id="signed-in" hidden>Signed in as <strong id="who"></strong> <button id="signout" type="button" class="secondary">Sign out</button></p>
    <p class="muted">Without signing in you see <code>public</code> collections only.</p>
  </section>
  <footer>Loaded over HTTP with its <code>seq</code>, then kept current over the realtime WebSocket with <code>since</code>. See docs/realtime.md.</footer>
</main>
<script>${DEMO_SCRIPT}</script>
</body>
</html>
`,
} as const;
