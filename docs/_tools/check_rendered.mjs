// Open every page of a built HTML documentation from disk (file://) in headless
// Chromium, with the network cut off, and report what a reader offline would see
// wrong:
//
//   * raw LaTeX in the visible text: "\(", "\[" or "$$" outside code blocks
//     (math that MathJax was meant to typeset);
//   * a MathJax script (it is fetched from a CDN);
//   * a request for anything that is not on disk (http, https, ...), or a file
//     the page asks for that is missing;
//   * a JavaScript error on the page.
//
// Usage:
//   node docs/_tools/check_rendered.mjs BUILD_DIR [--modules DIR] [--chromium EXE]
//
// BUILD_DIR is the output of `sphinx-build -b html docs BUILD_DIR`. The script
// needs puppeteer-core: DIR is a folder whose node_modules holds it (default:
// the current directory), e.g. after
//   npm install --prefix DIR puppeteer-core @sparticuz/chromium
// EXE is a Chromium (or headless shell) binary; by default the one that
// @sparticuz/chromium unpacks, or $CHROMIUM. Exits 1 when a page has a
// problem, 2 on bad usage.

import { readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";

function parseArgs(argv) {
  const args = { build: null, modules: process.cwd(), chromium: process.env.CHROMIUM };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--modules") args.modules = argv[++i];
    else if (argv[i] === "--chromium") args.chromium = argv[++i];
    else if (!args.build) args.build = argv[i];
    else throw new Error(`unexpected argument ${argv[i]}`);
  }
  if (!args.build) throw new Error("usage: check_rendered.mjs BUILD_DIR [--modules DIR] [--chromium EXE]");
  return args;
}

async function load(modules, name) {
  const require = createRequire(join(resolve(modules), "package.json"));
  const mod = await import(pathToFileURL(require.resolve(name)).href);
  return mod.default ?? mod;
}

function htmlPages(dir) {
  const skip = new Set(["_static", "_images", "_downloads", "_sources"]);
  const pages = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (!skip.has(name)) pages.push(...htmlPages(path));
    } else if (name.endsWith(".html")) {
      pages.push(path);
    }
  }
  return pages;
}

// runs in the page: visible text outside code, and the MathJax scripts
function inspectPage() {
  const hidden = (el) => !el.checkVisibility({ visibilityProperty: true, opacityProperty: false });
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest("pre, code, script, style, noscript, kbd, samp")) continue;
    if (hidden(el)) continue;
    parts.push(node.textContent);
  }
  const scripts = [...document.querySelectorAll("script")]
    .filter((s) => /mathjax/i.test(s.src || "") || /mathjax/i.test(s.textContent || ""))
    .map((s) => s.src || "inline script");
  return { text: parts.join(" "), scripts, mathjaxLoaded: typeof window.MathJax !== "undefined" };
}

const LATEX = [
  ["\\(", /\\\(/],
  ["\\[", /\\\[/],
  ["$$", /\$\$/],
];

function excerpt(text, index) {
  return text.slice(Math.max(0, index - 30), index + 40).replace(/\s+/g, " ").trim();
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const build = resolve(args.build);
  const puppeteer = await load(args.modules, "puppeteer-core");
  let executablePath = args.chromium;
  if (!executablePath) {
    const chromium = await load(args.modules, "@sparticuz/chromium");
    executablePath = await chromium.executablePath();
  }
  const browser = await puppeteer.launch({
    executablePath,
    headless: "shell",
    pipe: true,
    protocolTimeout: 600_000,
    args: [
      "--no-sandbox",
      "--no-zygote",
      "--single-process",
      "--disable-gpu",
      "--disable-software-rasterizer",
      "--disable-dev-shm-usage",
    ],
  });
  const pages = htmlPages(build);
  const problems = [];
  try {
    const page = await browser.newPage();
    await page.setRequestInterception(true);
    let current = [];
    page.on("request", (request) => {
      const url = request.url();
      if (/^(file|data|blob|about):/.test(url)) request.continue();
      else {
        current.push(`network request (blocked): ${url}`);
        request.abort();
      }
    });
    page.on("requestfailed", (request) => {
      const url = request.url();
      if (url.startsWith("file:")) current.push(`missing file: ${relative(build, new URL(url).pathname)}`);
    });
    page.on("pageerror", (error) => current.push(`JavaScript error: ${error.message.split("\n")[0]}`));
    for (const path of pages) {
      current = [];
      await page.goto(pathToFileURL(path).href, { waitUntil: "load", timeout: 120_000 });
      const { text, scripts, mathjaxLoaded } = await page.evaluate(inspectPage);
      for (const [what, pattern] of LATEX) {
        const match = pattern.exec(text);
        if (match) current.push(`raw LaTeX ${what} in the text: "...${excerpt(text, match.index)}..."`);
      }
      for (const src of scripts) current.push(`MathJax script: ${src}`);
      if (mathjaxLoaded && !scripts.length) current.push("window.MathJax is defined");
      for (const problem of new Set(current)) problems.push(`${relative(build, path)}: ${problem}`);
    }
  } finally {
    await browser.close();
  }
  for (const line of problems) console.log(line);
  console.log(`${pages.length} pages checked, ${problems.length} problems`);
  process.exitCode = problems.length ? 1 : 0;
}

main().catch((error) => {
  console.error(error.message);
  process.exitCode = 2;
});
